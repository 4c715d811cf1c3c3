/**
 * Customer.io's Pipelines API (`/v1/identify`, `/track`, `/page`, `/screen`, `/group`,
 * `/alias`, `/batch`), mounted at `/v1` beside the App API. Authentication is HTTP Basic
 * with the Pipelines key and an empty password. With `X-Strict-Mode: 1` invalid calls get
 * 400 (`{ meta: { errors } }`) and a wrong key 401; without it every call gets 200 `{}` and
 * problems are only counted, as Customer.io does. Accepted calls change the same workspace
 * as the Track API (people, events, objects, relationships); `messageId` de-duplicates.
 */
import { type Request, type Response, Router } from 'express';
import {
  checkAttributes,
  checkEvent,
  checkIdentifierValue,
  isPlainObject,
  jsonBytesOver,
  type Problem,
  problem,
} from './limits';
import { applyOperation, checkObjectTypeId, isProblem, type TrackOperation } from './operations';
import type { Identifiers, SandboxState } from './state';
import { rawBody, readJson } from './track-api';

/** Pipelines limits: 32 KB per call (and per batch item), 500 KB per batch (read as 500,000 bytes). */
export const PIPELINES_LIMITS = { callBytes: 32 * 1024, batchBytes: 500_000 } as const;

export const PIPELINES_CALLS = ['identify', 'track', 'page', 'screen', 'group', 'alias'] as const;

const SEMANTIC = {
  'User Deleted': 'delete',
  'User Suppressed': 'suppress',
  'User Unsuppressed': 'unsuppress',
  'Device Created or Updated': 'add_device',
  'Device Deleted': 'delete_device',
  'Relationship Deleted': 'delete_relationships',
  'Object Deleted': 'object_delete',
} as const;

/** A Pipelines userId: looked up by email when it has an `@`, else by id. */
const person = (userId: string): Identifiers => (userId.includes('@') ? { email: userId } : { id: userId });

const isoSeconds = (value: unknown): number | undefined => {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
};

type Parsed = { op?: TrackOperation; after?: (state: SandboxState, at: string) => void } | Problem;

function optionalId(
  call: Record<string, unknown>,
  field: 'userId' | 'anonymousId',
): string | undefined | Problem {
  const value = call[field];
  if (value === undefined || value === null || value === '') return undefined;
  return checkIdentifierValue(field, value) ?? String(value);
}

