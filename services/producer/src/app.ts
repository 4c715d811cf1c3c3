import {
  bearerAuth,
  createHttpApp,
  finishHttpApp,
  HttpError,
  type HttpNetworkOptions,
  jsonBody,
  type ReadinessChecks,
} from '@cio-bridge/http';
import {
  type OutgoingMessage,
  type Placement,
  PublishTimeoutError,
  type TopicNames,
  type Wait,
  type WaitTicket,
} from '@cio-bridge/kafka';
import type { Logger } from '@cio-bridge/logger';
import {
  eventName,
  type FieldError,
  identifierOf,
  jsonWithId,
  operationAction,
  operationIds,
  personKey,
  type TrackOperation,
  type TransactionalSend,
  validateTrackOperationJson,
  validateTransactionalSend,
} from '@cio-bridge/schemas';
import {
  context,
  contextFromHeaders,
  disabledTracing,
  SpanKind,
  SpanStatusCode,
  type Tracing,
  trace,
  traceHeaders,
} from '@cio-bridge/tracing';
import type { Express, Request, RequestHandler, Response } from 'express';
import type { Registry } from 'prom-client';
import {
  createProducerMetrics,
  createWaitMetrics,
  type Outcome,
  type ProducerMetrics,
  type WaitMetrics,
} from './metrics';
import { preferredWait } from './prefer';

/** Where the producer waits for the worker's replies (`ReplyInbox` from @cio-bridge/kafka). */
export interface ReplyWaiting {
  /** starts a wait for these operations and gives their reply header; undefined: cannot wait now */
  begin(ids: readonly string[]): WaitTicket | undefined;
}

/**
 * What the producer needs from Kafka: `publish` resolving once every message is
 * acknowledged (acks=all); `publishPlaced` also says where Kafka put each one (the span's
 * partition and offset).
 */
export interface MessagePublisher {
  publish(topic: string, messages: OutgoingMessage[]): Promise<void>;
  publishPlaced?(topic: string, messages: OutgoingMessage[]): Promise<(Placement | undefined)[]>;
}

export interface ProducerAppOptions {
  logger: Logger;
  registry: Registry;
  /** shares produce requests between concurrent requests (`Publisher` from @cio-bridge/kafka) */
  publisher: MessagePublisher;
  topics: Pick<TopicNames, 'track' | 'transactional'>;
  /** accepted bearer tokens */
  tokens: readonly string[];
  /** largest request body, in bytes (413 above); default 1 MiB */
  maxBodyBytes?: number;
  /** most operations in one batch; default 1,000 */
  maxBatchItems?: number;
  /** Retry-After on 503, in seconds; default 5 */
  retryAfterSeconds?: number;
  /**
   * Most message bytes waiting for Kafka's acknowledgement at once; above it
   * new requests get 503 at once (load shedding: memory stays bounded while
   * Kafka is slow or away). Default 32 MiB.
   */
  maxPendingBytes?: number;
  readiness?: ReadinessChecks;
  /** management port and trusted proxies (MANAGEMENT_PORT, TRUST_PROXY) */
  network?: HttpNetworkOptions;
  /** operation ids (default: monotonic ULIDs, so ids sort by acceptance time) */
  newId?: () => string;
  /** spans for publishes, continuing the caller's W3C trace; default: off */
  tracing?: Tracing;
  /** answers `Prefer: wait=N` (absent: the preference is ignored, every answer is 202) */
  waiting?: ReplyWaiting;
  /** longest honoured wait, in seconds (PRODUCER_MAX_WAIT_SECONDS); default 30 */
  maxWaitSeconds?: number;
  /** the wait metrics, when the composition root counts replies too; default: made here */
  waitMetrics?: WaitMetrics;
}

/** One problem in a request: which item (absent for the request's shape), where in it, and why. */
export interface ItemError extends FieldError {
  index?: number;
}

/** At most this many errors are listed in a 400 answer (the message gives the total). */
const MAX_LISTED_ERRORS = 100;
/** Messages per publish call; the publisher still combines calls into shared produce requests. */
const MESSAGES_PER_PUBLISH = 500;

