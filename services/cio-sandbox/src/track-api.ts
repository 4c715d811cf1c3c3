/**
 * Track API v1 and v2 routes (track-api.openapi.json), mounted at `/api`.
 * Basic authentication with site id and API key is checked before these run.
 */
import express, { type Request, type Response, Router } from 'express';
import {
  checkAttributes,
  checkDedupeId,
  checkEvent,
  checkIdentifierValue,
  checkTimestamp,
  isPlainObject,
  jsonBytesOver,
  LIMITS,
  type Problem,
  problem,
} from './limits';
import {
  applyOperation,
  isProblem,
  parseDevice,
  parseIdentifiers,
  parseV2Operation,
  type TrackOperation,
} from './operations';
import { type Identifiers, parsePathIdentifier, type SandboxState } from './state';

/** Bodies above this are refused with 413 before any documented limit applies. */
export const RAW_BODY_LIMIT = 8 * 1024 * 1024;

export const rawBody = express.raw({ type: () => true, limit: RAW_BODY_LIMIT });

type Parsed = { ok: true; value: unknown; bytes: number } | { ok: false; message: string };

/** The request body as JSON (`undefined` when there is none). */
export function readJson(req: Request): Parsed {
  const raw: unknown = req.body;
  if (!Buffer.isBuffer(raw) || raw.length === 0) return { ok: true, value: undefined, bytes: 0 };
  try {
    return { ok: true, value: JSON.parse(raw.toString('utf8')), bytes: raw.length };
  } catch (error) {
    return { ok: false, message: `malformed JSON: ${(error as Error).message}` };
  }
}

/** v1's documented 400 body: `{ meta: { errors: [...] } }`. */
const v1Error = (res: Response, message: string) => {
  res.status(400).json({ meta: { errors: [message] } });
};

/** v2's documented 400 body: `{ errors: [{ reason, field, message }] }`. */
const v2Error = (res: Response, errors: Problem[]) => {
  res.status(400).json({ errors });
};

const RESERVED_V1_KEYS = new Set(['id', 'cio_id', '_update', '_timestamp', 'cio_relationships']);

