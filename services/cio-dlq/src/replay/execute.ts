import type { OutgoingMessage, Publisher } from '@cio-bridge/kafka';
import { type Guards, positionOf } from '../guards/build';
import { guardedKind } from '../guards/history';
import type { Clock } from '../rate-limiter';
import { RateLimiter } from '../rate-limiter';
import { type HandledMark, markRecords } from '../state';
import { type PlanItem, replayMessage } from './plan';

export interface ExecuteOptions {
  dlqTopic: string;
  stateTopic: string;
  run: string;
  by: string;
  /** wall-clock time at the start, ms (marks say when) */
  now: number;
  clock: Clock;
  /** messages per second */
  rate?: number;
  /** the publisher, opened (and the state topics created) on the first message to replay */
  publisher: () => Promise<Publisher>;
  guards: Guards;
  /** polled between messages: Ctrl-C */
  stopped: () => boolean;
  onProgress?: (replayed: number) => void;
}

export interface ExecuteResult {
  replayed: number;
  failure?: Error;
  seconds: number;
}

// Two chunks of 500 keep the producer as busy as three of 1,000 did, and at a million
// messages the process stays under 200 MB (three of 1,000: 220 MB).
/** At most this many chunks wait for the broker: enough to keep the producer busy, few enough to stay small. */
const CHUNKS_IN_FLIGHT = 2;
const CHUNK_SIZE = 500;

/** What is kept of a message to replay until its chunk is acknowledged: the copy and its mark. */
interface Outgoing {
  target: string;
  message: OutgoingMessage;
  mark: HandledMark;
}

/** What the guards need of a replayed identify, delete or suppress once retention removed its dead letter. */
function markOf(item: PlanItem, options: ExecuteOptions, at: string): HandledMark {
  const { entry } = item;
  const mark: HandledMark = {
    status: 'replayed',
    dlqTopic: options.dlqTopic,
    partition: entry.partition,
    offset: entry.offset,
    run: options.run,
    by: options.by,
    at,
    operationId: entry.operation.id,
    action: entry.operation.action,
    to: item.target,
    replayCount: item.replayCount,
  };
  if (guardedKind(entry.operation.action) && entry.key !== null) {
    const position = positionOf(entry.raw, options.guards);
    const topic = options.guards.positions.topicName(position.topic);
    mark.key = entry.key;
    mark.operationTime = entry.operation.time;
    if (topic !== undefined) {
      mark.original = `${topic}:${position.partition}:${position.offset}`;
      mark.originalTime = position.recordTime;
    }
  }
  return mark;
}

/**
 * Publishes the plan's messages to replay as they come, in chunks of up to 500,
 * a few chunks in flight (one idempotent producer keeps them in order). A chunk's
 * marks are written only after the broker acknowledged its copies: a crash in
 * between replays it again on the next run (Customer.io drops the duplicate by its
 * operation id) but never loses it.
 */
export async function executeReplay(
  runs: AsyncIterable<PlanItem[]>,
  options: ExecuteOptions,
): Promise<ExecuteResult> {
  const limiter = options.rate ? new RateLimiter(options.rate, options.clock) : undefined;
  const chunkSize = limiter ? Math.min(limiter.chunk, CHUNK_SIZE) : CHUNK_SIZE;
  const started = options.clock.now();
  let replayed = 0;
  let failure: Error | undefined;
  const inflight: Promise<void>[] = [];

  const flush = async (chunk: Outgoing[]) => {
    const publisher = await options.publisher();
    if (limiter) await limiter.take(chunk.length);
    const byTopic = new Map<string, OutgoingMessage[]>();
    for (const { target, message } of chunk) {
      const list = byTopic.get(target) ?? [];
      list.push(message);
      byTopic.set(target, list);
    }
    const at = new Date(options.now + (options.clock.now() - started)).toISOString();
    const marks = markRecords(chunk.map(({ mark }) => ({ ...mark, at })));
    const done = Promise.all([...byTopic].map(([topic, messages]) => publisher.publish(topic, messages)))
      .then(() => publisher.publish(options.stateTopic, marks))
      .then(
        () => {
          replayed += chunk.length;
          options.onProgress?.(replayed);
        },
        (error: Error) => {
          failure ??= error;
        },
      );
    inflight.push(done);
    if (inflight.length >= CHUNKS_IN_FLIGHT) await inflight.shift();
  };

  let chunk: Outgoing[] = [];
  const halted = () => failure !== undefined || options.stopped();
  try {
    outer: for await (const run of runs) {
      for (const item of run) {
        if (halted()) break outer;
        if (item.skip) continue;
        // Only the copy and the mark outlive the plan's item (not the parsed entry).
        chunk.push({
          target: item.target!,
          message: replayMessage(item.entry.raw, options.dlqTopic, item.replayCount),
          mark: markOf(item, options, ''),
        });
        if (chunk.length >= chunkSize) {
          await flush(chunk);
          chunk = [];
        }
      }
    }
    if (chunk.length > 0 && !halted()) await flush(chunk);
  } catch (error) {
    failure ??= error as Error;
  }
  await Promise.all(inflight);
  return { replayed, failure, seconds: (options.clock.now() - started) / 1000 };
}
