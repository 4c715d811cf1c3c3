import {
  createHttpApp,
  finishHttpApp,
  HttpError,
  parseJsonBody,
  type ReadinessChecks,
  readRawBody,
  requireJson,
} from '@cio-bridge/http';
import type { OutgoingMessage, TopicNames } from '@cio-bridge/kafka';
import type { Logger } from '@cio-bridge/logger';
import {
  type PredictionWebhook,
  type ReportingWebhook,
  type Validation,
  validatePredictionWebhook,
  validateReportingWebhook,
} from '@cio-bridge/schemas';
import {
  type Context,
  contextFromHeaders,
  disabledTracing,
  SpanKind,
  SpanStatusCode,
  type Tracing,
  trace,
  traceHeaders,
} from '@cio-bridge/tracing';
import type { Express, NextFunction, Request, RequestHandler, Response } from 'express';
import type { Registry } from 'prom-client';
import { isSuppressingEvent, predictionMessage, reportingMessage, suppressOperation } from './messages';
import { createWebhookMetrics, type Outcome, outcomeOfStatus, type PublishedKind } from './metrics';
import { MemoryReplayStore, type ReplayStore } from './replay-store';
import { verifyWebhook, webhookId } from './signature';

/** The part of `Publisher` the app needs: resolves once Kafka acknowledged (acks=all). */
export interface MessagePublisher {
  publish(topic: string, messages: OutgoingMessage[]): Promise<void>;
}

export interface WebhookAppOptions {
  logger: Logger;
  registry: Registry;
  publisher: MessagePublisher;
  topics: Pick<TopicNames, 'predictions' | 'reporting' | 'track'>;
  /** CIO_WEBHOOK_SIGNING_KEYS: every key that may have signed a request (rotation) */
  signingKeys: readonly string[];
  /** how far the signed timestamp may be from now, past or future (default 300 s) */
  toleranceSeconds?: number;
  /** remembers accepted webhooks for replay protection (default: in-process) */
  replayStore?: ReplayStore;
  /** publish a `suppress` operation for bounced or spammed emails (default off) */
  suppressOnBounce?: boolean;
  /** largest accepted body (default 256 KiB) */
  bodyLimitBytes?: number;
  /** how long an unconfirmed claim blocks a duplicate (covers the Kafka timeout; default 30 s) */
  claimTimeoutMs?: number;
  /** Retry-After of a 503, in seconds */
  retryAfterSeconds?: number;
  readiness?: ReadinessChecks;
  now?: () => number;
  /** spans for the signature check and the publish, carried on in the messages (default: off) */
  tracing?: Tracing;
}

export const WEBHOOK_PATHS = ['/webhooks/customer-io', '/api/webhooks/customer-io'] as const;

type Classified =
  | { kind: 'prediction'; value: PredictionWebhook }
  | { kind: 'reporting'; value: ReportingWebhook };

function describe(errors: { pointer: string; message: string }[]): string {
  return errors.map((e) => `${e.pointer || '/'} ${e.message}`).join('; ');
}

/**
 * A prediction webhook carries `user_id`/`predictions` (seed 2.2); everything else is
 * taken as a reporting event, whose schema then names what is missing.
 */
function classify(body: unknown): Classified {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new HttpError(400, 'the body must be a JSON object');
  const isPrediction = 'predictions' in body || 'user_id' in body;
  const result: Validation<PredictionWebhook> | Validation<ReportingWebhook> = isPrediction
    ? validatePredictionWebhook(body)
    : validateReportingWebhook(body);
  const kind = isPrediction ? 'prediction' : 'reporting';
  if (!result.ok)
    throw new HttpError(400, `invalid ${kind} webhook: ${describe(result.errors)}`, result.errors);
  return isPrediction
    ? { kind: 'prediction', value: result.value as PredictionWebhook }
    : { kind: 'reporting', value: result.value as ReportingWebhook };
}

/**
 * The webhook receiver: `POST /webhooks/customer-io` (and `/api/webhooks/customer-io`)
 * verifies Customer.io's signature on the raw body, validates, drops replays, publishes
 * to Kafka and answers 200 only once Kafka acknowledged (503 otherwise, so Customer.io
 * retries). Building it connects nothing.
 */
