import type { Logger } from '@cio-bridge/logger';
import type { IHeaders } from 'kafkajs';
import { type RetryPolicy, retriesExhausted, retryDelay } from './backoff';
import { Deque } from './deque';
import { type DeliveryError, ValidationError } from './errors';
import type { WorkerMetrics } from './metrics';
import type { RequestBudget } from './rate-limit';

/** Where a message came from, kept byte for byte for the dead-letter topic. */
export interface Envelope {
  topic: string;
  partition: number;
  offset: string;
  /** the Kafka message timestamp (ms since the epoch, as kafkajs gives it) */
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
}

/** A decoded operation, ready to send. */
export interface Operation {
  /** the ordering key: one person's operations go out one at a time, in order */
  person: string;
  /** the request JSON for this operation (one v2 batch item, or one send) */
  body: string;
  bytes: number;
  action: string;
  /** event name for metrics ('' when not an event) */
  event: string;
  id?: string;
}

type ItemState = 'queued' | 'ready' | 'sending' | 'backoff' | 'dead_lettering' | 'settled';

/** One message on its way through the worker. */
export interface Item {
  envelope: Envelope;
  /** absent when the message is not a valid operation */
  op?: Operation;
  invalid?: ValidationError;
  attempts: number;
  firstFailedAt?: number;
  lastFailedAt?: number;
  /** send alone (Track: /api/v2/entity) to get this operation's own verdict */
  single: boolean;
  state: ItemState;
  timer?: NodeJS.Timeout;
  /** called once when the message was delivered or dead-lettered (its offset may be committed) */
  onSettled: () => void;
  /** its partition was taken away by a rebalance: the new owner delivers it */
  isRevoked: () => boolean;
}

/** Failure details carried into the dead-letter headers. */
export interface DeadLetter {
  item: Item;
  error: DeliveryError;
  attempts: number;
  firstFailedAt: number;
  lastFailedAt: number;
}

/** One Customer.io API, as the engine sees it. */
export interface Channel {
  api: 'track' | 'app';
  /**
   * Sends several operations in one request (Track: /api/v2/batch). Resolves with the
   * failures of single items (207), by index; rejects with a DeliveryError when the
   * request as a whole failed. Absent: every item goes alone.
   */
  sendBatch?: (bodies: string[]) => Promise<Map<number, DeliveryError>>;
  /** Sends one operation; rejects with a DeliveryError. */
  sendOne: (body: string) => Promise<void>;
}

export interface EngineOptions {
  channel: Channel;
  budget: RequestBudget;
  /** writes a dead letter; resolves once Kafka acknowledged it */
  deadLetter: (letter: DeadLetter) => Promise<void>;
  retry: RetryPolicy;
  metrics: WorkerMetrics;
  logger: Logger;
  concurrency: number;
  maxBatchOperations: number;
  maxBatchBytes: number;
  authProbeMinMs: number;
  authProbeMaxMs: number;
  defaultRetryAfterMs: number;
  /** how late a request slot may be used before it is given up for a new one (default 10 ms) */
  lateSlackMs?: number;
  /** Customer.io rejected the credentials (401/403): stop taking messages */
  onAuthRejected?: (error: DeliveryError) => void;
  /** the credentials work again */
  onAuthAccepted?: () => void;
  now?: () => number;
}

// `{"batch":[` + `]}` around the comma-separated items.
const BATCH_ENVELOPE_BYTES = 12;

