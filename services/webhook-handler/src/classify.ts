import {
  type FieldError,
  type PredictionWebhook,
  type ReportingWebhook,
  validatePredictionWebhook,
  validateReportingWebhook,
} from '@cio-bridge/schemas';

/** What a quarantined body looked like: a prediction, a reporting event, or neither. */
export type QuarantineKind = 'prediction' | 'reporting' | 'unreadable';
export const QUARANTINE_KINDS: readonly QuarantineKind[] = ['prediction', 'reporting', 'unreadable'];

/** Where a correctly signed body belongs. */
export type Classification =
  | { kind: 'prediction'; value: PredictionWebhook }
  /** `known: false`: an object type or metric the schema does not list (yet) */
  | { kind: 'reporting'; value: ReportingWebhook; known: boolean }
  | { kind: 'quarantine'; of: QuarantineKind; reason: string };

/** Longest reason kept in the `x-quarantine-reason` header. */
const MAX_REASON_CHARS = 1_000;
/** The longest object type and metric the insights-processor stores. */
const MAX_KIND_CHARS = 100;

const describe = (errors: FieldError[]): string =>
  errors.map((e) => `${e.pointer || '/'} ${e.message}`).join('; ');

const quarantine = (of: QuarantineKind, reason: string): Classification => ({
  kind: 'quarantine',
  of,
  reason: reason.length > MAX_REASON_CHARS ? `${reason.slice(0, MAX_REASON_CHARS - 1)}…` : reason,
});

const kindName = (value: unknown): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= MAX_KIND_CHARS;

/**
 * Customer.io adds channels and metrics over time. A reporting event whose only
 * problem is its `object_type`/`metric` pair is valid but unknown: checked with a
 * known pair in its place, so every other rule of the schema still applies.
 */
function isUnknownKind(body: Record<string, unknown>): boolean {
  if (!kindName(body.object_type) || !kindName(body.metric)) return false;
  return validateReportingWebhook({ ...body, object_type: 'email', metric: 'sent' }).ok;
}

/**
 * Classifies a parsed, correctly signed body. A prediction carries `user_id` or
 * `predictions` (seed 2.2); everything else is taken as a reporting event. Nothing
 * here refuses a request: what fails validation is quarantined with the reason, which
 * names fields and rules, never values (no personal data).
 */
export function classifyWebhook(body: unknown): Classification {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return quarantine('unreadable', 'the body must be a JSON object');
  if ('predictions' in body || 'user_id' in body) {
    const result = validatePredictionWebhook(body);
    return result.ok
      ? { kind: 'prediction', value: result.value }
      : quarantine('prediction', `invalid prediction webhook: ${describe(result.errors)}`);
  }
  const result = validateReportingWebhook(body);
  if (result.ok) return { kind: 'reporting', value: result.value, known: true };
  if (isUnknownKind(body as Record<string, unknown>))
    return { kind: 'reporting', value: body as ReportingWebhook, known: false };
  return quarantine('reporting', `invalid reporting webhook: ${describe(result.errors)}`);
}
