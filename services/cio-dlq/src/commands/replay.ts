import { randomBytes } from 'node:crypto';
import type { OutgoingMessage } from '@cio-bridge/kafka';
import { Presets, SingleBar } from 'cli-progress';
import type { IHeaders } from 'kafkajs';
import {
  DLQ_HEADER_PREFIX,
  type EntrySummary,
  REPLAY_COUNT_HEADER,
  REPLAYED_FROM_HEADER,
  readEntry,
  summarize,
} from '../dlq-entry';
import { CommandError, UsageError } from '../errors';
import { describeFilter, type Filter, matches } from '../filter';
import { entryJson, formatCount, Table } from '../format';
import type { RawMessage, TopicReader } from '../kafka/topic-reader';
import { RateLimiter } from '../rate-limiter';
import { findStaleIdentifies, undeliveredKey } from '../stale-identify';
import {
  type AuditRecord,
  auditMessage,
  type HandledMark,
  type HandledState,
  markRecords,
  stateTopicsFor,
} from '../state';
import { type CommandContext, note } from './io';
import { openDlq } from './scan';

export interface ReplayOptions {
  filter: Filter;
  /** publish here instead of each message's original topic */
  to?: string;
  dryRun?: boolean;
  /** messages per second */
  rate?: number;
  yes?: boolean;
  /** refuse to replay an operation more often than this */
  maxReplays: number;
  /** replay stale identifies too */
  force?: boolean;
  json?: boolean;
  reveal?: boolean;
  /** why, for the audit record */
  reason?: string;
}

export type SkipReason = 'stale-identify' | 'max-replays' | 'no-target' | 'no-value' | 'no-key';

/** One matching message and what replay does with it. */
export interface PlanItem {
  entry: EntrySummary;
  target?: string;
  /** x-replay-count of the replayed message */
  replayCount: number;
  skip?: SkipReason;
  detail?: string;
  /** the message to publish, copied out of the fetch (while the plan's copies stay within budget) */
  message?: OutgoingMessage;
}

export const newRunId = (now: number) =>
  `${new Date(now).toISOString().replace(/[-:]/g, '').slice(0, 15)}-${randomBytes(3).toString('hex')}`;

export interface Plan {
  items: PlanItem[];
  /** every item to replay carries its message: no second read of the dead-letter topic */
  complete: boolean;
  /** messages the filter matched but that were handled already */
  handled: number;
}

/**
 * Reads the dead-letter topic once and decides, for every pending message that
 * passes the filter, whether to replay it (and where) or why not.
 */
export async function planReplay(
  reader: TopicReader,
  dlqTopic: string,
  state: HandledState,
  options: Pick<ReplayOptions, 'filter' | 'to' | 'maxReplays' | 'force'> & { keepBytes?: number },
): Promise<Plan> {
  const items: PlanItem[] = [];
  const undelivered = new Set<string>();
  const limit = options.filter.limit ?? Number.POSITIVE_INFINITY;
  let handledCount = 0;
  // Messages to replay are kept (copied) up to this many bytes; a larger replay reads
  // them again when publishing instead of holding them all.
  let budget = options.keepBytes ?? 64 * 1024 * 1024;
  let complete = true;
  for await (const run of reader.readRuns(dlqTopic)) {
    for (const raw of run) {
      const entry = readEntry(raw);
      const handled = state.byCoordinate.get(entry.coordinate);
      // What failed and was not replayed never reached Customer.io (for the stale-identify guard).
      if (!handled || handled.status === 'purged') {
        const key = undeliveredKey(entry);
        if (key) undelivered.add(key);
      }
      if (items.length >= limit || !matches(options.filter, entry)) continue;
      if (handled) {
        handledCount++;
        continue;
      }
      const item: PlanItem = {
        entry: summarize(entry),
        target: options.to ?? entry.failure.originalTopic,
        replayCount: entry.replayCount + 1,
      };
      if (raw.value === null) item.skip = 'no-value';
      else if (raw.key === null) item.skip = 'no-key';
      else if (item.target === undefined) item.skip = 'no-target';
      else if (item.replayCount > options.maxReplays) {
        item.skip = 'max-replays';
        item.detail = `replayed ${entry.replayCount} time${entry.replayCount === 1 ? '' : 's'} already (--max-replays ${options.maxReplays})`;
      }
      if (!item.skip && complete) {
        const message = replayMessage(raw, dlqTopic, item.replayCount, true);
        budget -= sizeOf(message);
        if (budget >= 0) item.message = message;
        else {
          complete = false;
          for (const kept of items) kept.message = undefined;
        }
      }
      items.push(item);
    }
  }
  if (!options.force) {
    const identifies = items
      .filter((i) => !i.skip && i.entry.operation.action === 'identify')
      .map((i) => i.entry);
    if (identifies.length > 0) {
      const stale = await findStaleIdentifies(reader, identifies, state, undelivered);
      for (const item of items) {
        const newer = stale.get(item.entry.coordinate);
        if (!newer || item.skip) continue;
        item.skip = 'stale-identify';
        item.detail = `newer identify${newer.operationId ? ` ${newer.operationId}` : ''} at ${newer.where} (--force replays it)`;
      }
    }
  }
  return { items, handled: handledCount, complete };
}

