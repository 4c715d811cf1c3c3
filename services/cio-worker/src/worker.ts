import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  closeServer,
  createHttpApp,
  finishHttpApp,
  type HttpNetworkOptions,
  listen,
  managementRoutes,
  serve,
} from '@cio-bridge/http';
import { createConsumer, kafkaReadiness, Publisher, type TopicNames } from '@cio-bridge/kafka';
import type { Logger } from '@cio-bridge/logger';
import type { Tracing } from '@cio-bridge/tracing';
import type { Express } from 'express';
import type { Redis } from 'ioredis';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import { deadLetterWriter } from './delivery/dead-letter';
import {
  type Channel,
  type DeadLetter,
  DeliveryEngine,
  type Envelope,
  type Item,
  type Operation,
} from './delivery/engine';
import { LocalBudget, RedisBudget, type RequestBudget } from './delivery/rate-limit';
import { Receipts } from './delivery/receipts';
import { GrowingPause } from './delivery/retry-policy';
import { type EffectLedger, ledgerTtlMs, MemoryLedger, RedisLedger } from './delivery/transactional-ledger';
import { ValidationError } from './errors';
import { checkTrackAccount, type PreflightResult } from './health/preflight';
import { ConsumerPauses } from './intake/consumer-pauses';
import { OffsetTracker } from './intake/offset-tracker';
import { decodeTrack, decodeTransactional, type MessageCoordinates } from './intake/operation';
import { WorkerMetrics } from './metrics';
import { appChannel, type CustomerioOptions, trackChannel } from './output/customerio';
import { type OutputOptions, trackTopicChannel } from './output/output';
import { requestSpans } from './output/request-spans';
import { defaultTuning, type WorkerTuning } from './settings';

export interface WorkerDeps {
  /** the kafkajs client (its metadata answers readiness) */
  kafka: Kafka;
  /** the group consumer, not connected (`workerConsumer`); absent: created from `kafka` */
  consumer?: Consumer;
  /** the idempotent producer of dead letters, not connected (`workerProducer`); absent: created from `kafka` */
  producer?: Producer;
  /** `track` and `transactional` are consumed, `dlq` receives dead letters */
  topics: Pick<TopicNames, 'track' | 'transactional' | 'dlq'>;
  groupId: string;
  customerio: CustomerioOptions;
  /** where Track operations go (CIO_API) and how they are encoded; default: the Track API */
  output?: OutputOptions;
  /** Track API requests per second, across all instances (CIO_RATE_LIMIT_RPS) */
  rateLimitRps: number;
  logger: Logger;
  registry: Registry;
  /** shares the request budget between instances; without it each instance has its own */
  redis?: Redis;
  /**
   * an HTTP server of the caller's (main.ts listens and closes it): the worker serves
   * /healthz, /readyz, /metrics and /status on it
   */
  server?: Server;
  /** without `server`: listen on this port (0: any free one) at start and close at stop; neither: no HTTP */
  port?: number;
  /** management port and trusted proxies (MANAGEMENT_PORT, TRUST_PROXY) */
  network?: HttpNetworkOptions;
  tuning?: Partial<WorkerTuning>;
  /** the consumer failed for good (kafkajs gave up restarting it); main.ts exits */
  onFatal?: (error: Error) => void;
  /** publish a delivery receipt per operation to this topic (WORKER_RECEIPTS_TOPIC; receipts.ts) */
  receiptsTopic?: string;
  /** a span per Customer.io request, linked to the operations' traces (default: off) */
  tracing?: Tracing;
}

