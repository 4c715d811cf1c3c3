import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Logger } from '@cio-bridge/logger';
import type { Consumer, EachBatchPayload, KafkaMessage } from 'kafkajs';
import type { Item, Operation } from '../delivery/types';
import { ValidationError } from '../errors';
import type { Api, FaultEvent } from '../health/faults';
import type { IntakeState } from '../health/health';
import type { WorkerMetrics } from '../metrics';
import type { WorkerTuning } from '../settings';
import { ConsumerPauses } from './consumer-pauses';
import { OffsetTracker } from './offset-tracker';
import type { MessageCoordinates } from './operation';

/** What the intake needs of the delivery engine its messages go to. */
export interface IntakeSink {
  /** items taken and not settled */
  readonly buffered: number;
  add(item: Item): void;
  queuedFor(person: string): number;
  whenBelow(person: string, below: number): Promise<void>;
  waitForCapacity(max: number, timeoutMs: number): Promise<void>;
  /** forgets the queued items of revoked partitions; returns how many */
  dropRevoked(): number;
}

/** One consumed topic: where its messages go and how they are decoded. */
export interface IntakeRoute {
  topic: string;
  api: Api;
  sink: IntakeSink;
  decode: (value: Buffer | null, at: MessageCoordinates) => Operation;
}

/** The parts of a kafkajs consumer the intake uses. */
export type IntakeConsumer = Pick<Consumer, 'pause' | 'resume' | 'commitOffsets' | 'on' | 'events'>;

export interface IntakeOptions {
  routes: IntakeRoute[];
  tuning: Pick<
    WorkerTuning,
    'maxBuffered' | 'maxPerPerson' | 'maxUncommittedPerPartition' | 'commitIntervalMs'
  >;
  metrics: WorkerMetrics;
  logger: Logger;
}

/** Messages decoded in one go before eachBatch yields to the event loop. */
const YIELD_EVERY = 64;

/**
 * What the worker takes from Kafka: it admits messages within the bounds (per topic,
 * per person, per partition past its commit point), tracks each partition's offsets,
 * commits what is finished on a timer, pauses what a configuration fault holds, and
 * starts each partition anew after a rebalance.
 */
export class Intake {
  private readonly routes = new Map<string, IntakeRoute>();
  private readonly trackers = new Map<string, OffsetTracker>();
  private readonly pauses: ConsumerPauses;
  private consumer: IntakeConsumer | undefined;
  private commitTimer: NodeJS.Timeout | undefined;
  private committing: Promise<void> | undefined;
  private stopping = false;
  /** consumer group generations seen: a hot partition's resume belongs to one of them */
  private joins = 0;

  constructor(private readonly options: IntakeOptions) {
    for (const route of options.routes) this.routes.set(route.topic, route);
    this.pauses = new ConsumerPauses(options.logger);
  }

  /** The topics consumed, in the order given. */
  get topics(): string[] {
    return [...this.routes.keys()];
  }

  /** Uses `consumer` for pauses and commits, and starts anew at each group join. */
  attach(consumer: IntakeConsumer): void {
    this.consumer = consumer;
    this.pauses.attach(consumer as Consumer);
    consumer.on(consumer.events.GROUP_JOIN, () => this.rejoined());
  }

  /** A fault subscriber: a configuration fault of an API pauses its topic until it clears. */
  readonly faultChanged = (event: FaultEvent): void => {
    for (const route of this.routes.values()) {
      if (route.api !== event.api) continue;
      if (event.raised) this.pauses.pauseTopic(route.topic, event.kind);
      else if (!this.stopping) this.pauses.resumeTopic(route.topic, event.kind);
    }
  };

  /** Commits what is finished every `commitIntervalMs` (and resumes partitions whose held stretch shrank). */
  startCommitting(): void {
    this.commitTimer ??= setInterval(() => {
      this.resumeUncommitted();
      this.updateGauges();
      void this.commit();
    }, this.options.tuning.commitIntervalMs);
  }

