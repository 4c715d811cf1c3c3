import type { OutgoingMessage, TopicSpec } from '@cio-bridge/kafka';
import type { TopicReader } from './kafka/topic-reader';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Where cio-dlq keeps what it did. The dead-letter topic itself is never changed
 * (Kafka cannot change a message); instead every handled message gets a mark in
 * the state topic, keyed `<dlq topic>:<partition>:<offset>`, and every replay or
 * purge run one record in the audit topic.
 */
export interface StateTopics {
  state: string;
  audit: string;
}

export const stateTopicsFor = (dlqTopic: string): StateTopics => ({
  state: `${dlqTopic}.handled`,
  audit: `${dlqTopic}.audit`,
});

/** Marks live longer than the dead-letter messages they describe (30 days); audit records a year. */
export const stateTopicSpecs = (topics: StateTopics): TopicSpec[] => [
  { name: topics.state, partitions: 1, retentionMs: 90 * DAY_MS },
  { name: topics.audit, partitions: 1, retentionMs: 365 * DAY_MS },
];

export type HandledStatus = 'replayed' | 'purged';

/** One mark: a dead-letter message was replayed or purged. */
export interface HandledMark {
  status: HandledStatus;
  dlqTopic: string;
  partition: number;
  offset: string;
  /** the run (one replay or purge command) that handled it */
  run: string;
  by: string;
  at: string;
  operationId?: string;
  key?: string | null;
  action?: string;
  /** the operation's time (its `timestamp`, else its original record's), ms; for the stale-identify guard */
  operationTime?: number;
  /** replays: where it went and its x-replay-count */
  to?: string;
  replayCount?: number;
}

/** An entry's state, from its marks. */
export interface Handled {
  status: HandledStatus;
  /** how often this dead-letter message itself was replayed */
  replays: number;
  last: HandledMark;
}

export interface HandledState {
  byCoordinate: Map<string, Handled>;
  /** replayed identifies by message key, for the stale-identify guard */
  replayedIdentifies: Map<string, HandledMark[]>;
}

export const markKey = (dlqTopic: string, partition: number, offset: string) =>
  `${dlqTopic}:${partition}:${offset}`;

export function markMessage(mark: HandledMark): OutgoingMessage {
  return { key: markKey(mark.dlqTopic, mark.partition, mark.offset), value: JSON.stringify(mark) };
}

/** Reads every mark for `dlqTopic` (none when the state topic does not exist yet). */
export async function readHandledState(
  reader: TopicReader,
  stateTopic: string,
  dlqTopic: string,
): Promise<HandledState> {
  const state: HandledState = { byCoordinate: new Map(), replayedIdentifies: new Map() };
  if (!(await reader.exists(stateTopic))) return state;
  for await (const message of reader.read(stateTopic)) {
    if (!message.value) continue;
    let mark: HandledMark;
    try {
      mark = JSON.parse(message.value.toString('utf8')) as HandledMark;
    } catch {
      continue;
    }
    if (mark.dlqTopic !== dlqTopic || (mark.status !== 'replayed' && mark.status !== 'purged')) continue;
    const coordinate = `${mark.partition}:${mark.offset}`;
    const previous = state.byCoordinate.get(coordinate);
    state.byCoordinate.set(coordinate, {
      status: mark.status,
      replays: (previous?.replays ?? 0) + (mark.status === 'replayed' ? 1 : 0),
      last: mark,
    });
    if (mark.status === 'replayed' && mark.action === 'identify' && mark.key) {
      const marks = state.replayedIdentifies.get(mark.key) ?? [];
      marks.push(mark);
      state.replayedIdentifies.set(mark.key, marks);
    }
  }
  return state;
}

/** One audit record per replay or purge run. */
export interface AuditRecord {
  type: 'replay' | 'purge';
  run: string;
  /** the operator: CIO_DLQ_OPERATOR, else the login name, with the host */
  who: string;
  when: string;
  dlqTopic: string;
  filter: Record<string, unknown>;
  /** messages replayed or purged */
  count: number;
  /** messages matched but left alone, by reason */
  skipped: Record<string, number>;
  to?: string;
  reason?: string;
  options?: Record<string, unknown>;
}

export const auditMessage = (record: AuditRecord): OutgoingMessage => ({
  key: record.run,
  value: JSON.stringify(record),
});
