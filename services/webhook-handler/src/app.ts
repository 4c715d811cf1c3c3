import {
  createHttpApp,
  finishHttpApp,
  HttpError,
  type HttpNetworkOptions,
  parseJsonBody,
  type ReadinessChecks,
  readRawBody,
  requireJson,
} from '@cio-bridge/http';
import type { OutgoingMessage } from '@cio-bridge/kafka';
import type { Logger } from '@cio-bridge/logger';
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
import type { PredictionsAuth } from './config';
import {
  checkJourneyCredential,
  hasJourneyCredentials,
  type JourneyCredentials,
  noJourneyCredentials,
} from './journey-auth';
import { createWebhookMetrics, type Outcome, outcomeOfStatus } from './metrics';
import { MemoryReplayStore, type ReplayStore } from './replay-store';
import { type RouteTopics, routeWebhook } from './route';
import { verifyWebhook, webhookId } from './signature';
import type { SourceAllowlist } from './source-allowlist';

/** The part of `Publisher` the app needs: resolves once Kafka acknowledged (acks=all). */
export interface MessagePublisher {
  publish(topic: string, messages: OutgoingMessage[]): Promise<void>;
}

export interface WebhookAppOptions {
  logger: Logger;
  registry: Registry;
  publisher: MessagePublisher;
  topics: RouteTopics;
  /** CIO_WEBHOOK_SIGNING_KEYS: every key that may have signed a request (rotation); may be empty with journey credentials */
  signingKeys: readonly string[];
  /** WEBHOOK_BASIC_AUTH and WEBHOOK_HEADER_SECRETS: what a journey's webhook action authenticates with */
  journey?: JourneyCredentials;
  /** WEBHOOK_PREDICTIONS_AUTH (default `either` with journey credentials, `signature` without) */
  predictionsAuth?: PredictionsAuth;
  /** WEBHOOK_ALLOWED_SOURCES: requests from other addresses get 403 before anything is read */
  allowedSources?: SourceAllowlist;
  /** how long a journey webhook's body is remembered against replays (default 24 h) */
  journeyReplayWindowMs?: number;
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
  /**
   * WEBHOOK_PUBLISH_TIMEOUT_MS: the longest wait for Kafka's acknowledgement before
   * answering 503, well inside Customer.io's 4 s timeout (default 2500)
   */
  publishTimeoutMs?: number;
  /** Retry-After of a 503, in seconds */
  retryAfterSeconds?: number;
  readiness?: ReadinessChecks;
  /** management port and trusted proxies (MANAGEMENT_PORT, TRUST_PROXY) */
  network?: HttpNetworkOptions;
  now?: () => number;
  /** spans for the signature check and the publish, carried on in the messages (default: off) */
  tracing?: Tracing;
}

export const WEBHOOK_PATHS = ['/webhooks/customer-io', '/api/webhooks/customer-io'] as const;