export function trackRouter(state: SandboxState, publicTrackUrl: string): Router {
  const router = Router();
  const now = () => {
    const ms = Date.now();
    return { iso: new Date(ms).toISOString(), seconds: Math.floor(ms / 1000) };
  };
  const accept = (op: TrackOperation, via: 'v1' | 'v2-entity') => {
    const t = now();
    applyOperation(state, op, via, t.iso, t.seconds);
  };

  /** A v1 handler: parses the path identifier and the body, answers 400 for bad input. */
  const v1 =
    (handle: (req: Request, res: Response, identifiers: Identifiers, body: unknown) => Problem | undefined) =>
    (req: Request, res: Response) => {
      const parsed = readJson(req);
      if (!parsed.ok) {
        state.counters.rejected++;
        return v1Error(res, parsed.message);
      }
      let identifiers: Identifiers = {};
      const identifier = req.params.identifier;
      if (typeof identifier === 'string') {
        const bad = checkIdentifierValue('identifier', identifier);
        if (bad) {
          state.counters.rejected++;
          return v1Error(res, bad.message);
        }
        identifiers = parsePathIdentifier(identifier);
      }
      const bad = handle(req, res, identifiers, parsed.value);
      if (bad) {
        state.counters.rejected++;
        return v1Error(res, bad.message);
      }
      if (!res.headersSent) res.json({});
    };

  router.get('/v1/accounts/region', (_req, res) => {
    res.json({ url: publicTrackUrl, region: 'us', environment_id: 1 });
  });

  // identify: the body is the person's attributes
  router.put(
    '/v1/customers/:identifier',
    rawBody,
    v1((_req, _res, identifiers, body) => {
      const attributesIn = body ?? {};
      if (!isPlainObject(attributesIn))
        return problem('body', 'the body must be a JSON object of attributes');
      const alternate: Identifiers = {};
      if (attributesIn.id !== undefined && attributesIn.id !== null) {
        const bad = checkIdentifierValue('id', attributesIn.id);
        if (bad) return bad;
        alternate.id = String(attributesIn.id);
      }
      if (attributesIn.email !== undefined && attributesIn.email !== null) {
        if (typeof attributesIn.email !== 'string' || !attributesIn.email.includes('@'))
          return problem('email', 'email must be an email address');
        alternate.email = attributesIn.email;
      }
      const attributes: Record<string, unknown> = {};
      for (const key of Object.keys(attributesIn)) {
        if (!RESERVED_V1_KEYS.has(key)) attributes[key] = attributesIn[key];
      }
      const bad =
        checkAttributes('attributes', attributes) ?? checkTimestamp('_timestamp', attributesIn._timestamp);
      if (bad) return bad;
      accept(
        {
          type: 'person',
          action: 'identify',
          identifiers,
          alternate,
          updateOnly: attributesIn._update === true,
          attributes,
          payload: attributesIn,
        },
        'v1',
      );
      return undefined;
    }),
  );

  router.delete(
    '/v1/customers/:identifier',
    rawBody,
    v1((_req, _res, identifiers, body) => {
      accept({ type: 'person', action: 'delete', identifiers, payload: body ?? null }, 'v1');
      return undefined;
    }),
  );

  const eventHandler = (anonymous: boolean) =>
    v1((_req, _res, identifiers, body) => {
      if (!isPlainObject(body)) return problem('body', 'the body must be a JSON object with the event name');
      const type = body.type ?? 'event';
      if (type !== 'event' && type !== 'page' && type !== 'screen')
        return problem('type', 'type must be one of event, page, screen');
      const bad =
        checkEvent('name', body.name, 'data', body.data) ??
        checkTimestamp('timestamp', body.timestamp) ??
        checkDedupeId('id', body.id);
      if (bad) return bad;
      let anonymousId: string | undefined;
      if (anonymous) {
        if (body.anonymous_id !== undefined && body.anonymous_id !== null) {
          const badId = checkIdentifierValue('anonymous_id', body.anonymous_id);
          if (badId) return badId;
          anonymousId = String(body.anonymous_id);
          identifiers = { anonymous_id: anonymousId };
        } else {
          anonymousId = '';
        }
      }
      accept(
        {
          type: 'person',
          action: type,
          identifiers,
          id: body.id as string | undefined,
          name: (body.name as string).trim(),
          eventType: type,
          attributes: (body.data as Record<string, unknown> | undefined) ?? {},
          timestamp: body.timestamp as number | undefined,
          ...(anonymousId !== undefined ? { anonymousId } : {}),
          payload: body,
        },
        'v1',
      );
      return undefined;
    });

  router.post('/v1/customers/:identifier/events', rawBody, eventHandler(false));
  router.post('/v1/events', rawBody, eventHandler(true));

  for (const action of ['suppress', 'unsuppress'] as const) {
    router.post(
      `/v1/customers/:identifier/${action}`,
      rawBody,
      v1((_req, _res, identifiers, body) => {
        accept({ type: 'person', action, identifiers, payload: body ?? null }, 'v1');
        return undefined;
      }),
    );
  }

  router.put(
    '/v1/customers/:identifier/devices',
    rawBody,
    v1((_req, _res, identifiers, body) => {
      if (!isPlainObject(body)) return problem('body', 'the body must be a JSON object with a device');
      const device = parseDevice('device', body.device, 'id');
      if (isProblem(device)) return device;
      accept({ type: 'person', action: 'add_device', identifiers, device, payload: body }, 'v1');
      return undefined;
    }),
  );

  router.delete(
    '/v1/customers/:identifier/devices/:device_id',
    rawBody,
    v1((req, _res, identifiers, body) => {
      const deviceId = req.params.device_id as string;
      const bad = checkIdentifierValue('device_id', deviceId);
      if (bad) return bad;
      accept({ type: 'person', action: 'delete_device', identifiers, deviceId, payload: body ?? null }, 'v1');
      return undefined;
    }),
  );

  // merge answers 400 with `{ meta: { error } }` (its own documented shape)
  router.post('/v1/merge_customers', rawBody, (req, res) => {
    const parsed = readJson(req);
    const fail = (message: string) => {
      state.counters.rejected++;
      res.status(400).json({ meta: { error: message } });
    };
    if (!parsed.ok) return fail(parsed.message);
    const body = parsed.value;
    if (!isPlainObject(body)) return fail('the body must be a JSON object with primary and secondary');
    const keys = ['id', 'email', 'cio_id'];
    const primary = parseIdentifiers('primary', body.primary, keys);
    if (isProblem(primary)) return fail(primary.message);
    const secondary = parseIdentifiers('secondary', body.secondary, keys);
    if (isProblem(secondary)) return fail(secondary.message);
    accept({ type: 'person', action: 'merge', identifiers: primary, secondary, payload: body }, 'v1');
    res.json({});
  });

  router.post('/v2/entity', rawBody, (req, res) => {
    const raw = req.body as unknown;
    const size = Buffer.isBuffer(raw) ? raw.length : 0;
    if (size > LIMITS.v2OperationBytes) {
      state.counters.rejected++;
      return v2Error(res, [
        problem(
          '',
          `the request is ${size} bytes, more than the limit of ${LIMITS.v2OperationBytes} bytes for /entity`,
          'too_large',
        ),
      ]);
    }
    const parsed = readJson(req);
    if (!parsed.ok) {
      state.counters.rejected++;
      return v2Error(res, [problem('', parsed.message, 'malformed')]);
    }
    const op = parseV2Operation(parsed.value);
    if (isProblem(op)) {
      state.counters.rejected++;
      return v2Error(res, [op]);
    }
    accept(op, 'v2-entity');
    res.json({});
  });

  router.post('/v2/batch', rawBody, (req, res) => {
    const raw = req.body as unknown;
    const size = Buffer.isBuffer(raw) ? raw.length : 0;
    if (size > LIMITS.v2BatchBytes) {
      state.counters.rejected++;
      return v2Error(res, [
        problem(
          '',
          `the request is ${size} bytes, more than the limit of ${LIMITS.v2BatchBytes} bytes for /batch`,
          'too_large',
        ),
      ]);
    }
    const parsed = readJson(req);
    if (!parsed.ok) {
      state.counters.rejected++;
      return v2Error(res, [problem('', parsed.message, 'malformed')]);
    }
    const body = parsed.value;
    if (!isPlainObject(body) || !Array.isArray(body.batch) || body.batch.length === 0) {
      state.counters.rejected++;
      return v2Error(res, [problem('batch', 'batch must be a non-empty array of operations')]);
    }
    const t = now();
    // An operation cannot be larger than the whole request, so small requests skip the per-item check.
    const checkItemSize = size > LIMITS.v2OperationBytes;
    const errors: Array<Problem & { batch_index: number }> = [];
    const items = body.batch as unknown[];
    for (let index = 0; index < items.length; index++) {
      const item = items[index];
      if (checkItemSize) {
        const itemBytes = jsonBytesOver(item, LIMITS.v2OperationBytes);
        if (itemBytes !== undefined) {
          errors.push({
            batch_index: index,
            ...problem(
              '',
              `operation is ${itemBytes} bytes, more than the limit of ${LIMITS.v2OperationBytes} bytes`,
              'too_large',
            ),
          });
          continue;
        }
      }
      const op = parseV2Operation(item);
      if (isProblem(op)) {
        errors.push({ batch_index: index, ...op });
        continue;
      }
      applyOperation(state, op, 'v2-batch', t.iso, t.seconds);
    }
    if (errors.length === 0) return res.json({});
    state.counters.rejected += errors.length;
    res.status(207).json({ errors });
  });

  return router;
}