const sizeOf = (m: OutgoingMessage) =>
  Buffer.byteLength(m.value) +
  Buffer.byteLength(m.key) +
  Object.entries(m.headers ?? {}).reduce((sum, [k, v]) => sum + k.length + Buffer.byteLength(v) + 16, 200);

const skipText: Record<SkipReason, string> = {
  'stale-identify': 'stale identify (--force replays them)',
  'max-replays': 'over --max-replays',
  'no-target': 'without x-dlq-original-topic (use --to)',
  'no-value': 'without a value',
  'no-key': 'without a key',
};

export function skippedCounts(items: PlanItem[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) if (item.skip) counts[item.skip] = (counts[item.skip] ?? 0) + 1;
  return counts;
}

const describeSkipped = (counts: Record<string, number>) =>
  Object.entries(counts)
    .map(([reason, n]) => `${formatCount(n)} ${skipText[reason as SkipReason] ?? reason}`)
    .join(', ');

/** The replayed copy: original key, value and headers, without dead-letter headers, plus the replay headers. */
export function replayMessage(
  raw: RawMessage,
  dlqTopic: string,
  replayCount: number,
  copy = false,
): OutgoingMessage {
  // A copy does not keep the whole fetch response alive.
  const own = <T extends Buffer | null>(b: T): T => (copy && b !== null ? (Buffer.from(b) as T) : b);
  const headers: IHeaders = {};
  for (const [name, value] of Object.entries(raw.headers)) {
    if (value === undefined) continue;
    if (name.startsWith(DLQ_HEADER_PREFIX) || name === REPLAY_COUNT_HEADER || name === REPLAYED_FROM_HEADER)
      continue;
    headers[name] = Array.isArray(value)
      ? value.map((v) => (typeof v === 'string' ? v : own(v)))
      : typeof value === 'string'
        ? value
        : own(value);
  }
  headers[REPLAY_COUNT_HEADER] = String(replayCount);
  headers[REPLAYED_FROM_HEADER] = `${dlqTopic}:${raw.partition}:${raw.offset}`;
  // kafkajs takes Buffer keys and header arrays; passing them keeps the key and headers byte for byte.
  return {
    key: own(raw.key) as unknown as string,
    value: own(raw.value)!,
    headers: headers as OutgoingMessage['headers'],
  };
}