/** Resolves waiters when something changed; `wait` returns a promise for the next change. */
class Signal {
  private waiters: (() => void)[] = [];
  wait(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

/**
 * Delivers the operations of one topic to one Customer.io API.
 *
 * Each person has a queue; only its head is ever sent, so a person's operations
 * reach Customer.io in the order they were produced, also while the head is being
 * retried, while other people go on. `concurrency` senders take the ready heads of
 * many people into each request (up to the batch limits), after reserving a slot of
 * the request budget. The engine never commits: it calls `onSettled` of each item
 * once it was delivered or dead-lettered, and the caller tracks offsets.
 */
export class DeliveryEngine {
  private readonly persons = new Map<string, Deque<Item>>();
  private readonly readyBatch = new Deque<string>();
  private readonly readySingle = new Deque<string>();
  private readonly work = new Signal();
  private readonly capacity = new Signal();
  private readonly stopped = new AbortController();
  private readonly pendingDeadLetters = new Set<Promise<void>>();
  private senders: Promise<void>[] = [];
  private stopping = false;
  private inFlightRequests = 0;
  private idle = new Signal();
  private authRejected: DeliveryError | undefined;
  private probing = false;
  private authGate = new Signal();
  private bufferedCount = 0;
  private readonly now: () => number;
  private readonly lateSlackMs: number;

  constructor(private readonly options: EngineOptions) {
    this.now = options.now ?? Date.now;
    this.lateSlackMs = options.lateSlackMs ?? 10;
  }

  /** Items taken and not settled (queued, in flight, being dead-lettered). */
  get buffered(): number {
    return this.bufferedCount;
  }

  /** Whether Customer.io currently rejects the credentials. */
  get credentialsRejected(): boolean {
    return this.authRejected !== undefined;
  }

  start(): void {
    if (this.senders.length > 0) return;
    for (let i = 0; i < this.options.concurrency; i++) this.senders.push(this.sender());
  }

  /** Takes a message; invalid ones go to the dead-letter topic at once. */
  add(item: Item): void {
    this.bufferedCount++;
    if (!item.op) {
      this.deadLetterItem(item, item.invalid ?? new ValidationError('not a valid operation'));
      return;
    }
    let queue = this.persons.get(item.op.person);
    if (!queue) {
      queue = new Deque<Item>();
      this.persons.set(item.op.person, queue);
    }
    queue.push(item);
    if (queue.length === 1) this.makeReady(item);
  }

  /** Resolves when fewer than `max` items are buffered, or after `timeoutMs` (to heartbeat). */
  async waitForCapacity(max: number, timeoutMs: number): Promise<void> {
    if (this.bufferedCount < max || this.stopping) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.capacity.wait(),
      new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
  }

  /**
   * Forgets the queued items of revoked partitions (the new owner fetches them again
   * from the committed offset); requests in flight finish.
   */
  dropRevoked(): number {
    let dropped = 0;
    for (const [person, queue] of this.persons) {
      const kept = new Deque<Item>();
      let item = queue.shift();
      while (item) {
        if (item.isRevoked() && item.state !== 'sending') {
          clearTimeout(item.timer);
          item.state = 'settled';
          this.bufferedCount--;
          dropped++;
        } else {
          kept.push(item);
        }
        item = queue.shift();
      }
      if (kept.length === 0) this.persons.delete(person);
      else {
        this.persons.set(person, kept);
        const head = kept.peek()!;
        if (head.state === 'queued') this.makeReady(head);
      }
    }
    if (dropped > 0) this.capacity.notify();
    return dropped;
  }

  /**
   * Stops sending: requests in flight and dead letters being written finish (until
   * `deadline`); what is still queued is handed back (its offsets stay uncommitted).
   */
  async stop(deadline: number): Promise<void> {
    this.stopping = true;
    this.stopped.abort();
    this.work.notify();
    this.authGate.notify();
    this.capacity.notify();
    // Operations waiting for a retry are handed back rather than waited for.
    for (const queue of this.persons.values()) clearTimeout(queue.peek()?.timer);
    const drained = (async () => {
      await Promise.all(this.senders);
      while (this.inFlightRequests > 0) await this.idle.wait();
      await Promise.allSettled([...this.pendingDeadLetters]);
    })();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      drained,
      new Promise((resolve) => {
        timer = setTimeout(resolve, Math.max(0, deadline - this.now()));
      }),
    ]);
    clearTimeout(timer);
    for (const queue of this.persons.values()) {
      for (let item = queue.shift(); item; item = queue.shift()) clearTimeout(item.timer);
    }
  }

