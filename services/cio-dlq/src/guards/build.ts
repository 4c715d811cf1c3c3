import { REPLAYED_FROM_HEADER } from '@cio-bridge/contracts';
import { headerString } from '@cio-bridge/kafka';
import { type DlqEntry, readEntry } from '../dlq-entry';
import { type Filter, matches } from '../filter';
import type { RawMessage, TopicSource } from '../kafka/topic-source';
import { snapshotOf } from '../kafka/topic-source';
import { describeOperation } from '../operation';
import type { HandledState } from '../state';
import { type Candidate, guardedKind, PersonHistory } from './history';
import { type Position, PositionTable, UNKNOWN_TOPIC } from './positions';

/** The guards' view of one snapshot of a dead-letter topic. */
export interface Guards {
  history: PersonHistory;
  positions: PositionTable;
  /** the end offsets every later read of the dead-letter topic stops at (the same messages) */
  snapshot: Map<number, string>;
  /** the original topics of the pending messages the filter matches */
  originalTopics: Set<string>;
  /** the pending messages the filter matches (without --limit) */
  pending: number;
}

/** The position a dead letter's operation entered the pipeline at (see Position). */
function originalPosition(entry: DlqEntry, positions: PositionTable): Position {
  const copied = positions.resolve(entry.replayedFrom);
  if (copied) return copied;
  const f = entry.failure;
  const recordTime = f.originalTimestamp ?? entry.time;
  if (f.originalTopic === undefined || f.originalPartition === undefined || f.originalOffset === undefined)
    return { topic: UNKNOWN_TOPIC, partition: 0, offset: 0, recordTime };
  return {
    topic: positions.topicIndex(f.originalTopic),
    partition: f.originalPartition,
    offset: Number(f.originalOffset),
    recordTime,
  };
}

/** What a guard compares of a dead letter. */
export function candidateOf(entry: DlqEntry, guards: Guards): Candidate {
  return {
    key: entry.key,
    action: entry.operation.action,
    operationId: entry.operation.id,
    opTime: entry.operation.time,
    position: guards.positions.get(entry.partition, entry.offset),
    deadLetteredAt: entry.time,
  };
}

const parsePosition = (positions: PositionTable, text: string | undefined, recordTime: number) => {
  const match = text === undefined ? null : /^(.+):(\d+):(\d+)$/.exec(text);
  if (!match) return undefined;
  return {
    topic: positions.topicIndex(match[1]!),
    partition: Number(match[2]),
    offset: Number(match[3]),
    recordTime,
  };
};

/**
 * Reads the dead-letter topic once, keeping only the guards' facts: every dead
 * letter's original position (a flat table), and per person the identifies,
 * deletes and suppresses; then reads each original partition from the earliest
 * pending match onward for the ones delivered since. Marks of dead letters that
 * retention removed add what they recorded.
 */
export async function buildGuards(
  source: TopicSource,
  dlqTopic: string,
  state: HandledState,
  filter: Filter,
): Promise<Guards> {
  const ranges = await source.ranges(dlqTopic);
  const positions = new PositionTable(dlqTopic, ranges);
  const history = new PersonHistory(positions);
  const guards: Guards = {
    history,
    positions,
    snapshot: snapshotOf(ranges),
    originalTopics: new Set(),
    pending: 0,
  };
  const keys = new Set<string>();
  // per original topic and partition, the earliest position of a pending match
  const earliest = new Map<string, { topic: number; partition: number; offset: number }>();
  const unfiltered = { ...filter, limit: undefined };

  for await (const run of source.readRuns(dlqTopic, { to: guards.snapshot })) {
    for (const raw of run) {
      const entry = readEntry(raw);
      const position = originalPosition(entry, positions);
      positions.set(raw.partition, raw.offset, position);
      const handled = state.byCoordinate.get(entry.coordinate);
      const kind = guardedKind(entry.operation.action);
      if (kind && entry.key !== null) {
        const replayed = handled?.status === 'replayed';
        history.add(entry.key, {
          kind,
          action: entry.operation.action,
          position,
          opTime: entry.operation.time ?? Number.NaN,
          operationId: entry.operation.id,
          delivered: replayed,
          replayedAt: replayed ? Date.parse(handled.last.at) : Number.NaN,
          where: `${dlqTopic} ${entry.coordinate} (dead letter${replayed ? ', replayed' : ''})`,
        });
      }
      if (handled || !matches(unfiltered, entry)) continue;
      guards.pending++;
      if (entry.failure.originalTopic !== undefined) guards.originalTopics.add(entry.failure.originalTopic);
      if (entry.key === null || position.topic === UNKNOWN_TOPIC) continue;
      keys.add(entry.key);
      const id = `${position.topic}:${position.partition}`;
      const seen = earliest.get(id);
      if (!seen || position.offset < seen.offset) earliest.set(id, position);
    }
  }

  for (const mark of state.marks()) {
    if (positions.get(mark.partition, mark.offset) || !mark.key || !mark.action) continue;
    const kind = guardedKind(mark.action);
    const position = parsePosition(positions, mark.original, mark.originalTime ?? Number.NaN);
    if (!kind || !position) continue;
    history.add(mark.key, {
      kind,
      action: mark.action,
      position,
      opTime: mark.operationTime ?? Number.NaN,
      operationId: mark.operationId,
      delivered: mark.status === 'replayed',
      replayedAt: mark.status === 'replayed' ? Date.parse(mark.at) : Number.NaN,
      where: `${dlqTopic} ${mark.partition}:${mark.offset} (dead letter, ${mark.status})`,
    });
  }

  for (const start of earliest.values()) {
    const topic = positions.topicName(start.topic)!;
    if (!(await source.exists(topic))) continue;
    const from = new Map([[start.partition, String(start.offset + 1)]]);
    for await (const run of source.readRuns(topic, { partitions: [start.partition], from })) {
      for (const message of run) recordDelivered(guards, keys, topic, start.topic, message);
    }
  }
  return guards;
}

/** An identify, delete or suppress of a pending match's person, delivered from the original topic. */
function recordDelivered(
  guards: Guards,
  keys: Set<string>,
  topic: string,
  topicIndex: number,
  m: RawMessage,
) {
  if (m.key === null) return;
  const key = m.key.toString('utf8');
  if (!keys.has(key)) return;
  const op = describeOperation(m.value);
  const kind = guardedKind(op.action);
  if (!kind) return;
  const replayedFrom = headerString(m.headers, REPLAYED_FROM_HEADER);
  const position = guards.positions.resolve(replayedFrom) ?? {
    topic: topicIndex,
    partition: m.partition,
    offset: Number(m.offset),
    recordTime: Number(m.timestamp),
  };
  // The original of a dead letter, or a replayed copy of one: the dead letter's fact covers it.
  if (guards.history.has(position)) return;
  guards.history.add(key, {
    kind,
    action: op.action,
    position,
    opTime: op.time ?? Number.NaN,
    operationId: op.id,
    delivered: true,
    replayedAt: Number.NaN,
    where: `${topic} ${m.partition}:${m.offset}${replayedFrom ? ` (replayed from ${replayedFrom})` : ''}`,
  });
}
