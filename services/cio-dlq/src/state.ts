import type { OutgoingMessage, TopicSpec } from '@cio-bridge/kafka';
import type { PartitionRange, TopicSource } from './kafka/topic-source';
import { OffsetTable } from './offset-table';

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
  /** what the last mark says of who, when and where (its own fields only for marks kept whole) */
  last: HandledMark;
}

export interface HandledState {
  /** The state of the dead letter at `partition`:`offset`, from its marks. */
  get(partition: number, offset: string): Handled | undefined;
  /**
   * The last mark, whole, of each handled message outside the dead-letter topic's
   * range when the marks were read: retention removed it, and for an identify, delete
   * or suppress its mark is all the guards have left.
   */
  marks(): Iterable<HandledMark>;
}

/** What the marks of one state record share. */
type RunInfo = Pick<HandledMark, 'status' | 'dlqTopic' | 'run' | 'by' | 'at'>;

/**
 * State from marks read in order. The marks of dead letters in `ranges` (the
 * topic's messages) are kept as a few numbers each (a million marks is a million
 * dead letters replayed); the others whole.
 */
export function handledState(
  ranges: PartitionRange[] = [],
): HandledState & { add(mark: HandledMark): void; addRecord(record: MarkRecord): void } {
  const bounds = new Map(ranges.map((r) => [r.partition, { low: Number(r.low), high: Number(r.high) }]));
  const inRange = (partition: number, offset: number) => {
    const range = bounds.get(partition);
    return range !== undefined && offset >= range.low && offset < range.high;
  };
  // columns: the run's index + 1, the target's index + 1 (0: none), replays
  const compact = new OffsetTable([Uint32Array, Uint16Array, Uint8Array]);
  const runs: RunInfo[] = [];
  const targets: string[] = [];
  const targetIndexes = new Map<string, number>();
  const whole = new Map<string, Handled>();

  const targetOf = (to: string | undefined) => {
    if (to === undefined) return 0;
    let index = targetIndexes.get(to);
    if (index === undefined && targets.length < 0xfffe) {
      index = targets.push(to) - 1;
      targetIndexes.set(to, index);
    }
    return index === undefined ? undefined : index + 1;
  };

  const state = {
    get(partition: number, offset: string): Handled | undefined {
      const number = Number(offset);
      if (!inRange(partition, number)) return whole.get(`${partition}:${offset}`);
      const row = compact.get(partition, number);
      if (!row) return undefined;
      const [run, target, replays] = row as [number, number, number];
      const info = runs[run - 1]!;
      const to = target === 0 ? undefined : targets[target - 1];
      return { status: info.status, replays, last: { ...info, partition, offset, ...(to && { to }) } };
    },
    marks(): Iterable<HandledMark> {
      return [...whole.values()].map((handled) => handled.last);
    },
    addRecord(record: MarkRecord) {
      const { status, dlqTopic, run, by, at } = record;
      const info: RunInfo = { status, dlqTopic, run, by, at };
      const runIndex = runs.push(info);
      const counts = status === 'replayed' ? 1 : 0;
      for (const message of record.messages) {
        const offset = Number(message.offset);
        const target = targetOf(message.to);
        if (!inRange(message.partition, offset) || target === undefined) {
          const coordinate = `${message.partition}:${message.offset}`;
          const replays = (whole.get(coordinate)?.replays ?? 0) + counts;
          whole.set(coordinate, { status, replays, last: { ...info, ...message } });
          continue;
        }
        const replays = (compact.get(message.partition, offset)?.[2] ?? 0) + counts;
        compact.set(message.partition, offset, [runIndex, target, Math.min(replays, 255)]);
      }
    },
    add(mark: HandledMark) {
      const { status, dlqTopic, run, by, at, ...message } = mark;
      state.addRecord({ status, dlqTopic, run, by, at, messages: [message] });
    },
  };
  return state;
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
  const state = handledState(await reader.ranges(dlqTopic));
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
    state.addRecord(record);
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
