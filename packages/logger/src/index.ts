import { context, trace } from '@opentelemetry/api';
import pino, { type Logger, type LoggerOptions } from 'pino';

export { maskEmail, maskEmails } from './mask-emails';
export type { Logger };

// Keys whose values are secrets or personal data, at any of the first levels of a
// log record (pino's redaction paths are exact, `*` matches one level). A bare `name`
// is left alone: here it is an event or service name far more often than a person's.
const sensitiveKeys = [
  'email',
  'full_name',
  'first_name',
  'last_name',
  'phone',
  'password',
  'token',
  'authorization',
  'api_key',
  'apiKey',
  'signing_key',
  'secret',
  'cookie',
];
export const redactedPaths = sensitiveKeys.flatMap((key) => [key, `*.${key}`, `*.*.${key}`, `*.*.*.${key}`]);

export interface LoggerConfig {
  /** the service or tool name, on every line */
  name: string;
  level?: string;
  /** where lines go (default stdout); tests pass a stream to read them */
  destination?: pino.DestinationStream;
}

/**
 * `trace_id` and `span_id` of the span active where a line is written, so a log line
 * (a dead-letter warning, say) leads straight to its trace. Nothing outside a span, and
 * nothing while tracing is off (no span is ever active then).
 */
function traceIds(): { trace_id?: string; span_id?: string } {
  const span = trace.getSpan(context.active())?.spanContext();
  return span && trace.isSpanContextValid(span) ? { trace_id: span.traceId, span_id: span.spanId } : {};
}

/** Structured JSON logs with secrets and personal data redacted. */
export function createLogger({ name, level = 'info', destination }: LoggerConfig): Logger {
  const options: LoggerOptions = {
    level,
    base: { service: name },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: redactedPaths, censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
    mixin: traceIds,
  };
  return destination ? pino(options, destination) : pino(options);
}

/** The fields that place a log line at a Kafka message. */
export interface MessageLocation {
  topic: string;
  partition: number;
  offset: string;
  operationId?: string;
}

export const messageLogger = (logger: Logger, location: MessageLocation): Logger => logger.child(location);
