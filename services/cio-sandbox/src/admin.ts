/**
 * The admin and inspection API under `/_sandbox` (no authentication): state,
 * counters, fault injection, rate limit, credentials, reset and the webhook sender.
 */
import { HttpError, jsonBody } from '@cio-bridge/http';
import { Router } from 'express';
import { describeFaults, parseCredentials, parseFaults, parseRateLimit } from './control';
import type { SandboxControl } from './sandbox';
import type { SandboxState } from './state';
import { sendWebhook, splitCredentials, type WebhookResult } from './webhooks';

export interface WebhookDefaults {
  baseDelayMs?: number;
  maxDelayMs?: number;
  timeoutMs?: number;
}

export interface WebhookLogEntry extends WebhookResult {
  url: string;
  at: string;
}

function intQuery(value: unknown, name: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (typeof value !== 'string' || !/^\d+$/.test(value) || n < 1 || n > max)
    throw new HttpError(400, `${name} must be a whole number from 1 to ${max}`);
  return n;
}

export function adminRouter(
  state: SandboxState,
  control: SandboxControl,
  webhookDefaults: WebhookDefaults,
): Router {
  const router = Router();
  const json = jsonBody('10mb');
  const webhookLog: WebhookLogEntry[] = [];

  router.get('/people', (_req, res) => {
    res.json(state.people);
  });

  router.get('/people/:identifier', (req, res) => {
    const person = state.lookup(req.params.identifier);
    if (!person) throw new HttpError(404, `no person with identifier ${req.params.identifier}`);
    res.json(person);
  });

  router.get('/events', (req, res) => {
    const { person, name } = req.query;
    if (person !== undefined && typeof person !== 'string')
      throw new HttpError(400, 'person must be one value');
    if (name !== undefined && typeof name !== 'string') throw new HttpError(400, 'name must be one value');
    let events = person === undefined ? state.events : state.eventsFor(person);
    if (name !== undefined) events = events.filter((event) => event.name === name);
    res.json(events);
  });

  router.get('/operations', (req, res) => {
    const { person } = req.query;
    if (person !== undefined && typeof person !== 'string')
      throw new HttpError(400, 'person must be one value');
    const limit = intQuery(req.query.limit, 'limit', Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    const operations = person === undefined ? state.operations : state.operationsFor(person);
    res.json(limit >= operations.length ? operations : operations.slice(operations.length - limit));
  });

  router.get('/objects', (_req, res) => {
    res.json([...state.objects.values()]);
  });

  router.get('/relationships', (_req, res) => {
    res.json(state.relationshipList());
  });

  router.get('/sends', (_req, res) => {
    res.json(state.sends);
  });

  router.get('/requests', (req, res) => {
    res.json(state.recentRequests(intQuery(req.query.limit, 'limit', 100, 1000)));
  });

  router.get('/counters', (_req, res) => {
    res.json(state.counters);
  });

  router.get('/faults', (_req, res) => {
    res.json(describeFaults(control.faults, Date.now()));
  });

  router.put('/faults', ...json, (req, res) => {
    control.setFaults(parseFaults(req.body, Date.now()));
    res.json(describeFaults(control.faults, Date.now()));
  });

  router.delete('/faults', (_req, res) => {
    control.clearFaults();
    res.json(describeFaults(control.faults, Date.now()));
  });

  router.get('/rate-limit', (_req, res) => {
    res.json({ rps: control.rps });
  });

  router.put('/rate-limit', ...json, (req, res) => {
    control.setRateLimit(parseRateLimit(req.body));
    res.json({ rps: control.rps });
  });

  router.put('/credentials', ...json, (req, res) => {
    const next = parseCredentials(req.body, control.credentials);
    const changed = (Object.keys(next) as Array<keyof typeof next>).filter(
      (key) => next[key] !== control.credentials[key],
    );
    control.setCredentials(next);
    res.json({ changed });
  });

  router.post('/reset', (_req, res) => {
    control.reset();
    webhookLog.length = 0;
    res.json({ reset: true });
  });

  router.post('/webhooks', ...json, async (req, res) => {
    const body = req.body as Record<string, unknown>;
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new HttpError(400, 'the body must be a JSON object');
    const { url, signingKey, timestamp, maxAttempts, headers } = body;
    if (typeof url !== 'string' || !/^https?:\/\//.test(url))
      throw new HttpError(400, 'url must be an http(s) URL');
    // With a signing key: a signed reporting webhook. Without: a journey webhook, which
    // authenticates with Basic credentials in the URL or with its headers.
    if (signingKey !== undefined && (typeof signingKey !== 'string' || signingKey.length === 0))
      throw new HttpError(400, 'signingKey must be a non-empty string');
    if (
      headers !== undefined &&
      (typeof headers !== 'object' ||
        headers === null ||
        Array.isArray(headers) ||
        Object.values(headers).some((value) => typeof value !== 'string'))
    )
      throw new HttpError(400, 'headers must be an object of header names and string values');
    const journeyCredential = Boolean(new URL(url).username) || headers !== undefined;
    if (signingKey === undefined && !journeyCredential)
      throw new HttpError(
        400,
        'signingKey must be a non-empty string (or, for a journey webhook, Basic credentials in url or headers)',
      );
    if (body.body === undefined) throw new HttpError(400, 'body is required: an object or a raw string');
    if (
      timestamp !== undefined &&
      (typeof timestamp !== 'number' || !Number.isInteger(timestamp) || timestamp < 0)
    )
      throw new HttpError(400, 'timestamp must be unix seconds');
    if (
      maxAttempts !== undefined &&
      (typeof maxAttempts !== 'number' ||
        !Number.isInteger(maxAttempts) ||
        maxAttempts < 1 ||
        maxAttempts > 20)
    )
      throw new HttpError(400, 'maxAttempts must be a whole number from 1 to 20');
    const result = await sendWebhook({
      ...webhookDefaults,
      url,
      ...(signingKey !== undefined && { signingKey: signingKey as string }),
      ...(headers !== undefined && { headers: headers as Record<string, string> }),
      body: body.body,
      ...(timestamp !== undefined ? { timestamp } : {}),
      ...(maxAttempts !== undefined ? { maxAttempts } : {}),
    });
    // The log is readable over HTTP: the URL without its credentials.
    webhookLog.push({ url: splitCredentials(url).url, at: new Date().toISOString(), ...result });
    if (webhookLog.length > 1000) webhookLog.shift();
    res.json(result);
  });

  router.get('/webhooks', (_req, res) => {
    res.json(webhookLog);
  });

  return router;
}