/** `cio-dlq replay`: publish matching messages back, resumably, with the stale-identify guard. */
export async function replayCommand(ctx: CommandContext, options: ReplayOptions): Promise<number> {
  if (!options.dryRun && !options.yes && !ctx.interactive) {
    throw new UsageError(
      'replay publishes messages: pass --yes when not on a terminal (--dry-run shows what it would do)',
    );
  }
  const reader = await ctx.session.topicReader();
  const topics = stateTopicsFor(ctx.dlqTopic);
  const state = await openDlq(reader, ctx.dlqTopic, topics.state);
  if (options.to !== undefined && !(await reader.exists(options.to))) {
    throw new CommandError(`--to topic ${options.to} does not exist on the cluster`);
  }
  const plan = await planReplay(reader, ctx.dlqTopic, state, {
    ...options,
    keepBytes: ctx.session.config.replayKeepBytes,
  });
  const toReplay = plan.items.filter((i) => !i.skip);
  const skipped = skippedCounts(plan.items);
  const targets = [...new Set(toReplay.map((i) => i.target!))];
  for (const target of targets) {
    if (!(await reader.exists(target))) {
      throw new CommandError(
        `topic ${target} (the messages' original topic) does not exist; use --to <topic>`,
      );
    }
  }
  const summaryOf = (verb: string) => {
    const where = targets.length > 0 ? ` to ${targets.join(', ')}` : '';
    const skippedText = plan.items.length - toReplay.length;
    return (
      `${verb} ${formatCount(toReplay.length)} message${toReplay.length === 1 ? '' : 's'}${where}` +
      (skippedText > 0 ? `; skipped ${formatCount(skippedText)}: ${describeSkipped(skipped)}` : '') +
      (plan.handled > 0 ? `; ${formatCount(plan.handled)} already replayed or purged` : '')
    );
  };

  if (options.dryRun) {
    const format = { reveal: options.reveal === true, now: ctx.now };
    const table = new Table({
      ...format,
      extra: 'WOULD',
      width: ctx.stdout.isTTY ? ctx.stdout.columns : undefined,
    });
    if (!options.json) await ctx.out.line(table.header());
    for (const item of plan.items) {
      const verdict = item.skip
        ? `skip: ${item.detail ?? skipText[item.skip]}`
        : `replay to ${item.target} (x-replay-count ${item.replayCount})`;
      await ctx.out.line(
        options.json
          ? JSON.stringify({
              ...entryJson(item.entry, format),
              verdict: item.skip ? 'skip' : 'replay',
              reason: item.skip ?? null,
              detail: item.detail ?? null,
              to: item.skip ? null : item.target,
            })
          : table.row(item.entry, undefined, verdict),
      );
    }
    await ctx.out.flush();
    const summary = `dry run: ${summaryOf('would replay')}. Nothing was changed.`;
    if (options.json) note(ctx, summary);
    else {
      await ctx.out.line(summary);
      await ctx.out.flush();
    }
    return 0;
  }

  if (toReplay.length === 0) {
    const why = [
      plan.items.length > 0 ? `skipped ${formatCount(plan.items.length)}: ${describeSkipped(skipped)}` : '',
      plan.handled > 0 ? `${formatCount(plan.handled)} already replayed or purged` : '',
    ].filter(Boolean);
    await ctx.out.line(`nothing to replay in ${ctx.dlqTopic}${why.length > 0 ? ` (${why.join('; ')})` : ''}`);
    await ctx.out.flush();
    return 0;
  }
  if (!options.yes) {
    if (toReplay.length < plan.items.length) note(ctx, summaryOf('will replay'));
    const ok = await ctx.confirm(
      `Replay ${formatCount(toReplay.length)} message${toReplay.length === 1 ? '' : 's'} from ${ctx.dlqTopic} to ${targets.join(', ')}?`,
    );
    if (!ok) {
      note(ctx, 'aborted: nothing was replayed');
      return 1;
    }
  }

  await ctx.session.ensureStateTopics(ctx.dlqTopic);
  const publisher = await ctx.session.publisher();
  const run = newRunId(ctx.now);
  const by = ctx.session.operator();
  const limiter = options.rate ? new RateLimiter(options.rate, ctx.clock) : undefined;
  const chunkSize = limiter ? Math.min(limiter.chunk, 1_000) : 1_000;
  const started = ctx.clock.now();
  const byCoordinate = new Map(toReplay.map((i) => [i.entry.coordinate, i]));
  const from = new Map<number, string>();
  const to = new Map<number, string>();
  for (const { entry } of toReplay) {
    const low = from.get(entry.partition);
    if (low === undefined || BigInt(entry.offset) < BigInt(low)) from.set(entry.partition, entry.offset);
    const high = to.get(entry.partition);
    const end = (BigInt(entry.offset) + 1n).toString();
    if (high === undefined || BigInt(end) > BigInt(high)) to.set(entry.partition, end);
  }

  const progress =
    ctx.stderr.isTTY && !options.json
      ? new SingleBar(
          {
            stream: ctx.stderr as unknown as NodeJS.WritableStream,
            format: 'replaying [{bar}] {value}/{total} {percentage}% | eta {eta_formatted}',
            hideCursor: true,
          },
          Presets.shades_classic,
        )
      : undefined;
  progress?.start(toReplay.length, 0);

  let replayed = 0;
  let failure: Error | undefined;
  const inflight: Promise<void>[] = [];
  const flush = async (chunk: Array<{ item: PlanItem; message: OutgoingMessage }>) => {
    if (limiter) await limiter.take(chunk.length);
    const byTopic = new Map<string, OutgoingMessage[]>();
    for (const { item, message } of chunk) {
      const list = byTopic.get(item.target!) ?? [];
      list.push(message);
      byTopic.set(item.target!, list);
    }
    const at = new Date(ctx.now + (ctx.clock.now() - started)).toISOString();
    const marks = markRecords(
      chunk.map(({ item }): HandledMark => {
        const identify = item.entry.operation.action === 'identify';
        return {
          status: 'replayed',
          dlqTopic: ctx.dlqTopic,
          partition: item.entry.partition,
          offset: item.entry.offset,
          run,
          by,
          at,
          operationId: item.entry.operation.id,
          action: item.entry.operation.action,
          // what the stale-identify guard needs of a replayed identify
          ...(identify ? { key: item.entry.key, operationTime: item.entry.operation.time } : {}),
          to: item.target,
          replayCount: item.replayCount,
        };
      }),
    );
    // The mark is written only after the broker acknowledged the replayed message: a
    // crash in between replays it again on the next run (Customer.io drops the duplicate
    // by its operation id) but never loses it.
    const done = Promise.all([...byTopic].map(([topic, messages]) => publisher.publish(topic, messages)))
      .then(() => publisher.publish(topics.state, marks))
      .then(
        () => {
          replayed += chunk.length;
          progress?.increment(chunk.length);
        },
        (error: Error) => {
          failure ??= error;
        },
      );
    inflight.push(done);
    if (inflight.length >= 8) await inflight.shift();
  };

  let interrupted = false;
  const stopListening = ctx.onInterrupt(() => {
    interrupted = true;
    note(ctx, '\nstopping: finishing the messages in flight (Ctrl-C again to quit at once)');
  });
  let chunk: Array<{ item: PlanItem; message: OutgoingMessage }> = [];
  const add = async (item: PlanItem, message: OutgoingMessage) => {
    chunk.push({ item, message });
    if (chunk.length >= chunkSize) {
      await flush(chunk);
      chunk = [];
    }
  };
  if (plan.complete) {
    for (const item of toReplay) {
      if (failure || interrupted) break;
      await add(item, item.message!);
      item.message = undefined;
    }
  } else {
    for await (const run of reader.readRuns(ctx.dlqTopic, { partitions: [...from.keys()], from, to })) {
      if (failure || interrupted) break;
      for (const raw of run) {
        const item = byCoordinate.get(`${raw.partition}:${raw.offset}`);
        if (!item) continue;
        await add(item, replayMessage(raw, ctx.dlqTopic, item.replayCount));
        if (failure || interrupted) break;
      }
    }
  }
  if (chunk.length > 0 && !failure && !interrupted) await flush(chunk);
  await Promise.all(inflight);
  stopListening();
  progress?.stop();
  const seconds = (ctx.clock.now() - started) / 1000;

  const audit: AuditRecord = {
    type: 'replay',
    run,
    who: by,
    when: new Date(ctx.now).toISOString(),
    dlqTopic: ctx.dlqTopic,
    filter: describeFilter(options.filter),
    count: replayed,
    skipped,
    to: targets.join(','),
    reason: options.reason,
    options: {
      maxReplays: options.maxReplays,
      force: options.force === true,
      rate: options.rate ?? null,
      ...(failure ? { error: failure.message } : {}),
      ...(interrupted ? { interrupted: true } : {}),
    },
  };
  await publisher.publish(topics.audit, [auditMessage(audit)]).catch((error: Error) => {
    failure ??= error;
  });

  if (interrupted && !failure) {
    throw new CommandError(
      `interrupted after ${formatCount(replayed)} of ${formatCount(toReplay.length)} messages (run ${run}); ` +
        'run the same command again to replay the rest',
    );
  }
  if (failure) {
    throw new CommandError(
      `replay stopped after ${formatCount(replayed)} of ${formatCount(toReplay.length)} messages: ${failure.message}; ` +
        'run the same command again to replay the rest',
    );
  }
  if (options.json) {
    await ctx.out.line(
      JSON.stringify({ run, replayed, skipped, alreadyHandled: plan.handled, to: targets, seconds }),
    );
  } else {
    await ctx.out.line(`${summaryOf('replayed')} in ${seconds.toFixed(1)} s (run ${run})`);
  }
  await ctx.out.flush();
  return 0;
}