/** Ready for Kafka: the ids, the messages and the metric labels; nothing else of the request is kept. */
interface Prepared {
  ids: string[];
  messages: OutgoingMessage[];
  labels: [action: string, event: string | undefined][];
  /** approximate size of the messages (keys and values) */
  bytes: number;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The producer's HTTP API: `POST /v1/track` (one Track operation or
 * `{"batch": [...]}`) and `POST /v1/transactional` (one App API send), each
 * validated whole, given ULID ids and answered 202 only once Kafka acknowledged
 * every message; plus /healthz, /readyz and /metrics. Never connects by itself.
 */
export function createApp(options: ProducerAppOptions): Express {
  const {
    logger,
    registry,
    publisher,
    topics,
    maxBodyBytes = 1024 * 1024,
    maxBatchItems = 1_000,
    retryAfterSeconds = 5,
    maxPendingBytes = 32 * 1024 * 1024,
  } = options;
  let pendingBytes = 0;
  const newId = options.newId ?? operationIds();
  const tracing = options.tracing ?? disabledTracing;
  const metrics: ProducerMetrics = createProducerMetrics(registry);
  const waitMetrics: WaitMetrics = options.waitMetrics ?? createWaitMetrics(registry);
  const maxWaitSeconds = options.maxWaitSeconds ?? 30;
  const app = createHttpApp({ logger, registry, readiness: options.readiness, ...options.network });
  const auth = bearerAuth(options.tokens);
  const body = jsonBody(maxBodyBytes);

  const invalid = (res: Response, errors: ItemError[]): HttpError => {
    res.locals.outcome = 'invalid' satisfies Outcome;
    const items = new Set(errors.map((e) => e.index)).size;
    const listed = errors.length > MAX_LISTED_ERRORS ? ` (the first ${MAX_LISTED_ERRORS} are listed)` : '';
    return new HttpError(
      400,
      `invalid request: ${errors.length} error(s) in ${items} item(s); nothing was published${listed}`,
      errors.slice(0, MAX_LISTED_ERRORS),
    );
  };

  /** Gives each item an id unless it has one; `json` is the item's JSON text when already known. */
  const prepare = <T extends { id?: string }>(
    items: { item: T; json?: string }[],
    keyOf: (item: T) => string,
    labelOf: (item: T) => [string, string | undefined],
  ): Prepared => {
    const prepared: Prepared = { ids: [], messages: [], labels: [], bytes: 0 };
    for (const { item, json } of items) {
      const id = item.id ?? newId();
      const value =
        item.id !== undefined
          ? (json ?? JSON.stringify(item))
          : json !== undefined
            ? jsonWithId(json, id)
            : JSON.stringify({ ...item, id });
      prepared.ids.push(id);
      prepared.labels.push(labelOf(item));
      const key = keyOf(item);
      prepared.bytes += key.length + value.length + id.length + 64;
      prepared.messages.push({ key, value, headers: { 'x-operation-id': id, 'x-producer': 'producer' } });
    }
    return prepared;
  };

  /**
   * With `Prefer: wait=N` and room to wait: a wait registered before publishing (a reply
   * can come back fast) and the reply header on every message; otherwise undefined.
   */
  const startWait = (req: Request, prepared: Prepared): { seconds: number; wait: Wait } | undefined => {
    const seconds = preferredWait(req.headers.prefer, maxWaitSeconds);
    if (seconds === undefined || !options.waiting) return undefined;
    const ticket = options.waiting.begin(prepared.ids);
    if (!ticket) {
      waitMetrics.waits.inc({ result: 'refused' });
      return undefined;
    }
    for (const message of prepared.messages) message.headers = { ...message.headers, ...ticket.headers };
    return { seconds, wait: ticket.wait };
  };

  /** Waits for the outcomes: 200 when all are known, 202 with `pending` ones when the time runs out. */
  const answerWhenKnown = async (
    res: Response,
    { seconds, wait }: { seconds: number; wait: Wait },
    deadline: number,
  ): Promise<void> => {
    waitMetrics.waiting.inc(wait.size);
    const answer = await wait.done(Math.max(0, deadline - Date.now())).finally(() => {
      waitMetrics.waiting.dec(wait.size);
    });
    waitMetrics.waits.inc({ result: answer.complete ? 'answered' : 'timed_out' });
    res
      .status(answer.complete ? 200 : 202)
      .set('Preference-Applied', `wait=${seconds}`)
      .json({ results: answer.results });
  };

  /** Publishes and answers 202 with the ids, or 503 + Retry-After (with the ids to retry with). */
  const publishAndAnswer = async (
    req: Request,
    res: Response,
    topic: string,
    prepared: Prepared,
  ): Promise<void> => {
    const received = Date.now();
    // Only the messages are needed from here on: let the parsed and raw body go
    // while Kafka acknowledges, so waiting requests hold as little memory as possible.
    req.body = undefined;
    req.rawBody = undefined;
    const { ids, messages, labels, bytes } = prepared;
    if (pendingBytes > 0 && pendingBytes + bytes > maxPendingBytes) {
      logger.warn({ pendingBytes, topic, count: ids.length }, 'too much waiting for Kafka: answering 503');
      res.locals.outcome = 'overloaded' satisfies Outcome;
      res
        .status(503)
        .set('Retry-After', String(retryAfterSeconds))
        .json({ error: 'too many messages are waiting for Kafka; nothing was published: retry later', ids });
      return;
    }
    const waiting = startWait(req, prepared);
    const started = process.hrtime.bigint();
    const chunks: OutgoingMessage[][] = [];
    for (let i = 0; i < messages.length; i += MESSAGES_PER_PUBLISH) {
      chunks.push(messages.slice(i, i + MESSAGES_PER_PUBLISH));
    }
    pendingBytes += bytes;
    metrics.pendingBytes(pendingBytes);
    // One PRODUCER `send <topic>` span per publish (the messaging conventions), a child of
    // the caller's trace; every message carries it on. Hand-written rather than kafkajs's
    // instrumentation: the Publisher batches many requests into one produce request, so a
    // span per produce request would not belong to any one caller's trace.
    const parent = tracing.enabled ? contextFromHeaders(req.headers) : undefined;
    const span = parent && tracing.tracer.startSpan(`send ${topic}`, sendSpan(topic, ids.length), parent);
    const inSpan = span && trace.setSpan(parent, span);
    if (inSpan) {
      const carried = traceHeaders(inSpan);
      for (const message of messages) message.headers = { ...message.headers, ...carried };
    }
    try {
      // One chunk after the other: a chunk published after an earlier one failed would put
      // a person's later operations on the topic before the earlier ones the client resends.
      // The publisher still shares produce requests between concurrent requests.
      const publishAll = async () => {
        const placements: (Placement | undefined)[] = [];
        for (const chunk of chunks) {
          if (publisher.publishPlaced) placements.push(...(await publisher.publishPlaced(topic, chunk)));
          else await publisher.publish(topic, chunk);
        }
        return placements;
      };
      const [first] = await (inSpan ? context.with(inSpan, publishAll) : publishAll());
      if (first) {
        // the first message's place (the conventions' attributes are per message)
        span?.setAttribute('messaging.destination.partition.id', String(first.partition));
        span?.setAttribute('messaging.kafka.offset', first.offset);
      }
      span?.end();
    } catch (error) {
      waiting?.wait.cancel();
      span?.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      span?.end();
      const retriable =
        error instanceof PublishTimeoutError || (error as { retriable?: unknown }).retriable !== false;
      if (!retriable) throw error;
      // inside the span, so the warning carries its trace_id and span_id
      context.with(inSpan ?? context.active(), () =>
        logger.warn({ err: error, topic, count: ids.length }, 'Kafka did not acknowledge: answering 503'),
      );
      res.locals.outcome = 'unavailable' satisfies Outcome;
      res
        .status(503)
        .set('Retry-After', String(retryAfterSeconds))
        .json({
          error: `Kafka did not acknowledge in time (${(error as Error).message}); the operations may or may not be published: retry with the same ids`,
          ids,
        });
      return;
    } finally {
      pendingBytes -= bytes;
      metrics.pendingBytes(pendingBytes);
    }
    metrics.observePublish(topic, Number(process.hrtime.bigint() - started) / 1e9);
    for (const [action, event] of labels) metrics.published(action, event);
    if (waiting) await answerWhenKnown(res, waiting, received + waiting.seconds * 1000);
    else res.status(202).json(ids.length === 1 ? { id: ids[0], ids } : { ids });
  };

  app.post('/v1/track', countOutcomes(metrics, '/v1/track'), auth, ...body, async (req, res) => {
    const items = trackItems(req.body, maxBatchItems);
    if (!items.ok) throw invalid(res, items.errors);
    const errors: ItemError[] = [];
    const ops: { item: TrackOperation; json: string }[] = [];
    items.items.forEach((item, index) => {
      const result = validateTrackOperationJson(item);
      if (result.ok) ops.push({ item: result.value, json: result.json });
      else for (const e of result.errors) errors.push({ index, pointer: e.pointer, message: e.message });
    });
    if (errors.length > 0) throw invalid(res, errors);
    const prepared = prepare(ops, personKey, (op) => [operationAction(op), eventName(op)]);
    await publishAndAnswer(req, res, topics.track, prepared);
  });

  app.post(
    '/v1/transactional',
    countOutcomes(metrics, '/v1/transactional'),
    auth,
    ...body,
    async (req, res) => {
      const result = validateTransactionalSend(req.body);
      if (!result.ok)
        throw invalid(
          res,
          result.errors.map((e) => ({ index: 0, ...e })),
        );
      const keyOf = (send: TransactionalSend) => identifierOf(send.identifiers)?.value ?? send.to;
      const prepared = prepare([{ item: result.value }], keyOf, () => ['transactional', undefined]);
      await publishAndAnswer(req, res, topics.transactional, prepared);
    },
  );

  return finishHttpApp(app);
}