  private makeReady(item: Item): void {
    if (this.stopping || !item.op) return;
    item.state = 'ready';
    (item.single || !this.options.channel.sendBatch ? this.readySingle : this.readyBatch).push(
      item.op.person,
    );
    this.work.notify();
  }

  private scheduleRetry(item: Item, delayMs: number): void {
    if (this.stopping) {
      item.state = 'queued';
      return;
    }
    item.state = 'backoff';
    item.timer = setTimeout(() => {
      item.timer = undefined;
      if (item.state !== 'backoff') return;
      if (item.isRevoked()) {
        this.dropHead(item);
        return;
      }
      this.makeReady(item);
    }, delayMs);
  }

  private get hasReady(): boolean {
    return this.readyBatch.length > 0 || this.readySingle.length > 0;
  }

  private async sender(): Promise<void> {
    while (!this.stopping) {
      if (!this.hasReady) {
        await this.work.wait();
        continue;
      }
      if (this.authRejected) {
        if (this.probing) {
          await this.authGate.wait();
          continue;
        }
        this.probing = true;
        try {
          await this.probe();
        } finally {
          this.probing = false;
        }
        continue;
      }
      await this.sendNext();
    }
  }

  /** While credentials are rejected: one request at a time, with growing pauses. */
  private async probe(): Promise<void> {
    let pause = this.options.authProbeMinMs;
    while (this.authRejected && !this.stopping) {
      await sleep(pause, this.stopped.signal);
      if (this.stopping) return;
      if (!this.hasReady) {
        await this.work.wait();
        continue;
      }
      await this.sendNext();
      pause = Math.min(this.options.authProbeMaxMs, pause * 2);
    }
  }

  /** Reserves budget, takes ready heads and sends them. */
  private async sendNext(): Promise<void> {
    const started = this.now();
    await this.awaitSlot();
    const api = this.options.channel.api;
    this.options.metrics.rateLimitWait.observe({ api }, Math.max(0, this.now() - started) / 1000);
    this.options.metrics.rateLimitRps.set({ api }, this.options.budget.currentRps());
    if (this.stopping) return;
    const single = this.take(this.readySingle, 1);
    const items = single.length > 0 ? single : this.takeBatch();
    if (items.length === 0) return;
    this.inFlightRequests++;
    this.options.metrics.requestsInFlight.inc({ api });
    this.options.metrics.batchSize.observe({ api }, items.length);
    try {
      if (single.length > 0 || !this.options.channel.sendBatch) {
        await this.sendAlone(items[0]!);
      } else {
        await this.sendMany(items);
      }
    } finally {
      this.inFlightRequests--;
      this.options.metrics.requestsInFlight.dec({ api });
      if (this.inFlightRequests === 0) this.idle.notify();
    }
  }

  /**
   * Waits for a request slot of the budget. A slot is given up and another reserved
   * when the wait ended too late (the event loop stalled: sending now would bunch up
   * with the next slots and overrun a window-based limit) or when a 429 paused the
   * budget meanwhile (the slot was reserved before Customer.io asked to slow down).
   */
  private async awaitSlot(): Promise<void> {
    for (let attempt = 0; attempt < 4 && !this.stopping; attempt++) {
      const wait = await this.options.budget.reserve();
      const due = this.now() + wait;
      if (wait > 0) await sleep(wait, this.stopped.signal);
      const now = this.now();
      const late = now - due > this.lateSlackMs;
      const throttledMeanwhile = this.options.budget.pausedUntil() > now;
      if (!late && !throttledMeanwhile) return;
    }
  }

