import { DLQ_HEADERS, REPLAYED_FROM_HEADER } from '@cio-bridge/contracts';
import { headerString } from '@cio-bridge/kafka';
import { type DlqEntry, readEntry } from '../dlq-entry';
import { type Filter, matches } from '../filter';
import type { RawMessage, TopicSource } from '../kafka/topic-source';
import { snapshotOf } from '../kafka/topic-source';
import { describeOperation } from '../operation';
import type { HandledState } from '../state';
import { toMillis } from '../time';
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

const header = (raw: RawMessage, name: string) => headerString(raw.headers, name);

const offsetOf = (value: string | undefined) =>
  value !== undefined && /^\d+$/.test(value.trim()) ? Number(value) : undefined;

/** The position a dead letter's operation entered the pipeline at (see Position). */
function originalPosition(raw: RawMessage, positions: PositionTable): Position {
  const copied = positions.resolve(header(raw, REPLAYED_FROM_HEADER));
  if (copied) return copied;
  const topic = header(raw, DLQ_HEADERS.originalTopic) || undefined;
  const partition = offsetOf(header(raw, DLQ_HEADERS.originalPartition));
  const offset = offsetOf(header(raw, DLQ_HEADERS.originalOffset));
  const recordTime = toMillis(header(raw, DLQ_HEADERS.originalTimestamp)) ?? Number(raw.timestamp);
  if (topic === undefined || partition === undefined || offset === undefined)
    return { topic: UNKNOWN_TOPIC, partition: 0, offset: 0, recordTime };
  return { topic: positions.topicIndex(topic), partition, offset, recordTime };
}

// Identifies, deletes and suppresses all carry an `action`; a value without the
// word is none of them and, without a filter, need not be parsed.
const ACTION = Buffer.from('"action"');
const mayBeGuarded = (value: Buffer | null) => value?.includes(ACTION) === true;

const hasCriteria = (filter: Filter) =>
  Object.entries(filter).some(([name, value]) => name !== 'limit' && value !== undefined);

/** A dead letter's original position, its copy's original's when it is the dead letter of a replayed copy. */
export const positionOf = (raw: RawMessage, guards: Guards): Position =>
  originalPosition(raw, guards.positions);

/** What a guard compares of a dead letter. */
export function candidateOf(entry: DlqEntry, guards: Guards): Candidate {
  return {
    key: entry.key,
    action: entry.operation.action,
    operationId: entry.operation.id,
    opTime: entry.operation.time,
    position: originalPosition(entry.raw, guards.positions),
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

  const lean = !hasCriteria(filter);
  for await (const run of source.readRuns(dlqTopic, { to: guards.snapshot })) {
    for (const raw of run) {
      // Without a filter only identifies, deletes and suppresses need their value parsed.
      const entry = lean ? undefined : readEntry(raw);
      const op = entry?.operation ?? (mayBeGuarded(raw.value) ? describeOperation(raw.value) : undefined);
      const key = raw.key === null ? null : raw.key.toString('utf8');
      const position = originalPosition(raw, positions);
      const handled = state.get(raw.partition, raw.offset);
      // Only replayed dead letters have copies that name them.
      if (handled?.status === 'replayed') positions.keep(raw.partition, raw.offset, position);
      const kind = op && guardedKind(op.action);
      if (op && kind && key !== null) {
        const replayed = handled?.status === 'replayed';
        history.add(key, {
          kind,
          action: op.action,
          position,
          opTime: op.time ?? Number.NaN,
          operationId: op.id,
          delivered: replayed,
          replayedAt: replayed ? Date.parse(handled.last.at) : Number.NaN,
          where: { partition: raw.partition, offset: raw.offset, replayed },
        });
      }
      if (handled || (entry && !matches(filter, entry))) continue;
      guards.pending++;
      const originalTopic = header(raw, DLQ_HEADERS.originalTopic);
      if (originalTopic) guards.originalTopics.add(originalTopic);
      if (key === null || position.topic === UNKNOWN_TOPIC) continue;
      keys.add(key);
      const id = `${position.topic}:${position.partition}`;
      const seen = earliest.get(id);
      if (!seen || position.offset < seen.offset) earliest.set(id, position);
    }
  }

  for (const mark of state.marks()) {
    if (positions.inSnapshot(mark.partition, mark.offset) || !mark.key || !mark.action) continue;
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
  const copied = guards.positions.resolve(replayedFrom);
  // A copy of a dead letter retention removed: its mark (read above) stands for it.
  if (!copied && replayedFrom?.startsWith(`${guards.positions.dlqTopic}:`)) return;
  const position = copied ?? {
    topic: topicIndex,
    partition: m.partition,
    offset: Number(m.offset),
    recordTime: Number(m.timestamp),
  };
  // The original of a dead letter, or a replayed copy of one: the dead letter's fact covers it.
  if (guards.history.has(key, position)) return;
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