export interface WorkerStatus {
  /** Customer.io rejects the credentials of these APIs (consuming their topic is paused) */
  credentialsRejected: { track: boolean; app: boolean };
  /** partitions paused because one message holds their commit point and WORKER_MAX_UNCOMMITTED_PER_PARTITION offsets wait past it */
  heldPartitions: { topic: string; partition: number }[];
  /** per API with REDIS_URL: whether Redis is unavailable and this instance uses budget ÷ instances last seen */
  sharedBudget: Record<string, { fallback: boolean; instances: number; rps: number }>;
  /** CIO_REGION and the account's region as Customer.io reported it at start */
  region: { configured?: string; account?: string };
  /** the endpoint refuses every operation of these APIs (consuming their topic is paused) */
  endpointFault: { track: boolean; app: boolean };
  /** partitions paused because one person they carry holds more than WORKER_MAX_PER_PERSON */
  hotPartitions: { topic: string; partition: number }[];
  /** messages taken from Kafka and not yet delivered or dead-lettered */
  buffered: { track: number; app: number };
  stopping: boolean;
}

export interface Worker {
  /** Connects, joins the consumer group and starts delivering (and serving HTTP when `port` was given). */
  start(): Promise<void>;
  /** Stops fetching, lets requests in flight finish (bounded), commits, disconnects. */
  stop(): Promise<void>;
  /** the port of the HTTP server once started */
  readonly port: number | undefined;
  readonly app: Express;
  status(): WorkerStatus;
}

interface Route {
  topic: string;
  engine: DeliveryEngine;
  decode: (value: Buffer | null, at: MessageCoordinates) => Operation;
}

/** The worker's group consumer with its fetch settings (not connected). */
export function workerConsumer(
  kafka: Kafka,
  groupId: string,
  overrides: Partial<WorkerTuning> = {},
): Consumer {
  const tuning: WorkerTuning = { ...defaultTuning, ...overrides };
  return createConsumer(kafka, {
    groupId,
    sessionTimeout: tuning.sessionTimeoutMs,
    heartbeatInterval: Math.min(3_000, Math.floor(tuning.sessionTimeoutMs / 3)),
    // Modest fetches: decoded messages stay referenced until delivered, and with them
    // the whole fetch response they are slices of.
    maxBytes: tuning.fetchMaxBytes,
    maxBytesPerPartition: Math.max(64 * 1024, Math.floor(tuning.fetchMaxBytes / 8)),
  });
}

/** The worker's dead-letter producer: idempotent, one request in flight (not connected). */
export function workerProducer(kafka: Kafka): Producer {
  return kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
}

/** Messages decoded in one go before eachBatch yields to the event loop. */
const YIELD_EVERY = 64;

/**
 * The cio-worker: consumes Track operations and transactional sends and delivers them
 * to Customer.io (see DeliveryEngine for ordering, batching and retries), writes what
 * cannot be delivered to the dead-letter topic, and commits each partition only up to
 * the lowest message not yet delivered or dead-lettered. Creating it connects nothing.
 */
