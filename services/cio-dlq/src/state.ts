import type { OutgoingMessage, TopicSpec } from '@cio-bridge/kafka';
import type { TopicSource } from './kafka/topic-source';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Where cio-dlq keeps what it did. The dead-letter topic itself is never changed
 * (Kafka cannot change a message); instead every handled message gets a mark in
 * the state topic (marks of one run travel together, up to 1,000 to a record), and
 * every replay or purge run one record in the audit topic.
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
  /** identifies, deletes and suppresses, for the guards once retention removed the dead letter: */
  /** the operation's own `timestamp`, ms */
  operationTime?: number;
  /** the original position, `topic:partition:offset` (a copy's: its original's) */
  original?: string;
  /** the original record's timestamp, ms */
  originalTime?: number;
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
  /** the last mark of every handled message */
  marks(): Iterable<HandledMark>;
}

/** State from marks read in order. */
export function handledState(): HandledState & { add(mark: HandledMark): void } {
  const byCoordinate = new Map<string, Handled>();
  return {
    byCoordinate,
    *marks() {
      for (const handled of byCoordinate.values()) yield handled.last;
    },
    add(mark) {
      const coordinate = `${mark.partition}:${mark.offset}`;
      const previous = byCoordinate.get(coordinate);
      byCoordinate.set(coordinate, {
        status: mark.status,
        replays: (previous?.replays ?? 0) + (mark.status === 'replayed' ? 1 : 0),
        last: mark,
      });
    },
  };
}

/** One state record: the marks of up to 1,000 messages handled together. */
export interface MarkRecord {
  status: HandledStatus;
  dlqTopic: string;
  run: string;
  by: string;
  at: string;
  messages: Array<Omit<HandledMark, 'status' | 'dlqTopic' | 'run' | 'by' | 'at'>>;
}

const MARKS_PER_RECORD = 1_000;

/** State records for marks (of one run), grouped by what they share. */
export function markRecords(marks: HandledMark[]): OutgoingMessage[] {
  const groups = new Map<string, MarkRecord>();
  const out: OutgoingMessage[] = [];
  const emit = (record: MarkRecord) => {
    const first = record.messages[0]!;
    out.push({
      key: `${record.dlqTopic}:${record.run}:${first.partition}:${first.offset}`,
      value: JSON.stringify(record),
    });
  };
  for (const { status, dlqTopic, run, by, at, ...message } of marks) {
    const id = JSON.stringify([status, dlqTopic, run, by, at]);
    let record = groups.get(id);
    if (!record) {
      record = { status, dlqTopic, run, by, at, messages: [] };
      groups.set(id, record);
    }
    record.messages.push(message);
    if (record.messages.length >= MARKS_PER_RECORD) {
      emit(record);
      groups.delete(id);
    }
  }
  for (const record of groups.values()) emit(record);
  return out;
}

/** Reads every mark for `dlqTopic` (none when the state topic does not exist yet). */
export async function readHandledState(
  reader: TopicSource,
  stateTopic: string,
  dlqTopic: string,
): Promise<HandledState> {
  const state = handledState();
  if (!(await reader.exists(stateTopic))) return state;
  for await (const message of reader.read(stateTopic)) {
    if (!message.value) continue;
    let record: MarkRecord;
    try {
      record = JSON.parse(message.value.toString('utf8')) as MarkRecord;
    } catch {
      continue;
    }
    if (record.dlqTopic !== dlqTopic || (record.status !== 'replayed' && record.status !== 'purged'))
      continue;
    if (!Array.isArray(record.messages)) continue;
    const { status, run, by, at } = record;
    for (const message of record.messages) {
      state.add({ status, dlqTopic, run, by, at, ...message });
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