/** Checks one call (`type` given by the endpoint or the batch item) and turns it into a workspace operation. */
export function parsePipelinesCall(call: unknown, type: unknown, inBatch: boolean): Parsed {
  if (!isPlainObject(call)) return problem('', 'each call must be a JSON object');
  if (typeof type !== 'string' || !(PIPELINES_CALLS as readonly string[]).includes(type))
    return problem('type', `type must be one of ${PIPELINES_CALLS.join(', ')}`);
  const userId = optionalId(call, 'userId');
  if (isProblem(userId)) return userId;
  const anonymousId = optionalId(call, 'anonymousId');
  if (isProblem(anonymousId)) return anonymousId;
  if (call.messageId !== undefined && (typeof call.messageId !== 'string' || call.messageId === ''))
    return problem('messageId', 'messageId must be a non-empty string');
  if (call.timestamp !== undefined && isoSeconds(call.timestamp) === undefined)
    return problem('timestamp', 'timestamp must be an ISO 8601 date-time string');
  const id = call.messageId as string | undefined;
  const base = { id, payload: call };
  const needPerson = () =>
    userId === undefined && anonymousId === undefined
      ? problem('userId', `${type} needs userId or anonymousId`)
      : undefined;

  switch (type) {
    case 'identify': {
      const missing = needPerson();
      if (missing) return missing;
      const traits = call.traits ?? {};
      if (!isPlainObject(traits)) return problem('traits', 'traits must be an object');
      const bad = checkAttributes('traits', traits);
      if (bad) return bad;
      // Customer.io ignores anonymous-only identify calls.
      if (userId === undefined) return {};
      return {
        op: {
          type: 'person',
          action: 'identify',
          identifiers: person(userId),
          attributes: traits,
          ...(anonymousId ? { anonymousId } : {}),
          ...base,
        },
      };
    }
    case 'track': {
      const missing = needPerson();
      if (missing && call.event !== 'Object Deleted') return missing;
      if (typeof call.event !== 'string' || call.event.trim() === '')
        return problem('event', 'track needs an event name');
      const properties = call.properties ?? {};
      if (!isPlainObject(properties)) return problem('properties', 'properties must be an object');
      const semantic = SEMANTIC[call.event as keyof typeof SEMANTIC];
      if (semantic === undefined) {
        const bad = checkEvent('event', call.event, 'properties', properties);
        if (bad) return bad;
        return {
          op: {
            type: 'person',
            action: 'event',
            eventType: 'event',
            name: call.event.trim(),
            attributes: properties,
            identifiers: userId !== undefined ? person(userId) : { anonymous_id: anonymousId },
            ...(userId === undefined ? { anonymousId } : {}),
            timestamp: isoSeconds(call.timestamp),
            ...base,
          },
        };
      }
      return semanticEvent(semantic, call, properties, userId, anonymousId, base);
    }
    case 'page':
    case 'screen': {
      const missing = needPerson();
      if (missing) return missing;
      const properties = call.properties ?? {};
      const name =
        typeof call.name === 'string' && call.name.trim() !== ''
          ? call.name
          : isPlainObject(properties) && typeof properties.url === 'string'
            ? properties.url
            : type;
      const bad = checkEvent('name', name, 'properties', properties);
      if (bad) return bad;
      return {
        op: {
          type: 'person',
          action: type,
          eventType: type,
          name: String(name).trim(),
          attributes: properties as Record<string, unknown>,
          identifiers: userId !== undefined ? person(userId) : { anonymous_id: anonymousId },
          ...(userId === undefined ? { anonymousId } : {}),
          timestamp: isoSeconds(call.timestamp),
          ...base,
        },
      };
    }
    case 'group': {
      if (inBatch) {
        const missing = needPerson();
        if (missing) return missing;
      }
      const bad = checkIdentifierValue('groupId', call.groupId);
      if (bad) return bad;
      const traits = call.traits ?? {};
      if (!isPlainObject(traits)) return problem('traits', 'traits must be an object');
      const { objectTypeId = '1', relationshipAttributes, ...attributes } = traits;
      const badType = checkObjectTypeId('traits.objectTypeId', objectTypeId);
      if (badType) return badType;
      if (relationshipAttributes !== undefined && !isPlainObject(relationshipAttributes))
        return problem('traits.relationshipAttributes', 'relationshipAttributes must be an object');
      const badAttributes = checkAttributes('traits', attributes);
      if (badAttributes) return badAttributes;
      const who =
        userId !== undefined
          ? person(userId)
          : anonymousId !== undefined
            ? { anonymous_id: anonymousId }
            : undefined;
      return {
        op: {
          type: 'object',
          action: 'identify',
          identifiers: { object_type_id: String(objectTypeId), object_id: String(call.groupId) },
          attributes,
          relationships: who
            ? [
                {
                  identifiers: who,
                  ...(relationshipAttributes
                    ? { attributes: relationshipAttributes as Record<string, unknown> }
                    : {}),
                },
              ]
            : [],
          ...base,
        },
      };
    }
    default: {
      // alias: folds previousId into userId (cio-bridge sends it for Track's merge)
      if (userId === undefined) return problem('userId', 'alias needs userId');
      const previous = optionalId(call, 'previousId' as 'userId');
      if (isProblem(previous)) return previous;
      if (previous === undefined) return problem('previousId', 'alias needs previousId');
      return {
        op: {
          type: 'person',
          action: 'merge',
          identifiers: person(userId),
          secondary: person(previous),
          ...base,
        },
      };
    }
  }
}

function semanticEvent(
  semantic: (typeof SEMANTIC)[keyof typeof SEMANTIC],
  call: Record<string, unknown>,
  properties: Record<string, unknown>,
  userId: string | undefined,
  anonymousId: string | undefined,
  base: { id?: string; payload: unknown },
): Parsed {
  const needUser = () => (userId === undefined ? problem('userId', `${call.event} needs userId`) : undefined);
  const objectOf = (): Identifiers | Problem => {
    const bad =
      checkIdentifierValue('properties.objectId', properties.objectId) ??
      checkObjectTypeId('properties.objectTypeId', properties.objectTypeId ?? '1');
    if (bad) return bad;
    return { object_type_id: String(properties.objectTypeId ?? '1'), object_id: String(properties.objectId) };
  };
  const context = isPlainObject(call.context) ? call.context : {};
  const device = isPlainObject(context.device) ? context.device : {};
  switch (semantic) {
    case 'delete':
    case 'suppress':
    case 'unsuppress':
      return (
        needUser() ?? { op: { type: 'person', action: semantic, identifiers: person(userId!), ...base } }
      );
    case 'add_device':
    case 'delete_device': {
      const bad = needUser() ?? checkIdentifierValue('context.device.token', device.token);
      if (bad) return bad;
      if (semantic === 'delete_device')
        return {
          op: {
            type: 'person',
            action: semantic,
            identifiers: person(userId!),
            deviceId: String(device.token),
            ...base,
          },
        };
      const platform = device.type === 'ios' || device.type === 'android' ? device.type : 'ios';
      return {
        op: {
          type: 'person',
          action: semantic,
          identifiers: person(userId!),
          device: {
            id: String(device.token),
            platform,
            last_used: isoSeconds(call.timestamp) ?? null,
            attributes: properties,
          },
          ...base,
        },
      };
    }
    case 'delete_relationships': {
      const bad = needUser();
      if (bad) return bad;
      const object = objectOf();
      if (isProblem(object)) return object;
      return {
        op: {
          type: 'person',
          action: 'delete_relationships',
          identifiers: person(userId!),
          relationships: [{ identifiers: object }],
          ...base,
        },
      };
    }
    default: {
      if (anonymousId === undefined && userId === undefined)
        return problem('anonymousId', 'Object Deleted needs anonymousId (any value)');
      const object = objectOf();
      if (isProblem(object)) return object;
      return { op: { type: 'object', action: 'delete', identifiers: object, ...base } };
    }
  }
}

function basicKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const space = header.indexOf(' ');
  if (space < 0 || header.slice(0, space).toLowerCase() !== 'basic') return undefined;
  const decoded = Buffer.from(header.slice(space + 1).trim(), 'base64').toString('utf8');
  return decoded.endsWith(':') ? decoded.slice(0, -1) : undefined;
}

export function pipelinesRouter(state: SandboxState, apiKey: () => string): Router {
  const router = Router();
  const strict = (req: Request) => req.headers['x-strict-mode'] === '1';
  /** Strict: the status and errors; permissive: 200 `{}` with the problems only counted. */
  const refuse = (req: Request, res: Response, status: 400 | 401, errors: string[]) => {
    if (status === 401) state.counters.unauthorized++;
    else state.counters.rejected += Math.max(1, errors.length);
    if (strict(req)) res.status(status).json(status === 401 ? {} : { meta: { errors } });
    else res.json({});
  };
  const describe = (p: Problem, index?: number) =>
    `${index === undefined ? '' : `batch[${index}]: `}${p.field ? `${p.field}: ` : ''}${p.message}`;

  const apply = (parsed: Array<Exclude<Parsed, Problem>>) => {
    const ms = Date.now();
    const iso = new Date(ms).toISOString();
    for (const call of parsed) {
      if (call.op) applyOperation(state, call.op, 'pipelines', iso, Math.floor(ms / 1000));
    }
  };

  const handler = (endpoint: string) => (req: Request, res: Response) => {
    if (basicKey(req.headers.authorization) !== apiKey()) return refuse(req, res, 401, ['Unauthorized']);
    const size = Buffer.isBuffer(req.body) ? req.body.length : 0;
    const limit = endpoint === 'batch' ? PIPELINES_LIMITS.batchBytes : PIPELINES_LIMITS.callBytes;
    if (size > limit)
      return refuse(req, res, 400, [
        `the request is ${size} bytes, more than the limit of ${limit} bytes for /${endpoint}`,
      ]);
    const json = readJson(req);
    if (!json.ok) return refuse(req, res, 400, [json.message]);
    if (endpoint !== 'batch') {
      const parsed = parsePipelinesCall(json.value, endpoint, false);
      if (isProblem(parsed)) return refuse(req, res, 400, [describe(parsed)]);
      apply([parsed]);
      return res.json({});
    }
    const body = json.value;
    if (!isPlainObject(body) || !Array.isArray(body.batch) || body.batch.length === 0)
      return refuse(req, res, 400, ['batch must be a non-empty array of calls']);
    // Pipelines documents no per-item errors: one invalid item refuses the whole batch.
    const errors: string[] = [];
    const parsed: Array<Exclude<Parsed, Problem>> = [];
    // A call cannot be larger than the whole request, so small requests skip the per-item check.
    const checkItemSize = size > PIPELINES_LIMITS.callBytes;
    body.batch.forEach((item: unknown, index: number) => {
      const bytes = checkItemSize ? jsonBytesOver(item, PIPELINES_LIMITS.callBytes) : undefined;
      if (bytes !== undefined) {
        errors.push(
          `batch[${index}]: the call is ${bytes} bytes, more than the limit of ${PIPELINES_LIMITS.callBytes}`,
        );
        return;
      }
      const call = parsePipelinesCall(item, isPlainObject(item) ? item.type : undefined, true);
      if (isProblem(call)) errors.push(describe(call, index));
      else parsed.push(call);
    });
    if (errors.length > 0) return refuse(req, res, 400, errors);
    apply(parsed);
    res.json({});
  };

  for (const endpoint of [...PIPELINES_CALLS, 'batch'])
    router.post(`/${endpoint}`, rawBody, handler(endpoint));
  return router;
}