export function createApp(options: WebhookAppOptions): Express {
  const {
    logger,
    registry,
    publisher,
    topics,
    signingKeys,
    toleranceSeconds = 300,
    replayStore = new MemoryReplayStore(),
    suppressOnBounce = false,
    bodyLimitBytes = 256 * 1024,
    claimTimeoutMs = 30_000,
    retryAfterSeconds = 5,
    readiness = {},
    now = Date.now,
    tracing = disabledTracing,
  } = options;
  if (signingKeys.length === 0 || signingKeys.some((key) => key === ''))
    throw new Error('createApp: signingKeys must hold at least one non-empty key');

  const metrics = createWebhookMetrics(registry);
  // A replayed request can only pass verification while its timestamp is within the
  // tolerance, past or future: 2 x tolerance after acceptance covers every case.
  const replayWindowMs = 2 * toleranceSeconds * 1000;
  const unavailable = (message: string) =>
    new HttpError(503, message, undefined, { 'Retry-After': String(retryAfterSeconds) });
  // Counted when decided (so a request whose sender hung up still counts as what it
  // became); what no handler labels (body parser errors) is counted when answered.
  const setOutcome = (res: Response, outcome: Outcome) => {
    if (res.locals.outcome) return;
    res.locals.outcome = outcome;
    metrics.requests.inc({ outcome });
    const started = res.locals.started as bigint;
    metrics.duration.observe({ outcome }, Number(process.hrtime.bigint() - started) / 1e9);
  };

  const record: RequestHandler = (_req, res, next) => {
    res.locals.started = process.hrtime.bigint();
    res.on('finish', () => setOutcome(res, outcomeOfStatus(res.statusCode)));
    next();
  };

  // The signature is checked between reading and parsing, so nothing unsigned is parsed.
  const rawBody = readRawBody(bodyLimitBytes);

  const verify: RequestHandler = (req, res, next) => {
    // Between reading and parsing, the body is the raw Buffer.
    const raw: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const traced = tracing.enabled ? contextFromHeaders(req.headers) : undefined;
    if (traced) res.locals.trace = traced;
    const check = traced && tracing.tracer.startSpan('webhook check', { kind: SpanKind.SERVER }, traced);
    const result = verifyWebhook({
      keys: signingKeys,
      toleranceSeconds,
      timestampHeader: req.headers['x-cio-timestamp'],
      signatureHeader: req.headers['x-cio-signature'],
      body: raw,
      nowMs: now(),
    });
    check?.setAttribute('cio_bridge.webhook.outcome', result.ok ? 'verified' : result.outcome);
    check?.end();
    if (!result.ok) {
      setOutcome(res, result.outcome);
      logger.warn({ outcome: result.outcome, reason: result.reason, ip: req.ip }, 'webhook rejected');
      next(new HttpError(401, result.reason));
      return;
    }
    res.locals.signedTimestamp = result.timestamp;
    next();
  };

  const handle = async (req: Request, res: Response, _next: NextFunction) => {
    const raw = req.rawBody ?? Buffer.alloc(0);
    const receivedAt = now();
    let classified: Classified;
    try {
      classified = classify(req.body);
    } catch (error) {
      setOutcome(res, 'invalid');
      throw error;
    }
    const id = webhookId(raw);

    let claim: Awaited<ReturnType<ReplayStore['claim']>>;
    try {
      claim = await replayStore.claim(id, claimTimeoutMs);
    } catch (error) {
      setOutcome(res, 'unavailable');
      logger.error({ err: error, webhook_id: id }, 'replay store unavailable');
      throw unavailable('the replay store is unavailable; retry later');
    }
    if (claim === 'accepted') {
      setOutcome(res, 'replayed');
      logger.info({ webhook_id: id, kind: classified.kind }, 'webhook replayed: already published');
      res.json({ status: 'replayed', webhook_id: id });
      return;
    }
    if (claim === 'in_flight') {
      setOutcome(res, 'unavailable');
      throw unavailable('the same webhook is being processed; retry later');
    }

    const batches: { topic: string; kind: PublishedKind; message: OutgoingMessage }[] = [];
    if (classified.kind === 'prediction') {
      const signed = res.locals.signedTimestamp as number;
      batches.push({
        topic: topics.predictions,
        kind: 'prediction',
        message: predictionMessage(classified.value, signed, receivedAt, id),
      });
    } else {
      batches.push({
        topic: topics.reporting,
        kind: 'reporting',
        message: reportingMessage(classified.value, raw),
      });
      if (suppressOnBounce && isSuppressingEvent(classified.value)) {
        const suppress = suppressOperation(classified.value, receivedAt);
        if (suppress) batches.push({ topic: topics.track, kind: 'suppress', message: suppress });
      }
    }

    const endAck = metrics.kafkaAck.startTimer();
    const parent = res.locals.trace as Context | undefined;
    const span = parent && tracing.tracer.startSpan('publish webhook', { kind: SpanKind.PRODUCER }, parent);
    if (span) {
      const carried = traceHeaders(trace.setSpan(parent, span));
      for (const b of batches) b.message.headers = { ...b.message.headers, ...carried };
    }
    try {
      await Promise.all(batches.map((b) => publisher.publish(b.topic, [b.message])));
      endAck();
      span?.end();
    } catch (error) {
      endAck();
      span?.setStatus({ code: SpanStatusCode.ERROR });
      span?.end();
      await replayStore.release(id).catch((releaseError: unknown) => {
        logger.warn({ err: releaseError, webhook_id: id }, 'could not release the replay claim');
      });
      setOutcome(res, 'unavailable');
      logger.warn({ err: error, webhook_id: id }, 'Kafka did not acknowledge the webhook');
      throw unavailable('Kafka did not acknowledge the webhook; retry later');
    }
    for (const b of batches) metrics.published.inc({ kind: b.kind });
    // Published: the answer is 200 even if remembering it fails (a replay then publishes again).
    await replayStore.confirm(id, replayWindowMs).catch((error: unknown) => {
      logger.warn({ err: error, webhook_id: id }, 'could not record the webhook for replay protection');
    });
    setOutcome(res, 'accepted');
    logger.debug(
      { webhook_id: id, kind: classified.kind, topics: batches.map((b) => b.topic) },
      'webhook published',
    );
    res.json({ status: 'accepted', webhook_id: id });
  };

  const app = createHttpApp({ logger, registry, readiness });
  for (const path of WEBHOOK_PATHS)
    app.post(path, record, requireJson, rawBody, verify, parseJsonBody, handle);
  return finishHttpApp(app);
}
