import Denque from 'denque';
import { type DeliveryError, ValidationError } from '../errors';
import type { ApiHealth } from '../health/api-health';
import type { DeadLetterBlock } from '../health/faults';
import { DeadLetterSink } from './dead-letter';
import { EndpointVerdict } from './endpoint-verdict';
import type { EngineOptions, Settlement } from './engine-options';
import { decideOutcome } from './outcome';
import { Pacer, sleep } from './pacer';
import { PersonQueues } from './person-queues';
import { GrowingPause } from './retry-policy';
import { sendAlone } from './send-alone';
import { Signal } from './signal';
import type { DeadLetter, Item } from './types';

export type { EngineOptions, Settlement } from './engine-options';
export type { Channel, DeadLetter, Envelope, Item, ItemSource, Operation } from './types';

// `{"batch":[` + `]}` around the comma-separated items.
const BATCH_ENVELOPE_BYTES = 12;

/**
 * Delivers the operations of one topic to one Customer.io API.
 *
 * Each person has a queue; only its head is ever sent, so a person's operations
 * reach Customer.io in the order they were produced, also while the head is being
 * retried, while other people go on. Each request carries the ready heads of many
 * people (up to the batch limits); requests go out at the pace of the request budget,
 * up to `concurrency` of them in flight. The engine never commits: it tells each
 * item's source once the item was delivered or dead-lettered, and the source (an
 * offset tracker) decides what may be committed.
 */
export class DeliveryEngine {
  private readonly persons = new PersonQueues<Item>();
  private readonly readyBatch = new Denque<Item>();
  private readonly readySingle = new Denque<Item>();
  private readonly work = new Signal();
  private readonly capacity = new Signal();
  private readonly stopped = new AbortController();
  private readonly pendingDeadLetters = new Set<Promise<void>>();
  private dispatcher: Promise<void> | undefined;
  private readonly requests = new Set<Promise<void>>();
  private readonly requestDone = new Signal();
  private stopping = false;
  private readonly health: ApiHealth;
  /** permanently failed operations awaiting the verdict: the message's fault or the endpoint's */
  private readonly verdict: EndpointVerdict<Item>;
  private bufferedCount = 0;
  private readonly now: () => number;
  /** waiters for a person's queue to shrink below a length (a hot partition's resume) */
  private readonly drainWaiters = new Map<string, { below: number; resolve: () => void }[]>();

  private readonly pacer: Pacer;
  private readonly deadLetters: DeadLetterSink;

  constructor(private readonly options: EngineOptions) {
    this.now = options.now ?? Date.now;
    this.health = options.health;
    this.pacer = new Pacer({
      budget: options.budget,
      maxBatchOperations: options.maxBatchOperations,
      lingerMs: options.lingerMs,
      signal: this.stopped.signal,
      now: this.now,
    });
    this.verdict = new EndpointVerdict<Item>({
      personOf: (item) => item.op!.person,
      people: options.endpointFaultPeople,
      timeoutMs: options.endpointVerdictMs,
      messagesAtFault: (held) => this.messagesAtFault(held),
      endpointAtFault: (error, people, held) => this.endpointAtFault(error, people, held),
    });
    this.deadLetters = new DeadLetterSink({
      write: options.deadLetter,
      api: options.channel.api,
      metrics: options.metrics,
      logger: options.logger,
      signal: this.stopped.signal,
      health: options.health,
    });
  }

  /** Items taken and not settled (queued, in flight, being dead-lettered). */
  get buffered(): number {
    return this.bufferedCount;
  }

  /** How many items one person's queue holds (queued, in flight, in backoff). */
  queuedFor(person: string): number {
    return this.persons.length(person);
  }