export function createWorker(deps: WorkerDeps): Worker {
  const tuning: WorkerTuning = { ...defaultTuning, ...deps.tuning };
  const logger = deps.logger;
  const metrics = new WorkerMetrics(deps.registry);
  const trackers = new Map<string, OffsetTracker>();
  const routes = new Map<string, Route>();
  const kafkaReady = kafkaReadiness(deps.kafka);
  const pauses = new ConsumerPauses(logger);

  let consumer: Consumer | undefined;
  let producer: Producer | undefined;
  let writeDeadLetter: ((letter: DeadLetter) => Promise<void>) | undefined;
  let receipts: Receipts | undefined;
  let server: Server | undefined;
  let commitTimer: NodeJS.Timeout | undefined;
  let committing: Promise<void> | undefined;
  let crashed: Error | undefined;
  let started = false;
  let stopping = false;
  let stopped: Promise<void> | undefined;
  /** the last answer of the start-up account check, while it is a fault */
  let preflightFault: Extract<PreflightResult, { ok: false }> | undefined;
  let accountRegion: string | undefined;
  const preflightStop = new AbortController();
  /** consumer group generations seen: a hot partition's resume belongs to one of them */
  let joins = 0;

  const sharedBudgets = new Map<'track' | 'app', RedisBudget>();
  const budget = (api: 'track' | 'app', rps: number): RequestBudget => {
    const options = { rps, utilisation: tuning.rateLimitUtilisation };
    if (!deps.redis) return new LocalBudget(options);
    const shared = new RedisBudget(
      deps.redis,
      `cio-bridge:rate-limit:${deps.customerio.siteId}:${api}`,
      options,
      logger,
      {
        redisTimeoutMs: Math.min(1_000, tuning.requestTimeoutMs),
        onFallback: (fallback) => metrics.budgetFallback.set({ api }, fallback ? 1 : 0),
      },
    );
    sharedBudgets.set(api, shared);
    return shared;
  };

  const ledgerTtl = ledgerTtlMs(tuning.maxRetryMs, tuning.dlqRetentionMs);
  const ledger: EffectLedger = deps.redis
    ? new RedisLedger(deps.redis, `cio-bridge:sent:${deps.customerio.siteId}`, ledgerTtl)
    : new MemoryLedger(ledgerTtl);

  const engineFor = (
    channel: Channel,
    rps: number,
    topic: string,
    { sendLedger, maxBatchBytes }: { sendLedger?: EffectLedger; maxBatchBytes?: number } = {},
  ): DeliveryEngine =>
    new DeliveryEngine({
      channel,
      ledger: sendLedger,
      ambiguous: tuning.transactionalAmbiguous,
      budget: budget(channel.api, rps),
      deadLetter: async (letter) => {
        if (!writeDeadLetter) throw new Error('the worker is not started');
        await writeDeadLetter(letter);
      },
      retry: tuning,
      metrics,
      logger: logger.child({ api: channel.api }),
      concurrency: tuning.concurrency,
      maxBatchOperations: tuning.maxBatchOperations,
      maxBatchBytes: Math.min(tuning.maxBatchBytes, maxBatchBytes ?? tuning.maxBatchBytes),
      authProbeMinMs: tuning.authProbeMinMs,
      authProbeMaxMs: tuning.authProbeMaxMs,
      defaultRetryAfterMs: tuning.defaultRetryAfterMs,
      onAuthRejected: () => pauses.pauseTopic(topic, 'credentials'),
      onAuthAccepted: () => {
        if (!stopping) pauses.resumeTopic(topic, 'credentials');
      },
      endpointVerdictMs: tuning.endpointVerdictMs,
      endpointFaultPeople: tuning.endpointFaultPeople,
      onDeadLetterBlocked: () => pauses.pauseTopic(topic, 'dead_letter'),
      onDeadLetterUnblocked: () => {
        if (!stopping) pauses.resumeTopic(topic, 'dead_letter');
      },
      onEndpointFault: () => pauses.pauseTopic(topic, 'endpoint'),
      onEndpointRecovered: () => {
        if (!stopping) pauses.resumeTopic(topic, 'endpoint');
      },
      onSettled: (item, settlement) => receipts?.record(item, settlement),
      onRequest: deps.tracing?.enabled ? requestSpans(deps.tracing, channel.api) : undefined,
    });

  const trackOut = trackTopicChannel(
    deps.output,
    () => trackChannel(deps.customerio, tuning.requestTimeoutMs, metrics),
    deps.customerio,
    tuning.requestTimeoutMs,
    metrics,
  );
  const trackRoute: Route = {
    topic: deps.topics.track,
    engine: engineFor(trackOut.channel, deps.rateLimitRps, deps.topics.track, {
      maxBatchBytes: trackOut.maxBatchBytes,
    }),
    decode: (value, at) => decodeTrack(value, at, tuning, deps.output),
  };
  routes.set(trackRoute.topic, trackRoute);
  const appApiKey = deps.customerio.appApiKey;
  const appRoute: Route | undefined = appApiKey
    ? {
        topic: deps.topics.transactional,
        engine: engineFor(
          appChannel({ ...deps.customerio, appApiKey }, tuning.requestTimeoutMs, metrics),
          tuning.appRateLimitRps,
          deps.topics.transactional,
          { sendLedger: ledger },
        ),
        decode: decodeTransactional,
      }
    : undefined;
  if (appRoute) routes.set(appRoute.topic, appRoute);

  /**
   * The person of `op` holds more than their bound: pause only the partition carrying
   * them, and resume it once their queue has drained to half the bound. Other people of
   * that partition wait with it; the other partitions keep flowing.
   */
  function pauseHotPartition(route: Route, partition: number, person: string): void {
    if (pauses.partitionPaused(route.topic, partition)) return;
    pauses.pausePartition(route.topic, partition, 'hot_person');
    metrics.hotPartitions.set({ topic: route.topic }, pauses.hotPartitions().length);
    logger.warn(
      { topic: route.topic, partition, bound: tuning.maxPerPerson },
      'one person holds more operations than WORKER_MAX_PER_PERSON: this partition is paused until they drain',
    );
    const generation = joins;
    void route.engine.whenBelow(person, Math.ceil(tuning.maxPerPerson / 2)).then(() => {
      if (generation !== joins || stopping) return;
      pauses.resumePartition(route.topic, partition, 'hot_person');
      metrics.hotPartitions.set({ topic: route.topic }, pauses.hotPartitions().length);
      logger.info({ topic: route.topic, partition }, 'the hot person drained: partition resumed');
    });
  }

  /**
   * The start-up account check (GET /api/v1/accounts/region with the Track credentials).
   * A refusal pauses the Track topic before anything is consumed, shows in readiness and
   * in one log line, and is asked again with growing pauses until it passes.
   */
  async function preflight(): Promise<boolean> {
    const result = await checkTrackAccount({
      trackUrl: deps.customerio.trackUrl,
      siteId: deps.customerio.siteId,
      apiKey: deps.customerio.apiKey,
      timeoutMs: tuning.requestTimeoutMs,
    });
    if (result.ok) {
      accountRegion = result.region;
      if (preflightFault) {
        logger.info('Customer.io accepts the Track API credentials and endpoint now');
        metrics.credentialsRejected.set({ api: 'track' }, 0);
        metrics.endpointFault.set({ api: 'track' }, 0);
        preflightFault = undefined;
        if (!stopping) pauses.resumeTopic(trackRoute.topic, 'preflight');
      }
      const configured = deps.customerio.region;
      if (configured && result.region !== configured) {
        logger.warn(
          { configured, account: result.region },
          `the Customer.io account is in region ${result.region}, not ${configured}: set CIO_REGION=${result.region}`,
        );
      }
      return true;
    }
    if (result.fault === 'unknown') {
      // Customer.io could not be asked: not a verdict; delivery finds out on its own.
      logger.warn({ reason: result.error.message }, 'could not check the Customer.io account at start');
      return true;
    }
    const first = !preflightFault;
    preflightFault = result;
    if (result.fault === 'credentials') {
      metrics.authFailures.inc({ api: 'track' });
      metrics.credentialsRejected.set({ api: 'track' }, 1);
    } else {
      metrics.endpointFault.set({ api: 'track' }, 1);
    }
    if (first) {
      logger.error(
        { status: result.error.status },
        `${preflightReason(result)}: consuming paused, checking again until it passes`,
      );
      pauses.pauseTopic(trackRoute.topic, 'preflight');
    }
    return false;
  }

  function preflightReason(result: Extract<PreflightResult, { ok: false }>): string {
    return result.fault === 'credentials'
      ? `Customer.io rejects the credentials of the Track API (CIO_SITE_ID, CIO_API_KEY) with ${result.error.status}`
      : `CIO_TRACK_URL does not answer as the Track API (${result.error.message})`;
  }

  async function preflightUntilPassed(): Promise<void> {
    const pause = new GrowingPause(tuning.authProbeMinMs, tuning.authProbeMaxMs);
    while (!stopping) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pause.next());
        preflightStop.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      if (stopping || (await preflight())) return;
    }
  }

  function trackerFor(topic: string, partition: number): OffsetTracker {
    const id = `${topic}\0${partition}`;
    let tracker = trackers.get(id);
    if (!tracker) {
      tracker = new OffsetTracker(topic, partition);
      trackers.set(id, tracker);
    }
    return tracker;
  }

  function itemOf(
    message: KafkaMessage,
    topic: string,
    partition: number,
    tracker: OffsetTracker,
    route: Route,
  ) {
    const envelope: Envelope = {
      topic,
      partition,
      offset: message.offset,
      timestamp: message.timestamp,
      key: message.key ?? null,
      value: message.value ?? null,
      headers: message.headers ?? {},
    };
    const item: Item = {
      envelope,
      attempts: 0,
      single: false,
      state: 'queued',
      source: tracker,
    };
    try {
      item.op = route.decode(envelope.value, envelope);
    } catch (error) {
      item.invalid =
        error instanceof ValidationError
          ? error
          : new ValidationError(`cannot decode: ${(error as Error).message}`);
      logger.warn(
        { topic, partition, offset: message.offset, reason: item.invalid.message },
        'invalid message: dead-lettering it',
      );
    }
    return item;
  }

  async function eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) {
    const { topic, partition } = batch;
    const route = routes.get(topic);
    if (!route) return;
    const tracker = trackerFor(topic, partition);
    tracker.highWatermark = batch.highWatermark;
    const go = () =>
      isRunning() &&
      !isStale() &&
      !stopping &&
      !pauses.topicPaused(topic) &&
      !pauses.partitionPaused(topic, partition);
    let sinceYield = 0;
    for (const message of batch.messages) {
      // Decoding is CPU work: let the senders and their answers in between.
      if (++sinceYield === YIELD_EVERY) {
        sinceYield = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      while (route.engine.buffered >= tuning.maxBuffered && go()) {
        await route.engine.waitForCapacity(tuning.maxBuffered, 1_000);
        await heartbeat();
      }
      if (!go()) break;
      if (tracker.size >= tuning.maxUncommittedPerPartition) {
        // One message holds the commit point (in back-off, or a dead letter that cannot be
        // written) while the rest of the partition flows: stop taking more of it until the
        // held stretch shrinks to half (checked at each commit tick).
        pauses.pausePartition(topic, partition, 'uncommitted');
        logger.warn(
          { topic, partition, held: tracker.size },
          'one message holds the partition’s commit point: partition paused until it moves',
        );
        break;
      }
      const item = itemOf(message, topic, partition, tracker, route);
      if (item.op && route.engine.queuedFor(item.op.person) >= tuning.maxPerPerson) {
        // Not taken: the partition is fetched again from here once it resumes.
        pauseHotPartition(route, partition, item.op.person);
        break;
      }
      tracker.add(message.offset);
      route.engine.add(item);
      // Taken: the next fetch starts after it. Committing is the tracker's business.
      resolveOffset(message.offset);
    }
    await heartbeat();
  }

  /** Resumes partitions paused for a held commit point once the held stretch is down to half. */
  function resumeUncommitted(): void {
    for (const { topic, partition } of pauses.pausedPartitions('uncommitted')) {
      const tracker = trackers.get(`${topic}\0${partition}`);
      if (tracker && tracker.size >= tuning.maxUncommittedPerPartition / 2) continue;
      pauses.resumePartition(topic, partition, 'uncommitted');
    }
  }

  /** Commits every partition's committable offset that moved. */
  function commit(): Promise<void> {
    if (committing) return committing;
    committing = (async () => {
      const offsets = [...trackers.values()]
        .map((tracker) => ({ tracker, offset: tracker.toCommit() }))
        .filter((entry): entry is { tracker: OffsetTracker; offset: string } => entry.offset !== undefined);
      if (offsets.length === 0 || !consumer) return;
      try {
        await consumer.commitOffsets(
          offsets.map(({ tracker, offset }) => ({
            topic: tracker.topic,
            partition: tracker.partition,
            offset,
          })),
        );
        for (const { tracker, offset } of offsets) tracker.markCommitted(offset);
      } catch (error) {
        logger.warn({ err: error }, 'committing offsets failed; trying again later');
      }
    })().finally(() => {
      committing = undefined;
    });
    return committing;
  }

  function updateGauges(): void {
    for (const route of routes.values()) metrics.inFlight.set({ topic: route.topic }, route.engine.buffered);
    for (const tracker of trackers.values()) {
      const next = tracker.committable();
      if (next === undefined || tracker.highWatermark === undefined) continue;
      const lag = Number(BigInt(tracker.highWatermark) - BigInt(next));
      metrics.lag.set({ topic: tracker.topic, partition: String(tracker.partition) }, Math.max(0, lag));
    }
  }

  /** After a rebalance kafkajs fetches from the committed offsets again: start each partition anew. */
  function onGroupJoin(): void {
    for (const tracker of trackers.values()) tracker.revoked = true;
    trackers.clear();
    metrics.lag.reset();
    let dropped = 0;
    for (const route of routes.values()) dropped += route.engine.dropRevoked();
    crashed = undefined;
    // Configuration faults keep their topics paused in the new generation; partitions
    // paused for a hot person start anew (the person's queued items were just dropped).
    joins++;
    pauses.rejoined();
    for (const route of routes.values()) metrics.hotPartitions.set({ topic: route.topic }, 0);
    logger.info({ dropped }, 'joined the consumer group');
  }

  const app = createHttpApp({
    logger,
    registry: deps.registry,
    ...deps.network,
    readiness: {
      // Redis away: still ready on budget ÷ instances last seen, and readiness says so.
      ...(deps.redis && {
        sharedBudget: () =>
          [...sharedBudgets.values()].some((shared) => shared.usingFallback) ? 'degraded' : undefined,
      }),
      kafka: async () => {
        if (crashed) throw new Error(`Kafka consumer failed: ${crashed.message}`);
        await kafkaReady();
      },
      customerio: () => {
        if (preflightFault) throw new Error(preflightReason(preflightFault));
        const faulted = [...routes.values()].filter((route) => route.engine.endpointFaulted);
        if (faulted.length > 0) {
          throw new Error(
            faulted
              .map(
                (route) =>
                  `Customer.io refuses every operation of the ${route === trackRoute ? 'Track API' : 'App API'} with ${route.engine.endpointFaulted?.status ?? route.engine.endpointFaulted?.errorClass} (check ${route === trackRoute ? 'CIO_TRACK_URL' : 'CIO_APP_URL'})`,
              )
              .join('; '),
          );
        }
        const rejected = [...routes.values()].filter((route) => route.engine.credentialsRejected);
        if (rejected.length > 0) {
          throw new Error(
            `Customer.io rejects the credentials (${rejected.map((r) => (r === trackRoute ? 'Track API' : 'App API')).join(', ')})`,
          );
        }
      },
      deadLetters: () => {
        const blocked = [...routes.values()].filter((route) => route.engine.deadLetterBlocked);
        if (blocked.length === 0) return;
        throw new Error(
          blocked
            .map((route) =>
              route.engine.deadLetterBlocked === 'too_large'
                ? `the dead-letter topic refuses a dead letter of ${route.topic} as too large: raise its max.message.bytes to at least the source topic's`
                : `the worker may not write to the dead-letter topic (${route.topic}'s dead letters): check its ACLs`,
            )
            .join('; '),
        );
      },
      worker: () => {
        if (stopping) throw new Error('stopping');
        if (!started) throw new Error('starting');
      },
    },
  });
  managementRoutes(app).get('/status', (_req, res) => {
    res.json(status());
  });
  finishHttpApp(app);

  function status(): WorkerStatus {
    return {
      credentialsRejected: {
        track: trackRoute.engine.credentialsRejected,
        app: appRoute?.engine.credentialsRejected ?? false,
      },
      hotPartitions: pauses.hotPartitions(),
      heldPartitions: pauses.pausedPartitions('uncommitted'),
      sharedBudget: Object.fromEntries(
        [...sharedBudgets].map(([api, shared]) => [
          api,
          { fallback: shared.usingFallback, instances: shared.instances, rps: shared.currentRps() },
        ]),
      ),
      region: { configured: deps.customerio.region, account: accountRegion },
      endpointFault: {
        track: trackRoute.engine.endpointFaulted !== undefined || preflightFault?.fault === 'endpoint',
        app: appRoute?.engine.endpointFaulted !== undefined,
      },
      buffered: { track: trackRoute.engine.buffered, app: appRoute?.engine.buffered ?? 0 },
      stopping,
    };
  }

  async function start(): Promise<void> {
    if (started || stopping) return;
    try {
      await connectAndRun();
    } catch (error) {
      // A stop() while starting disconnects what was created; that is not a failed start.
      if (!stopping) throw error;
    }
  }

  async function connectAndRun(): Promise<void> {
    if (deps.server) await serve(deps.server, app);
    else if (deps.port !== undefined) server = await listen(app, deps.port);
    producer = deps.producer ?? workerProducer(deps.kafka);
    await producer.connect();
    writeDeadLetter = deadLetterWriter(new Publisher({ producer }), producer, deps.topics.dlq, deps.groupId);
    if (deps.receiptsTopic)
      receipts = new Receipts({
        publisher: new Publisher({ producer }),
        topic: deps.receiptsTopic,
        logger,
        metrics,
      });

    if (stopping) return;
    if (!(await preflight())) void preflightUntilPassed();
    if (stopping) return;
    consumer = deps.consumer ?? workerConsumer(deps.kafka, deps.groupId, tuning);
    pauses.attach(consumer);
    consumer.on(consumer.events.GROUP_JOIN, onGroupJoin);
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      crashed = payload.error;
      logger.error({ err: payload.error, restart: payload.restart }, 'Kafka consumer crashed');
      if (!payload.restart && !stopping) deps.onFatal?.(payload.error);
    });
    await consumer.connect();
    if (stopping) return;
    for (const route of routes.values()) {
      // A new group starts at the beginning: nothing produced before the first deployment is lost.
      await consumer.subscribe({ topic: route.topic, fromBeginning: true });
    }
    if (appRoute && ledger.kind === 'memory') {
      logger.warn(
        'REDIS_URL is not set: the transactional send ledger is in-process; a crash or a rebalance may repeat a send (crash safety needs Redis)',
      );
    }
    if (!appRoute) {
      logger.warn(
        { topic: deps.topics.transactional },
        'CIO_APP_API_KEY is not set: transactional sends are not consumed',
      );
    }
    for (const route of routes.values()) route.engine.start();
    // Resolves once the group is joined; after a crash of a member that may take its session timeout.
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch });
    if (stopping) return;
    commitTimer = setInterval(() => {
      resumeUncommitted();
      updateGauges();
      void commit();
    }, tuning.commitIntervalMs);
    started = true;
    logger.info(
      {
        topics: [...routes.keys()],
        groupId: deps.groupId,
        rps: deps.rateLimitRps,
        sharedBudget: Boolean(deps.redis),
      },
      'cio-worker started',
    );
  }

  async function stop(): Promise<void> {
    stopped ??= (async () => {
      stopping = true;
      preflightStop.abort();
      const deadline = Date.now() + tuning.shutdownTimeoutMs;
      clearInterval(commitTimer);
      try {
        consumer?.pause([...routes.keys()].map((topic) => ({ topic })));
      } catch {
        // not running yet: nothing is being fetched
      }
      await Promise.all([...routes.values()].map((route) => route.engine.stop(deadline)));
      updateGauges();
      // A periodic commit still under way took its offsets before the engines finished:
      // let it end, then commit what finished since.
      await committing;
      await commit();
      await receipts?.flush();
      await consumer
        ?.disconnect()
        .catch((error: unknown) => logger.warn({ err: error }, 'consumer disconnect failed'));
      await producer
        ?.disconnect()
        .catch((error: unknown) => logger.warn({ err: error }, 'producer disconnect failed'));
      await kafkaReady.close();
      if (server) await closeServer(server);
      const handedBack = trackRoute.engine.buffered + (appRoute?.engine.buffered ?? 0);
      logger.info({ handedBack }, 'cio-worker stopped');
    })();
    return stopped;
  }

  return {
    start,
    stop,
    app,
    status,
    get port() {
      const serving = deps.server ?? server;
      const address = serving?.address();
      return address && typeof address === 'object' ? (address as AddressInfo).port : undefined;
    },
  };
}