/**
 * The webhook receiver: `POST /webhooks/customer-io` (and `/api/webhooks/customer-io`)
 * verifies Customer.io's signature on the raw body, drops replays, routes (route.ts),
 * publishes to Kafka and answers 200 only once Kafka acknowledged (503 otherwise, so
 * Customer.io retries). A correctly signed JSON body is never refused for its content:
 * Customer.io would hold every later webhook behind it. Building it connects nothing.
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
    publishTimeoutMs = 2_500,
    retryAfterSeconds = 5,
    readiness = {},
    now = Date.now,
    tracing = disabledTracing,
    journey = noJourneyCredentials,
    allowedSources,
    journeyReplayWindowMs = 24 * 60 * 60 * 1000,
  } = options;
  const journeyEnabled = hasJourneyCredentials(journey);
  const predictionsAuth = options.predictionsAuth ?? (journeyEnabled ? 'either' : 'signature');
  if ((signingKeys.length === 0 && !journeyEnabled) || signingKeys.some((key) => key === ''))
    throw new Error(
      'createApp: signingKeys must hold at least one non-empty key (or give journey credentials)',
    );
  // A 401 for a journey webhook tells the sender how to authenticate.
  const challenge: Record<string, string> =
    journey.basic.length > 0
      ? { 'WWW-Authenticate': 'Basic realm="cio-bridge webhooks", charset="UTF-8"' }
      : {};

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

  // Before anything else is read: the allowlist answers from the client address alone.
  const allowSource: RequestHandler = (req, res, next) => {
    if (!allowedSources || allowedSources.allows(req.ip)) {
      next();
      return;
    }
    setOutcome(res, 'forbidden');
    logger.warn({ ip: req.ip }, 'webhook refused: the source address is not in WEBHOOK_ALLOWED_SOURCES');
    next(new HttpError(403, 'the source address is not allowed to send webhooks'));
  };

  /**
   * Authentic is a valid signature or a valid journey credential. With signing keys
   * only, this is exactly the signature check. Which kind of webhook each may carry is
   * decided once the body is parsed (`authorised`).
   */
  const verify: RequestHandler = (req, res, next) => {
    // Between reading and parsing, the body is the raw Buffer.
    const raw: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const traced = tracing.enabled ? contextFromHeaders(req.headers) : undefined;
    if (traced) res.locals.trace = traced;
    const check = traced && tracing.tracer.startSpan('webhook check', { kind: SpanKind.SERVER }, traced);
    const signatureSent =
      req.headers['x-cio-signature'] !== undefined || req.headers['x-cio-timestamp'] !== undefined;
    const result =
      signingKeys.length > 0 && (signatureSent || !journeyEnabled)
        ? verifyWebhook({
            keys: signingKeys,
            toleranceSeconds,
            timestampHeader: req.headers['x-cio-timestamp'],
            signatureHeader: req.headers['x-cio-signature'],
            body: raw,
            nowMs: now(),
          })
        : undefined;
    const journeyCheck = journeyEnabled ? checkJourneyCredential(journey, req.headers) : 'absent';
    const signed = result?.ok === true;
    const authentic = signed || journeyCheck === 'valid';
    check?.setAttribute('cio_bridge.webhook.outcome', authentic ? 'verified' : 'rejected');
    check?.end();
    if (!authentic) {
      // A signature that was sent (or the only way in) answers with its own reason.
      const bySignature = result && !result.ok && (signatureSent || !journeyEnabled) ? result : undefined;
      const refused = bySignature?.outcome ?? 'bad_credentials';
      const reason =
        bySignature?.reason ??
        (journeyCheck === 'invalid'
          ? 'the journey credential does not match (Authorization: Basic or the secret header)'
          : 'missing credentials: an X-CIO-Signature or a journey credential (Authorization: Basic or the secret header)');
      setOutcome(res, refused);
      // The reason names headers and rules only; credentials are never logged.
      logger.warn({ outcome: refused, reason, ip: req.ip }, 'webhook rejected');
      next(new HttpError(401, reason, undefined, challenge));
      return;
    }
    res.locals.signed = signed;
    res.locals.journey = journeyCheck === 'valid';
    // A journey webhook has no signed timestamp: its as_of is when it arrived.
    res.locals.signedTimestamp = result?.ok ? result.timestamp : Math.floor(now() / 1000);
    next();
  };

  /** Which webhooks each way in may carry: reporting events only signed; predictions per WEBHOOK_PREDICTIONS_AUTH. */
  const refusal = (body: unknown, kind: string, res: Response): string | undefined => {
    const signed = res.locals.signed === true;
    const journeyValid = res.locals.journey === true;
    if (!signed && looksLikeReporting(body))
      return "reporting webhooks must carry Customer.io's signature (X-CIO-Signature)";
    if (kind !== 'prediction') return undefined;
    if (predictionsAuth === 'signature' && !signed)
      return "predictions must carry Customer.io's signature (WEBHOOK_PREDICTIONS_AUTH=signature)";
    if (predictionsAuth === 'journey' && !journeyValid)
      return 'predictions must carry a journey credential, Authorization: Basic or the secret header (WEBHOOK_PREDICTIONS_AUTH=journey)';
    return undefined;
  };

  /** Resolves once every message is acknowledged; rejects after `publishTimeoutMs`. */
  const publishAll = async (messages: { topic: string; message: OutgoingMessage }[]) => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Kafka did not acknowledge within ${publishTimeoutMs} ms`)),
        publishTimeoutMs,
      );
    });
    try {
      await Promise.race([
        Promise.all(messages.map((m) => publisher.publish(m.topic, [m.message]))),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  };

  const handle = async (req: Request, res: Response, _next: NextFunction) => {
    const raw = req.rawBody ?? Buffer.alloc(0);
    const id = webhookId(raw);
    const signed = res.locals.signed === true;
    const { classification, messages, suppressErrors } = routeWebhook(
      {
        raw,
        id,
        timestamp: res.locals.signedTimestamp as number,
        headers: {
          timestamp: signed ? String(req.headers['x-cio-timestamp']) : '',
          signature: signed ? String(req.headers['x-cio-signature']) : '',
        },
        receivedAtMs: now(),
      },
      req.body,
      topics,
      { suppressOnBounce },
    );
    const kind = classification.kind;
    const refused = refusal(req.body, kind, res);
    if (refused) {
      setOutcome(res, 'bad_credentials');
      logger.warn({ webhook_id: id, kind, reason: refused }, 'webhook rejected');
      throw new HttpError(401, refused, undefined, challenge);
    }
    if (suppressErrors) {
      // Pointers and reasons only: the values are personal data.
      logger.warn(
        { webhook_id: id, errors: suppressErrors },
        'the bounce names no valid person: no suppress operation',
      );
    }

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
      logger.info({ webhook_id: id, kind }, 'webhook replayed: already published');
      res.json({ status: 'replayed', webhook_id: id });
      return;
    }
    if (claim === 'in_flight') {
      setOutcome(res, 'unavailable');
      throw unavailable('the same webhook is being processed; retry later');
    }

    const endAck = metrics.kafkaAck.startTimer();
    const parent = res.locals.trace as Context | undefined;
    const span = parent && tracing.tracer.startSpan('publish webhook', { kind: SpanKind.PRODUCER }, parent);
    if (span) {
      const carried = traceHeaders(trace.setSpan(parent, span));
      for (const m of messages) m.message.headers = { ...m.message.headers, ...carried };
    }
    try {
      await publishAll(messages);
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
    for (const m of messages) metrics.published.inc({ kind: m.kind });
    // Published: the answer is 200 even if remembering it fails (a replay then publishes again).
    // A journey webhook has no signed timestamp: its body is remembered for a fixed window.
    await replayStore.confirm(id, signed ? replayWindowMs : journeyReplayWindowMs).catch((error: unknown) => {
      logger.warn({ err: error, webhook_id: id }, 'could not record the webhook for replay protection');
    });
    if (classification.kind === 'quarantine') {
      metrics.quarantined.inc({ kind: classification.of });
      setOutcome(res, 'quarantined');
      // The reason names fields and rules only, never values.
      logger.warn(
        { webhook_id: id, of: classification.of, reason: classification.reason },
        'webhook quarantined',
      );
      res.json({ status: 'quarantined', webhook_id: id });
      return;
    }
    if (classification.kind === 'reporting' && !classification.known) {
      metrics.unknownKinds.inc();
      logger.info(
        { webhook_id: id },
        'reporting event of an unknown object type or metric: published as received',
      );
    }
    setOutcome(res, 'accepted');
    logger.debug({ webhook_id: id, kind, topics: messages.map((m) => m.topic) }, 'webhook published');
    res.json({ status: 'accepted', webhook_id: id });
  };

  const app = createHttpApp({ logger, registry, readiness, ...options.network });
  for (const path of WEBHOOK_PATHS)
    app.post(path, record, allowSource, requireJson, rawBody, verify, parseJsonBody, handle);
  return finishHttpApp(app);
}

/** A reporting webhook names a `metric` or an `object_type` (Customer.io signs those). */
function looksLikeReporting(body: unknown): boolean {
  return typeof body === 'object' && body !== null && ('metric' in body || 'object_type' in body);
}
