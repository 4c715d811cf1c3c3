import { createHash } from 'node:crypto';
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
import { createConsumer, kafkaReadiness, Publisher, TOPICS, type TopicNames } from '@cio-bridge/kafka';
import type { Logger } from '@cio-bridge/logger';
import type { Tracing } from '@cio-bridge/tracing';
import type { Express } from 'express';
import type { Redis } from 'ioredis';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import { deadLetterWriter } from './delivery/dead-letter';
import { type Channel, type DeadLetter, DeliveryEngine } from './delivery/engine';
import { LocalBudget, RedisBudget, type RequestBudget } from './delivery/rate-limit';
import { Receipts } from './delivery/receipts';
import { Replies } from './delivery/replies';
import { type EffectLedger, ledgerTtlMs, transactionalLedger } from './delivery/transactional-ledger';
import { API_NAMES } from './health/api-health';
import type { Api } from './health/faults';
import { WorkerHealth, type WorkerStatus } from './health/health';
import { Intake, type IntakeRoute } from './intake/intake';
import { decodeTrack, decodeTransactional } from './intake/operation';
import { createWorkerMetrics } from './metrics';
import { appChannel, type CustomerioOptions, trackChannel } from './output/customerio';
import { type OutputOptions, trackTopicChannel } from './output/output';
import { requestSpans } from './output/request-spans';
import { defaultTuning, type WorkerTuning } from './settings';

export type { WorkerStatus } from './health/health';

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
  /** replies to waiting callers go here (KAFKA_TOPIC_REPLIES; replies.ts); default: the catalog's */
  repliesTopic?: string;
  /** a span per Customer.io request, linked to the operations' traces (default: off) */
  tracing?: Tracing;
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

/**
 * Whose request budget and send ledger these are in Redis: the Track API's site id, or
 * in a Pipelines-only workspace a digest of its key (the key itself never goes there).
 */