  /** Stops taking messages: the timer stops, every topic pauses, nothing resumes any more. */
  stop(): void {
    this.stopping = true;
    clearInterval(this.commitTimer);
    try {
      this.consumer?.pause(this.topics.map((topic) => ({ topic })));
    } catch {
      // not running yet: nothing is being fetched
    }
  }

  /** After delivery stopped: lets a commit under way end, then commits what finished since. */
  async finish(): Promise<void> {
    this.updateGauges();
    await this.committing;
    await this.commit();
  }

  state(): IntakeState {
    const bufferedOf = (api: Api) =>
      [...this.routes.values()].filter((route) => route.api === api).reduce((n, r) => n + r.sink.buffered, 0);
    return {
      hotPartitions: this.pauses.hotPartitions(),
      heldPartitions: this.pauses.pausedPartitions('uncommitted'),
      buffered: { track: bufferedOf('track'), app: bufferedOf('app') },
    };
  }

  /** kafkajs's eachBatch: admits the batch's messages as far as the bounds allow. */
  readonly eachBatch = async ({
    batch,
    resolveOffset,
    heartbeat,
    isRunning,
    isStale,
  }: EachBatchPayload): Promise<void> => {
    const { topic, partition } = batch;
    const route = this.routes.get(topic);
    if (!route) return;
    const { tuning, logger } = this.options;
    const tracker = this.trackerFor(topic, partition);
    tracker.highWatermark = batch.highWatermark;
    const go = () =>
      isRunning() &&
      !isStale() &&
      !this.stopping &&
      !this.pauses.topicPaused(topic) &&
      !this.pauses.partitionPaused(topic, partition);
    let sinceYield = 0;
    for (const message of batch.messages) {
      // Decoding is CPU work: let the senders and their answers in between.
      if (++sinceYield === YIELD_EVERY) {
        sinceYield = 0;
        await yieldToLoop();
      }
      while (route.sink.buffered >= tuning.maxBuffered && go()) {
        await route.sink.waitForCapacity(tuning.maxBuffered, 1_000);
        await heartbeat();
      }
      if (!go()) break;
      if (tracker.size >= tuning.maxUncommittedPerPartition) {
        // One message holds the commit point (in back-off, or a dead letter that cannot be
        // written) while the rest of the partition flows: stop taking more of it until the
        // held stretch shrinks to half (checked at each commit tick).
        this.pauses.pausePartition(topic, partition, 'uncommitted');
        logger.warn(
          { topic, partition, held: tracker.size },
          'one message holds the partition’s commit point: partition paused until it moves',
        );
        break;
      }
      const item = this.itemOf(message, topic, partition, tracker, route);
      if (item.op && route.sink.queuedFor(item.op.person) >= tuning.maxPerPerson) {
        // Not taken: the partition is fetched again from here once it resumes.
        this.pauseHotPartition(route, partition, item.op.person);
        break;
      }
      tracker.add(message.offset);
      route.sink.add(item);
      // Taken: the next fetch starts after it. Committing is the tracker's business.
      resolveOffset(message.offset);
    }
    await heartbeat();
  };

  /** Commits every partition's committable offset that moved. */
  commit(): Promise<void> {
    if (this.committing) return this.committing;
    this.committing = (async () => {
      const offsets = [...this.trackers.values()]
        .map((tracker) => ({ tracker, offset: tracker.toCommit() }))
        .filter((entry): entry is { tracker: OffsetTracker; offset: string } => entry.offset !== undefined);
      if (offsets.length === 0 || !this.consumer) return;
      try {
        await this.consumer.commitOffsets(
          offsets.map(({ tracker, offset }) => ({
            topic: tracker.topic,
            partition: tracker.partition,
            offset,
          })),
        );
        for (const { tracker, offset } of offsets) tracker.markCommitted(offset);
      } catch (error) {
        this.options.logger.warn({ err: error }, 'committing offsets failed; trying again later');
      }
    })().finally(() => {
      this.committing = undefined;
    });
    return this.committing;
  }