  /** Resolves once the person's queue holds fewer than `below` items (or the engine stops). */
  whenBelow(person: string, below: number): Promise<void> {
    if (this.persons.length(person) < below || this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const waiters = this.drainWaiters.get(person) ?? [];
      waiters.push({ below, resolve });
      this.drainWaiters.set(person, waiters);
    });
  }

  private notifyDrained(person: string): void {
    const waiters = this.drainWaiters.get(person);
    if (!waiters) return;
    const length = this.persons.length(person);
    const kept = waiters.filter((waiter) => {
      if (length >= waiter.below && !this.stopping) return true;
      waiter.resolve();
      return false;
    });
    if (kept.length > 0) this.drainWaiters.set(person, kept);
    else this.drainWaiters.delete(person);
  }

  /** Whether Customer.io currently rejects the credentials. */
  get credentialsRejected(): boolean {
    return this.health.credentialsRejected;
  }

  /** Why dead letters cannot be written (too large, unauthorized), if any are blocked. */
  get deadLetterBlocked(): DeadLetterBlock | undefined {
    return this.health.deadLettersBlocked;
  }

  /** The endpoint fault holding delivery, if any (status and message, no personal data). */
  get endpointFaulted(): DeliveryError | undefined {
    return this.health.endpointFaulted;
  }

  start(): void {
    this.dispatcher ??= this.dispatch();
  }

  /** Takes a message; invalid ones go to the dead-letter topic at once. */
  add(item: Item): void {
    this.bufferedCount++;
    if (!item.op) {
      this.deadLetterItem(item, item.invalid ?? new ValidationError('not a valid operation'));
      return;
    }
    if (this.persons.push(item.op.person, item)) this.makeReady(item);
  }

  /** Resolves when fewer than `max` items are buffered, or after `timeoutMs` (to heartbeat). */
  async waitForCapacity(max: number, timeoutMs: number): Promise<void> {
    if (this.bufferedCount < max || this.stopping) return;
    const timeout = new AbortController();
    await Promise.race([this.capacity.wait(), sleep(timeoutMs, timeout.signal)]);
    timeout.abort();
  }

  /**
   * Forgets the queued items of revoked partitions (the new owner fetches them again
   * from the committed offset); requests in flight finish.
   */
  dropRevoked(): number {
    let dropped = 0;
    for (const [person, items] of [...this.persons.queues()]) {
      const kept = items.filter((item) => {
        if (!item.source.revoked || item.state === 'sending') return true;
        clearTimeout(item.timer);
        item.state = 'settled';
        this.bufferedCount--;
        dropped++;
        return false;
      });
      if (kept.length === items.length) continue;
      this.persons.replace(person, kept);
      this.notifyDrained(person);
      const head = kept[0];
      if (head?.state === 'queued') this.makeReady(head);
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
    this.verdict.stop();
    this.work.notify();
    this.requestDone.notify();
    this.capacity.notify();
    // Operations waiting for a retry are handed back rather than waited for.
    for (const [, items] of this.persons.queues()) clearTimeout(items[0]?.timer);
    const drained = (async () => {
      await this.dispatcher;
      await Promise.allSettled([...this.requests]);
      await Promise.allSettled([...this.pendingDeadLetters]);
    })();
    const timeout = new AbortController();
    await Promise.race([drained, sleep(Math.max(0, deadline - this.now()), timeout.signal)]);
    timeout.abort();
    for (const [, items] of this.persons.queues()) for (const item of items) clearTimeout(item.timer);
    this.persons.clear();
    for (const person of [...this.drainWaiters.keys()]) this.notifyDrained(person);
  }

  private makeReady(item: Item): void {
    if (this.stopping || !item.op) return;
    item.state = 'ready';
    item.readyAt = this.now();
    this.pacer.noteReady();
    (item.single || !this.options.channel.sendBatch ? this.readySingle : this.readyBatch).push(item);
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
      if (item.source.revoked) {
        this.dropHead(item);
        return;
      }
      this.makeReady(item);
    }, delayMs);
  }

  private get hasReady(): boolean {
    return this.readyBatch.length > 0 || this.readySingle.length > 0;
  }

  /**
   * The one loop that paces requests: while operations are ready and fewer than
   * `concurrency` requests are in flight, it waits for the next slot of the budget,
   * takes everything ready at that moment (up to the batch limits) and starts the
   * request without waiting for it. A slot is reserved only when there is something
   * to send, so none goes unused while operations wait.
   */
  private async dispatch(): Promise<void> {
    const probePause = new GrowingPause(this.options.authProbeMinMs, this.options.authProbeMaxMs);
    while (!this.stopping) {
      if (!this.hasReady) {
        await this.work.wait();
        continue;
      }
      if (this.requests.size >= this.options.concurrency) {
        await this.requestDone.wait();
        continue;
      }
      if (this.health.faulted) {
        // A configuration fault: one request at a time, with growing pauses, until one is accepted.
        if (this.requests.size > 0) {
          await this.requestDone.wait();
          continue;
        }
        await sleep(probePause.next(), this.stopped.signal);
        if (this.stopping || !this.hasReady) continue;
        await (await this.startNext())?.request;
        continue;
      }
      probePause.reset();
      const linger = this.pacer.lingerFor({
        requestsInFlight: this.requests.size,
        singles: this.readySingle.length,
        batchable: this.readyBatch.length,
        oldestReadyAt: this.readyBatch.peekFront()?.readyAt,
      });
      if (linger > 0) {
        await Promise.race([this.requestDone.wait(), sleep(linger, this.stopped.signal)]);
        continue;
      }
      await this.startNext();
    }
  }

  /**
   * Waits for a slot of the budget, takes the ready heads and starts sending them;
   * resolves once the request is on its way (wrapped: an async function returning the
   * request's promise itself would wait for the answer).
   */
  private async startNext(): Promise<{ request: Promise<void> } | undefined> {
    const started = this.now();
    await this.pacer.awaitSlot();
    const api = this.options.channel.api;
    this.options.metrics.rateLimitWait.observe({ api }, Math.max(0, this.now() - started) / 1000);
    this.options.metrics.rateLimitRps.set({ api }, this.options.budget.currentRps());
    if (this.stopping) return undefined;
    const single = this.take(this.readySingle, 1);
    const items = single.length > 0 ? single : this.takeBatch();
    if (items.length === 0) return undefined;
    this.options.metrics.requestsInFlight.inc({ api });
    this.options.metrics.batchSize.observe({ api }, items.length);
    const request = (
      single.length > 0 || !this.options.channel.sendBatch ? this.sendAlone(items[0]!) : this.sendMany(items)
    ).finally(() => {
      this.requests.delete(request);
      this.options.metrics.requestsInFlight.dec({ api });
      this.requestDone.notify();
    });
    this.requests.add(request);
    return { request };
  }

  /** Takes up to `max` ready heads from `queue`, skipping stale entries. */
  private take(queue: Denque<Item>, max: number): Item[] {
    const items: Item[] = [];
    while (items.length < max) {
      const item = queue.shift();
      if (item === undefined) break;
      if (item.state !== 'ready') continue;
      item.state = 'sending';
      items.push(item);
    }
    return items;
  }

  /** Ready heads up to the batch's operation and byte limits. */
  private takeBatch(): Item[] {
    const items: Item[] = [];
    let bytes = BATCH_ENVELOPE_BYTES;
    const limit = this.pacer.batchLimit(this.readyBatch.length);
    while (items.length < limit) {
      const head = this.readyBatch.peekFront();
      if (head === undefined) break;
      if (head.state !== 'ready' || !head.op) {
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
    const traced = this.options.onRequest?.(items, 'batch');
    try {
      const send = () => this.options.channel.sendBatch!(items.map((item) => item.op!.body));
      failures = await (traced ? traced.run(send) : send());
      traced?.end(undefined, failures.size > 0);
    } catch (error) {
      traced?.end(error as DeliveryError);
      // inside the request's spans: the retry or dead-letter log lines lead to the trace
      const failed = () => this.requestFailed(items, error as DeliveryError);
      if (traced) traced.run(failed);
      else failed();
      return;
    }
    this.accepted();
    const counts = new Map<string, { action: string; event: string; count: number }>();
    items.forEach((item, index) => {
      const failure = failures.get(index);
      if (!failure) {
        const { action, event } = item.op!;
        const key = `${action}\0${event}`;
        const entry = counts.get(key);
        if (entry) entry.count++;
        else counts.set(key, { action, event, count: 1 });
        this.releaseHead(item);
        this.settle(item, { outcome: 'delivered', status: failures.size > 0 ? 207 : 200 });
      } else if (item.source.revoked) {
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
    const api = this.options.channel.api;
    for (const { action, event, count } of counts.values()) {
      this.options.metrics.delivered.inc(
        { api, action, event: this.options.metrics.eventLabel(event) },
        count,
      );
    }
  }

  private async sendAlone(item: Item): Promise<void> {
    const sent = await sendAlone(item, this.options);
    if (sent.kind === 'failed') this.requestFailed([item], sent.error);
    else if (sent.kind === 'sent-before') {
      // A redelivery or a replay: its effect is there already.
      this.options.metrics.ledgerSkipped.inc({ api: this.options.channel.api });
      this.delivered(item);
    } else {
      this.accepted();
      this.delivered(item, sent.deliveryId);
    }
  }

  /** A request was answered with success (200, or 207 with the others accepted). */
  private accepted(): void {
    this.health.accepted();
    // held permanent failures were the messages' own
    this.verdict.succeeded();
  }

  /** Held failures that were their messages' own: to the dead-letter topic. */
  private messagesAtFault(held: { item: Item; error: DeliveryError }[]): void {
    for (const { item, error } of held) {
      if (item.state !== 'suspect') continue;
      if (item.source.revoked) {
        this.dropHead(item);
        continue;
      }
      this.releaseHead(item);
      this.deadLetterItem(item, error);
    }
  }

  private endpointAtFault(error: DeliveryError, people: number, held: Item[]): void {
    this.health.endpointFailed(error, people);
    // Not the messages' fault: back to the head of their queues, no attempt counted.
    for (const item of held) {
      if (item.state !== 'suspect') continue;
      if (item.source.revoked) this.dropHead(item);
      else this.makeReady(item);
    }
  }

  private requestFailed(items: Item[], error: DeliveryError): void {
    const api = this.options.channel.api;
    if (error.authentication) this.health.credentialsFailed(error);
    if (error.errorClass === 'rate_limited') {
      this.options.metrics.throttled.inc({ api });
      void this.options.budget.throttled(error.retryAfterMs ?? this.options.defaultRetryAfterMs);
    }
    const now = this.now();
    for (const item of items) {
      const attempts = item.attempts + 1;
      const firstFailedAt = item.firstFailedAt ?? now;
      const outcome = decideOutcome({
        error,
        revoked: item.source.revoked,
        alone: item.single || !this.options.channel.sendBatch,
        attempts,
        firstFailedAt,
        now,
        endpointFaultStatus: this.health.endpointFaulted?.status,
        policy: this.options.retry,
      });
      if (outcome.kind === 'drop') {
        this.dropHead(item);
        continue;
      }
      if (outcome.kind === 'requeue' || outcome.kind === 'split') {
        // Not this message's fault, or its own verdict comes from sending it alone.
        if (outcome.kind === 'split') item.single = true;
        this.makeReady(item);
        continue;
      }
      item.attempts = attempts;
      item.firstFailedAt = firstFailedAt;
      item.lastFailedAt = now;
      if (outcome.kind === 'suspect') {
        // The person's later operations wait behind it, so their order holds either way.
        item.state = 'suspect';
        this.verdict.hold(item, error);
      } else if (outcome.kind === 'dead_letter') {
        this.releaseHead(item);
        this.deadLetterItem(item, error);
      } else {
        const labels = {
          api,
          action: item.op!.action,
          event: this.options.metrics.eventLabel(item.op!.event),
        };
        this.options.metrics.retried.inc({ ...labels, error_class: error.errorClass });
        this.scheduleRetry(item, outcome.delayMs);
      }
    }
  }

  private delivered(item: Item, deliveryId?: string): void {
    const op = item.op!;
    this.options.metrics.delivered.inc({
      api: this.options.channel.api,
      action: op.action,
      event: this.options.metrics.eventLabel(op.event),
    });
    this.releaseHead(item);
    this.settle(item, { outcome: 'delivered', status: 200, ...(deliveryId && { deliveryId }) });
  }

  /** Removes the item from the head of its person's queue and readies the next one. */
  private releaseHead(item: Item): void {
    const person = item.op!.person;
    if (this.persons.head(person) !== item) return;
    let next = this.persons.shift(person);
    // Queued items of a revoked partition are forgotten (its new owner delivers them).
    while (next?.source.revoked && next.state === 'queued') {
      next.state = 'settled';
      this.bufferedCount--;
      this.capacity.notify();
      next = this.persons.shift(person);
    }
    this.notifyDrained(person);
    if (next?.state === 'queued') this.makeReady(next);
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
    const write = this.deadLetters.write(letter).then(
      () => {
        this.options.metrics.deadLettered.inc(labels);
        this.settle(item, {
          outcome: 'dead_lettered',
          status: error.status ?? null,
          errorClass: error.errorClass,
        });
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

  private settle(item: Item, settlement: Settlement): void {
    if (item.state === 'settled') return;
    item.state = 'settled';
    this.options.onSettled?.(item, settlement);
    this.bufferedCount--;
    item.source.finish(item.envelope.offset);
    this.capacity.notify();
  }
}