  /** Takes up to `max` ready heads from `queue`, skipping stale entries. */
  private take(queue: Deque<string>, max: number): Item[] {
    const items: Item[] = [];
    while (items.length < max) {
      const person = queue.shift();
      if (person === undefined) break;
      const head = this.persons.get(person)?.peek();
      if (head?.state !== 'ready') continue;
      head.state = 'sending';
      items.push(head);
    }
    return items;
  }

  /** Ready heads up to the batch's operation and byte limits. */
  private takeBatch(): Item[] {
    const items: Item[] = [];
    let bytes = BATCH_ENVELOPE_BYTES;
    while (items.length < this.options.maxBatchOperations) {
      const person = this.readyBatch.peek();
      if (person === undefined) break;
      const head = this.persons.get(person)?.peek();
      if (head?.state !== 'ready' || !head.op) {
        this.readyBatch.shift();
        continue;
      }
      if (items.length > 0 && bytes + head.op.bytes + 1 > this.options.maxBatchBytes) break;
      this.readyBatch.shift();
      head.state = 'sending';
      bytes += head.op.bytes + 1;
      items.push(head);
    }
    return items;
  }

  private async sendMany(items: Item[]): Promise<void> {
    let failures: Map<number, DeliveryError>;
    try {
      failures = await this.options.channel.sendBatch!(items.map((item) => item.op!.body));
    } catch (error) {
      this.requestFailed(items, error as DeliveryError);
      return;
    }
    this.accepted();
    items.forEach((item, index) => {
      const failure = failures.get(index);
      if (!failure) {
        this.delivered(item);
      } else if (item.isRevoked()) {
        this.dropHead(item);
      } else {
        // Rejected inside a 207: send it alone for its own verdict (a 400 goes to
        // the dead-letter topic, a transient failure is retried).
        this.options.logger.debug(
          {
            topic: item.envelope.topic,
            partition: item.envelope.partition,
            offset: item.envelope.offset,
            reason: failure.message,
          },
          'operation rejected inside a batch; sending it alone',
        );
        item.single = true;
        this.makeReady(item);
      }
    });
  }

  private async sendAlone(item: Item): Promise<void> {
    try {
      await this.options.channel.sendOne(item.op!.body);
    } catch (error) {
      this.requestFailed([item], error as DeliveryError);
      return;
    }
    this.accepted();
    this.delivered(item);
  }

  /** A request was answered without 401/403. */
  private accepted(): void {
    if (!this.authRejected) return;
    this.authRejected = undefined;
    this.options.logger.info({ api: this.options.channel.api }, 'Customer.io accepts the credentials again');
    this.options.metrics.credentialsRejected.set({ api: this.options.channel.api }, 0);
    this.authGate.notify();
    this.options.onAuthAccepted?.();
  }

  private requestFailed(items: Item[], error: DeliveryError): void {
    const api = this.options.channel.api;
    if (error.authentication) {
      this.options.metrics.authFailures.inc({ api });
      if (!this.authRejected) {
        this.authRejected = error;
        this.options.metrics.credentialsRejected.set({ api }, 1);
        this.options.logger.error(
          { api, status: error.status },
          'Customer.io rejects the credentials: consuming paused until they work',
        );
        this.options.onAuthRejected?.(error);
      }
      // Not the message's fault: back to the head of its queue, no attempt counted.
      for (const item of items) {
        if (item.isRevoked()) this.dropHead(item);
        else this.makeReady(item);
      }
      return;
    }
    if (error.errorClass === 'rate_limited') {
      this.options.metrics.throttled.inc({ api });
      void this.options.budget.throttled(error.retryAfterMs ?? this.options.defaultRetryAfterMs);
    }
    const now = this.now();
    for (const item of items) {
      if (item.isRevoked()) {
        this.dropHead(item);
        continue;
      }
      if (!error.retriable && !item.single && this.options.channel.sendBatch) {
        // The whole batch was refused (400, 413): find the culprit by sending each alone.
        item.single = true;
        this.makeReady(item);
        continue;
      }
      item.attempts++;
      item.firstFailedAt ??= now;
      item.lastFailedAt = now;
      const labels = { api, action: item.op!.action, event: this.options.metrics.eventLabel(item.op!.event) };
      if (!error.retriable || retriesExhausted(item.attempts, item.firstFailedAt, now, this.options.retry)) {
        this.releaseHead(item);
        this.deadLetterItem(item, error);
        continue;
      }
      this.options.metrics.retried.inc({ ...labels, error_class: error.errorClass });
      this.scheduleRetry(item, retryDelay(item.attempts, this.options.retry, error.retryAfterMs));
    }
  }