  /**
   * The person of `op` holds more than their bound: pause only the partition carrying
   * them, and resume it once their queue has drained to half the bound. Other people of
   * that partition wait with it; the other partitions keep flowing.
   */
  private pauseHotPartition(route: IntakeRoute, partition: number, person: string): void {
    const { tuning, metrics, logger } = this.options;
    if (this.pauses.partitionPaused(route.topic, partition)) return;
    this.pauses.pausePartition(route.topic, partition, 'hot_person');
    metrics.hotPartitions.set({ topic: route.topic }, this.pauses.hotPartitions().length);
    logger.warn(
      { topic: route.topic, partition, bound: tuning.maxPerPerson },
      'one person holds more operations than WORKER_MAX_PER_PERSON: this partition is paused until they drain',
    );
    const generation = this.joins;
    void route.sink.whenBelow(person, Math.ceil(tuning.maxPerPerson / 2)).then(() => {
      if (generation !== this.joins || this.stopping) return;
      this.pauses.resumePartition(route.topic, partition, 'hot_person');
      metrics.hotPartitions.set({ topic: route.topic }, this.pauses.hotPartitions().length);
      logger.info({ topic: route.topic, partition }, 'the hot person drained: partition resumed');
    });
  }

  /** Resumes partitions paused for a held commit point once the held stretch is down to half. */
  private resumeUncommitted(): void {
    for (const { topic, partition } of this.pauses.pausedPartitions('uncommitted')) {
      const tracker = this.trackers.get(`${topic}\0${partition}`);
      if (tracker && tracker.size >= this.options.tuning.maxUncommittedPerPartition / 2) continue;
      this.pauses.resumePartition(topic, partition, 'uncommitted');
    }
  }

  private updateGauges(): void {
    const { metrics } = this.options;
    for (const route of this.routes.values())
      metrics.inFlight.set({ topic: route.topic }, route.sink.buffered);
    for (const tracker of this.trackers.values()) {
      const next = tracker.committable();
      if (next === undefined || tracker.highWatermark === undefined) continue;
      const lag = Number(BigInt(tracker.highWatermark) - BigInt(next));
      metrics.lag.set({ topic: tracker.topic, partition: String(tracker.partition) }, Math.max(0, lag));
    }
  }

  /** After a rebalance kafkajs fetches from the committed offsets again: start each partition anew. */
  private rejoined(): void {
    const { metrics, logger } = this.options;
    for (const tracker of this.trackers.values()) tracker.revoked = true;
    this.trackers.clear();
    metrics.lag.reset();
    let dropped = 0;
    for (const route of this.routes.values()) dropped += route.sink.dropRevoked();
    // Configuration faults keep their topics paused in the new generation; partitions
    // paused for a hot person start anew (the person's queued items were just dropped).
    this.joins++;
    this.pauses.rejoined();
    for (const route of this.routes.values()) metrics.hotPartitions.set({ topic: route.topic }, 0);
    logger.info({ dropped }, 'joined the consumer group');
  }

  private trackerFor(topic: string, partition: number): OffsetTracker {
    const id = `${topic}\0${partition}`;
    let tracker = this.trackers.get(id);
    if (!tracker) {
      tracker = new OffsetTracker(topic, partition);
      this.trackers.set(id, tracker);
    }
    return tracker;
  }

  private itemOf(
    message: KafkaMessage,
    topic: string,
    partition: number,
    tracker: OffsetTracker,
    route: IntakeRoute,
  ): Item {
    const envelope = {
      topic,
      partition,
      offset: message.offset,
      timestamp: message.timestamp,
      key: message.key ?? null,
      value: message.value ?? null,
      headers: message.headers ?? {},
    };
    const item: Item = { envelope, attempts: 0, single: false, state: 'queued', source: tracker };
    try {
      item.op = route.decode(envelope.value, envelope);
    } catch (error) {
      item.invalid =
        error instanceof ValidationError
          ? error
          : new ValidationError(`cannot decode: ${(error as Error).message}`);
      this.options.logger.warn(
        { topic, partition, offset: message.offset, reason: item.invalid.message },
        'invalid message: dead-lettering it',
      );
    }
    return item;
  }
}