function workspaceKey(deps: WorkerDeps): string {
  if (deps.customerio.siteId) return deps.customerio.siteId;
  const key = deps.output?.pipelines?.apiKey ?? '';
  return `pipelines-${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
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

/**
 * The cio-worker: consumes Track operations and transactional sends (the intake) and
 * delivers them to Customer.io (a DeliveryEngine per topic), writes what cannot be
 * delivered to the dead-letter topic, and commits each partition only up to the lowest
 * message not yet delivered or dead-lettered. Configuration faults are raised on
 * health's fault events, which pause consuming. This function only wires the pieces;
 * creating it connects nothing.
 */
export function createWorker(deps: WorkerDeps): Worker {
  const tuning: WorkerTuning = { ...defaultTuning, ...deps.tuning };
  const logger = deps.logger;
  const metrics = createWorkerMetrics(deps.registry);
  const kafkaReady = kafkaReadiness(deps.kafka);
  const appApiKey = deps.customerio.appApiKey;
  const sharedBudgets = new Map<Api, RedisBudget>();
  // CIO_API=pipelines sends nothing to the Track API, not even the start-up account check.
  const usesTrackApi = deps.output?.api !== 'pipelines';
  const workspace = workspaceKey(deps);
  const ledgerTtl = ledgerTtlMs(tuning.maxRetryMs, tuning.dlqRetentionMs);
  const { ledger, ledgerRedis } = transactionalLedger({
    redis: deps.redis,
    prefix: `cio-bridge:sent:${workspace}`,
    ttlMs: ledgerTtl,
    timeoutMs: Math.min(1_000, tuning.requestTimeoutMs),
    logger,
    metrics,
  });
  const health = new WorkerHealth({
    customerio: deps.customerio,
    tuning,
    metrics,
    logger,
    topics: { track: deps.topics.track, ...(appApiKey && { app: deps.topics.transactional }) },
    kafkaReady,
    sharedBudgets: deps.redis ? sharedBudgets : undefined,
    ledgerRedis,
    names: { track: usesTrackApi ? API_NAMES.track : API_NAMES.pipelines, app: API_NAMES.app },
    checkAccount: usesTrackApi,
  });

  let consumer: Consumer | undefined;
  let producer: Producer | undefined;
  let writeDeadLetter: ((letter: DeadLetter) => Promise<void>) | undefined;
  let receipts: Receipts | undefined;
  let replies: Replies | undefined;
  let server: Server | undefined;
  let stopped: Promise<void> | undefined;

  const budget = (api: Api, rps: number): RequestBudget => {
    const options = { rps, utilisation: tuning.rateLimitUtilisation };
    if (!deps.redis) return new LocalBudget(options);
    const shared = new RedisBudget(deps.redis, `cio-bridge:rate-limit:${workspace}:${api}`, options, logger, {
      redisTimeoutMs: Math.min(1_000, tuning.requestTimeoutMs),
      onFallback: (fallback) => metrics.budgetFallback.set({ api }, fallback ? 1 : 0),
    });
    sharedBudgets.set(api, shared);
    return shared;
  };

  // where each channel's requests go, for the HTTP spans' server.address
  const serverUrlOf = (channel: Channel): string =>
    channel.api === 'app'
      ? deps.customerio.appUrl
      : deps.output?.api === 'pipelines' && deps.output.pipelines
        ? deps.output.pipelines.url
        : deps.customerio.trackUrl;

  const engineFor = (
    channel: Channel,
    rps: number,
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
      health: health.api(channel.api),
      concurrency: tuning.concurrency,
      maxBatchOperations: tuning.maxBatchOperations,
      maxBatchBytes: Math.min(tuning.maxBatchBytes, maxBatchBytes ?? tuning.maxBatchBytes),
      authProbeMinMs: tuning.authProbeMinMs,
      authProbeMaxMs: tuning.authProbeMaxMs,
      defaultRetryAfterMs: tuning.defaultRetryAfterMs,
      endpointVerdictMs: tuning.endpointVerdictMs,
      endpointFaultPeople: tuning.endpointFaultPeople,
      onSettled: (item, settlement) => {
        receipts?.record(item, settlement);
        replies?.record(item, settlement);
      },
      onRequest: deps.tracing?.enabled ? requestSpans(deps.tracing, serverUrlOf(channel)) : undefined,
    });

  const trackOut = trackTopicChannel(
    deps.output,
    () => trackChannel(deps.customerio, tuning.requestTimeoutMs, metrics),
    deps.customerio,
    tuning.requestTimeoutMs,
    metrics,
  );
  const engines: DeliveryEngine[] = [];
  const routes: IntakeRoute[] = [];
  const trackEngine = engineFor(trackOut.channel, deps.rateLimitRps, {
    maxBatchBytes: trackOut.maxBatchBytes,
  });
  engines.push(trackEngine);
  routes.push({
    topic: deps.topics.track,
    api: 'track',
    sink: trackEngine,
    decode: (value, at) => decodeTrack(value, at, tuning, deps.output),
  });
  if (appApiKey) {
    const appEngine = engineFor(
      appChannel({ ...deps.customerio, appApiKey }, tuning.requestTimeoutMs, metrics),
      tuning.appRateLimitRps,
      { sendLedger: ledger },
    );
    engines.push(appEngine);
    routes.push({
      topic: deps.topics.transactional,
      api: 'app',
      sink: appEngine,
      decode: decodeTransactional,
    });
  }
  const intake = new Intake({ routes, tuning, metrics, logger });
  // A configuration fault pauses its topic; health keeps it for readiness and /status.
  health.faults.subscribe(intake.faultChanged);

  const app = createHttpApp({
    logger,
    registry: deps.registry,
    ...deps.network,
    readiness: health.readiness(),
  });
  managementRoutes(app).get('/status', (_req, res) => {
    res.json(status());
  });
  finishHttpApp(app);

  const status = (): WorkerStatus => health.status(intake.state());

  async function start(): Promise<void> {
    if (stopped) return;
    try {
      await connectAndRun();
    } catch (error) {
      // A stop() while starting disconnects what was created; that is not a failed start.
      if (!health.isStopping) throw error;
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
    replies = new Replies({
      publisher: new Publisher({ producer }),
      topic: deps.repliesTopic ?? TOPICS.replies.name,
      logger,
      metrics,
    });

    if (health.isStopping) return;
    if (!(await health.preflight())) void health.preflightUntilPassed();
    if (health.isStopping) return;
    consumer = deps.consumer ?? workerConsumer(deps.kafka, deps.groupId, tuning);
    intake.attach(consumer);
    consumer.on(consumer.events.GROUP_JOIN, () => health.consumerJoined());
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      health.consumerCrashed(payload.error);
      logger.error({ err: payload.error, restart: payload.restart }, 'Kafka consumer crashed');
      if (!payload.restart && !health.isStopping) deps.onFatal?.(payload.error);
    });
    await consumer.connect();
    if (health.isStopping) return;
    for (const topic of intake.topics) {
      // A new group starts at the beginning: nothing produced before the first deployment is lost.
      await consumer.subscribe({ topic, fromBeginning: true });
    }
    if (appApiKey && ledger.kind === 'memory') {
      logger.warn(
        'REDIS_URL is not set: the transactional send ledger is in-process; a crash or a rebalance may repeat a send (crash safety needs Redis)',
      );
    }
    if (!appApiKey) {
      logger.warn(
        { topic: deps.topics.transactional },
        'CIO_APP_API_KEY is not set: transactional sends are not consumed',
      );
    }
    for (const engine of engines) engine.start();
    // Resolves once the group is joined; after a crash of a member that may take its session timeout.
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: intake.eachBatch });
    if (health.isStopping) return;
    intake.startCommitting();
    health.started();
    logger.info(
      {
        topics: intake.topics,
        groupId: deps.groupId,
        rps: deps.rateLimitRps,
        sharedBudget: Boolean(deps.redis),
      },
      'cio-worker started',
    );
  }

  async function stop(): Promise<void> {
    stopped ??= (async () => {
      health.stopping();
      intake.stop();
      const deadline = Date.now() + tuning.shutdownTimeoutMs;
      await Promise.all(engines.map((engine) => engine.stop(deadline)));
      await intake.finish();
      await receipts?.flush();
      await replies?.flush();
      await consumer
        ?.disconnect()
        .catch((error: unknown) => logger.warn({ err: error }, 'consumer disconnect failed'));
      await producer
        ?.disconnect()
        .catch((error: unknown) => logger.warn({ err: error }, 'producer disconnect failed'));
      await kafkaReady.close();
      ledgerRedis?.close();
      if (server) await closeServer(server);
      const handedBack = engines.reduce((n, engine) => n + engine.buffered, 0);
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