  private delivered(item: Item): void {
    const op = item.op!;
    this.options.metrics.delivered.inc({
      api: this.options.channel.api,
      action: op.action,
      event: this.options.metrics.eventLabel(op.event),
    });
    this.releaseHead(item);
    this.settle(item);
  }

  /** Removes the item from the head of its person's queue and readies the next one. */
  private releaseHead(item: Item): void {
    const person = item.op!.person;
    const queue = this.persons.get(person);
    if (!queue || queue.peek() !== item) return;
    queue.shift();
    const next = queue.peek();
    if (!next) this.persons.delete(person);
    else if (next.state === 'queued') {
      if (next.isRevoked()) this.dropRevokedFrom(person);
      else this.makeReady(next);
    }
  }

  /** A revoked head: forget it (the partition's new owner delivers it). */
  private dropHead(item: Item): void {
    this.releaseHead(item);
    if (item.state !== 'settled') {
      item.state = 'settled';
      this.bufferedCount--;
      this.capacity.notify();
    }
  }

  private dropRevokedFrom(person: string): void {
    const queue = this.persons.get(person);
    while (queue?.peek()?.isRevoked()) {
      const item = queue.shift()!;
      item.state = 'settled';
      this.bufferedCount--;
    }
    this.capacity.notify();
    const next = queue?.peek();
    if (!next) this.persons.delete(person);
    else if (next.state === 'queued') this.makeReady(next);
  }

  private deadLetterItem(item: Item, error: DeliveryError): void {
    const now = this.now();
    item.state = 'dead_lettering';
    const letter: DeadLetter = {
      item,
      error,
      attempts: Math.max(1, item.attempts),
      firstFailedAt: item.firstFailedAt ?? now,
      lastFailedAt: item.lastFailedAt ?? now,
    };
    const api = this.options.channel.api;
    const labels = {
      api,
      action: item.op?.action ?? 'unknown',
      event: this.options.metrics.eventLabel(item.op?.event ?? ''),
      error_class: error.errorClass,
    };
    const write = this.writeDeadLetter(letter).then(
      () => {
        this.options.metrics.deadLettered.inc(labels);
        this.settle(item);
      },
      (failure: unknown) => {
        this.options.logger.error(
          {
            err: failure,
            topic: item.envelope.topic,
            partition: item.envelope.partition,
            offset: item.envelope.offset,
          },
          'could not write to the dead-letter topic before stopping; the message stays uncommitted',
        );
      },
    );
    this.pendingDeadLetters.add(write);
    void write.finally(() => this.pendingDeadLetters.delete(write));
  }

  /** Keeps trying (Kafka may be away for a while) until written or stopping. */
  private async writeDeadLetter(letter: DeadLetter): Promise<void> {
    let pause = 500;
    for (;;) {
      try {
        await this.options.deadLetter(letter);
        return;
      } catch (error) {
        if (this.stopping) throw error;
        this.options.logger.warn(
          { err: error, offset: letter.item.envelope.offset, retryInMs: pause },
          'writing to the dead-letter topic failed; trying again',
        );
        await sleep(pause, this.stopped.signal);
        pause = Math.min(pause * 2, 10_000);
      }
    }
  }

  private settle(item: Item): void {
    if (item.state === 'settled') return;
    item.state = 'settled';
    this.bufferedCount--;
    item.onSettled();
    this.capacity.notify();
  }
}