/** The operations of a /v1/track body: the body itself, or its `batch`. */
function trackItems(
  body: unknown,
  maxBatchItems: number,
): { ok: true; items: unknown[] } | { ok: false; errors: ItemError[] } {
  if (!isRecord(body) || !('batch' in body)) return { ok: true, items: [body] };
  const extra = Object.keys(body).filter((key) => key !== 'batch');
  if (extra.length > 0) {
    return {
      ok: false,
      errors: extra.map((key) => ({ pointer: `/${key}`, message: 'is not allowed beside batch' })),
    };
  }
  const { batch } = body;
  if (!Array.isArray(batch) || batch.length === 0 || batch.length > maxBatchItems) {
    return {
      ok: false,
      errors: [{ pointer: '/batch', message: `must be an array of 1 to ${maxBatchItems} Track operations` }],
    };
  }
  return { ok: true, items: batch };
}

const outcomeOf = (status: number, marked: unknown): Outcome => {
  if (typeof marked === 'string') return marked as Outcome;
  if (status < 300) return 'accepted';
  if (status === 400) return 'malformed';
  if (status === 401) return 'unauthorized';
  if (status === 413) return 'too_large';
  if (status === 415) return 'unsupported_media_type';
  if (status === 503) return 'unavailable';
  return 'error';
};

function countOutcomes(metrics: ProducerMetrics, route: string): RequestHandler {
  return (_req, res, next) => {
    res.on('finish', () => metrics.request(route, outcomeOf(res.statusCode, res.locals.outcome)));
    next();
  };
}

/** The message key is a person's identifier: never an attribute. */
const sendSpan = (topic: string, count: number) => ({
  kind: SpanKind.PRODUCER,
  attributes: {
    'messaging.system': 'kafka',
    'messaging.operation.type': 'send',
    'messaging.destination.name': topic,
    'messaging.batch.message_count': count,
  },
});
