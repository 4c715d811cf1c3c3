import { headerString } from '@cio-bridge/kafka';
import type { EntrySummary } from './dlq-entry';
import { REPLAYED_FROM_HEADER } from './dlq-entry';
import type { TopicReader } from './kafka/topic-reader';
import { describeOperation } from './operation';
import type { HandledState } from './state';

/** The newer identify that makes replaying an older one wrong. */
export interface NewerIdentify {
  /** `topic partition:offset` of the newer identify, or the dead-letter message it was replayed from */
  where: string;
  operationId?: string;
}

const originalOf = (topic: string, partition: number, offset: string) => `${topic}:${partition}:${offset}`;

/**
 * The identifies among `candidates` that must not be replayed: for the same person
 * (message key) a newer identify was delivered or replayed since, and replaying
 * the older one would overwrite its attributes.
 *
 * A later identify counts when it is in the original topic after the candidate's
 * original offset (the same key always lands in the same partition), is not a
 * different copy of the same operation, and did not fail itself (`undelivered`:
 * original positions of dead-letter messages that are pending or were purged),
 * or when cio-dlq replayed one (its marks, which also cover `--to` replays). It is
 * newer when its `timestamp` is later, or, when either operation has none, by
 * coming later.
 */
export async function findStaleIdentifies(
  reader: TopicReader,
  candidates: EntrySummary[],
  state: HandledState,
  undelivered: Set<string>,
): Promise<Map<string, NewerIdentify>> {
  const stale = new Map<string, NewerIdentify>();
  const newer = (later: number | undefined, earlier: number | undefined) =>
    later === undefined || earlier === undefined || later > earlier;

  // 1. Identifies cio-dlq replayed before.
  for (const entry of candidates) {
    if (entry.key === null) continue;
    for (const mark of state.replayedIdentifies.get(entry.key) ?? []) {
      if (mark.operationId !== undefined && mark.operationId === entry.operation.id) continue;
      const sameTime = mark.operationTime !== undefined && entry.operation.time !== undefined;
      const isNewer = sameTime
        ? mark.operationTime! > entry.operation.time!
        : Date.parse(mark.at) > (entry.failure.originalTimestamp ?? entry.time);
      if (isNewer) {
        stale.set(entry.coordinate, {
          where: `replay of ${mark.dlqTopic} ${mark.partition}:${mark.offset}`,
          operationId: mark.operationId,
        });
        break;
      }
    }
  }

  // 2. Identifies in the original topic after the candidate's position.
  const groups = new Map<string, { topic: string; partition: number; entries: EntrySummary[] }>();
  for (const entry of candidates) {
    const { originalTopic: topic, originalPartition: partition, originalOffset } = entry.failure;
    if (stale.has(entry.coordinate) || entry.key === null) continue;
    if (topic === undefined || partition === undefined || originalOffset === undefined) continue;
    const id = `${topic}\u0000${partition}`;
    const group = groups.get(id) ?? { topic, partition, entries: [] };
    group.entries.push(entry);
    groups.set(id, group);
  }
  for (const { topic, partition, entries } of groups.values()) {
    if (!(await reader.exists(topic))) continue;
    const keys = new Set(entries.map((e) => e.key!));
    const from = entries.reduce(
      (min, e) => (BigInt(e.failure.originalOffset!) < min ? BigInt(e.failure.originalOffset!) : min),
      BigInt(entries[0]!.failure.originalOffset!),
    );
    // Later identifies per key, in offset order.
    const later = new Map<string, Array<{ offset: bigint; id?: string; time?: number; where: string }>>();
    for await (const message of reader.read(topic, {
      partitions: [partition],
      from: new Map([[partition, (from + 1n).toString()]]),
    })) {
      if (message.key === null) continue;
      const key = message.key.toString('utf8');
      if (!keys.has(key)) continue;
      if (undelivered.has(originalOf(topic, partition, message.offset))) continue;
      const op = describeOperation(message.value);
      if (op.action !== 'identify') continue;
      const list = later.get(key) ?? [];
      const replayedFrom = headerString(message.headers, REPLAYED_FROM_HEADER);
      list.push({
        offset: BigInt(message.offset),
        id: op.id,
        time: op.time,
        where: `${topic} ${partition}:${message.offset}${replayedFrom ? ` (replayed from ${replayedFrom})` : ''}`,
      });
      later.set(key, list);
    }
    for (const entry of entries) {
      const position = BigInt(entry.failure.originalOffset!);
      const hit = (later.get(entry.key!) ?? []).find(
        (l) =>
          l.offset > position &&
          (l.id === undefined || l.id !== entry.operation.id) &&
          newer(l.time, entry.operation.time),
      );
      if (hit) stale.set(entry.coordinate, { where: hit.where, operationId: hit.id });
    }
  }
  return stale;
}

export const undeliveredKey = (entry: EntrySummary): string | undefined =>
  entry.failure.originalTopic !== undefined &&
  entry.failure.originalPartition !== undefined &&
  entry.failure.originalOffset !== undefined
    ? originalOf(entry.failure.originalTopic, entry.failure.originalPartition, entry.failure.originalOffset)
    : undefined;
