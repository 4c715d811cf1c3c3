import type { OutgoingMessage } from '@cio-bridge/kafka';
import type { IHeaders } from 'kafkajs';
import {
  DLQ_HEADER_PREFIX,
  type DlqEntry,
  REPLAY_COUNT_HEADER,
  REPLAYED_FROM_HEADER,
  REPLY_TO_HEADER,
  readEntry,
} from '../dlq-entry';
import { type Filter, matches } from '../filter';
import { candidateOf, type Guards } from '../guards/build';
import type { GuardVerdict } from '../guards/history';
import type { RawMessage, TopicSource } from '../kafka/topic-source';
import type { HandledState } from '../state';

export type GuardReason = GuardVerdict['reason'];
export type SkipReason = GuardReason | 'max-replays' | 'no-target' | 'no-value' | 'no-key';

export interface PlanOptions {
  filter: Filter;
  /** publish here instead of each message's original topic */
  to?: string;
  /** refuse to replay an operation more often than this */
  maxReplays: number;
  /** replay what the erasure and stale-identify guards would skip */
  force?: boolean;
}

/** One matching pending message and what replay does with it. */
export interface PlanItem {
  entry: DlqEntry;
  target?: string;
  /** x-replay-count of the replayed message */
  replayCount: number;
  skip?: SkipReason;
  detail?: string;
  /** the guard --force overrode */
  forced?: GuardVerdict;
}

/** The counts of a plan so far (complete once its runs are consumed). */
export interface PlanTally {
  /** matching pending messages (replayed or skipped) */
  items: number;
  toReplay: number;
  /** messages the filter matched but that were handled already */
  handled: number;
  skipped: Record<string, number>;
  /** guard verdicts --force overrode, by reason */
  forced: Record<string, number>;
  targets: Set<string>;
}

export const emptyTally = (): PlanTally => ({
  items: 0,
  toReplay: 0,
  handled: 0,
  skipped: {},
  forced: {},
  targets: new Set(),
});

const bump = (counts: Record<string, number>, key: string) => {
  counts[key] = (counts[key] ?? 0) + 1;
};

/** What replay does with one pending message that passed the filter. */
export function decide(entry: DlqEntry, guards: Guards, options: PlanOptions): PlanItem {
  const raw = entry.raw;
  const item: PlanItem = {
    entry,
    target: options.to ?? entry.failure.originalTopic,
    replayCount: entry.replayCount + 1,
  };
  if (raw.value === null) item.skip = 'no-value';
  else if (raw.key === null) item.skip = 'no-key';
  else if (item.target === undefined) item.skip = 'no-target';
  else if (item.replayCount > options.maxReplays) {
    item.skip = 'max-replays';
    item.detail = `replayed ${entry.replayCount} time${entry.replayCount === 1 ? '' : 's'} already (--max-replays ${options.maxReplays})`;
  } else {
    const verdict = guards.history.verdict(candidateOf(entry, guards));
    if (verdict && options.force) item.forced = verdict;
    else if (verdict) {
      item.skip = verdict.reason;
      item.detail = verdict.detail;
    }
  }
  return item;
}

/**
 * Reads the dead-letter snapshot and decides, message by message, whether to
 * replay each pending match (and where) or why not. Nothing is kept: the caller
 * publishes or prints each run as it comes, and `tally` counts as it goes.
 */
export async function* planReplay(
  source: TopicSource,
  dlqTopic: string,
  state: HandledState,
  guards: Guards,
  options: PlanOptions,
  tally: PlanTally = emptyTally(),
): AsyncGenerator<PlanItem[]> {
  const limit = options.filter.limit ?? Number.POSITIVE_INFINITY;
  if (limit <= 0) return;
  for await (const run of source.readRuns(dlqTopic, { to: guards.snapshot })) {
    const items: PlanItem[] = [];
    for (const raw of run) {
      const entry = readEntry(raw);
      if (!matches(options.filter, entry)) continue;
      if (state.get(entry.partition, entry.offset)) {
        tally.handled++;
        continue;
      }
      const item = decide(entry, guards, options);
      tally.items++;
      if (item.skip) bump(tally.skipped, item.skip);
      else {
        tally.toReplay++;
        tally.targets.add(item.target!);
        if (item.forced) bump(tally.forced, item.forced.reason);
      }
      items.push(item);
      if (tally.items >= limit) break;
    }
    if (items.length > 0) yield items;
    if (tally.items >= limit) return;
  }
}

/** Headers a replayed copy leaves out: the failure, the previous replay, and any reply address (nobody waits for a replay). */
const notReplayed = (name: string): boolean =>
  name.startsWith(DLQ_HEADER_PREFIX) ||
  name === REPLAY_COUNT_HEADER ||
  name === REPLAYED_FROM_HEADER ||
  name === REPLY_TO_HEADER;

/** The replayed copy: original key, value and headers, without dead-letter headers, plus the replay headers. */
export function replayMessage(raw: RawMessage, dlqTopic: string, replayCount: number): OutgoingMessage {
  const headers: IHeaders = {};
  for (const [name, value] of Object.entries(raw.headers)) {
    if (value === undefined) continue;
    if (notReplayed(name)) continue;
    headers[name] = value;
  }
  headers[REPLAY_COUNT_HEADER] = String(replayCount);
  headers[REPLAYED_FROM_HEADER] = `${dlqTopic}:${raw.partition}:${raw.offset}`;
  // kafkajs takes Buffer keys and header arrays; passing them keeps the key and headers byte for byte.
  return {
    key: raw.key as unknown as string,
    value: raw.value!,
    headers: headers as OutgoingMessage['headers'],
  };
}
