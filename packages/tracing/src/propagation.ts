import { type Context, context, ROOT_CONTEXT, type TextMapGetter, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

/** The W3C Trace Context headers: `traceparent` and `tracestate`, in HTTP and in Kafka. */
export const TRACE_HEADERS = ['traceparent', 'tracestate'] as const;

const w3c = new W3CTraceContextPropagator();

type Carrier = Record<string, unknown> | undefined;

/** Reads HTTP headers (strings or string arrays) and Kafka headers (Buffers, strings, arrays). */
const getter: TextMapGetter<Carrier> = {
  keys: (carrier) => Object.keys(carrier ?? {}),
  get: (carrier, key) => {
    const value = carrier?.[key] ?? carrier?.[key.toLowerCase()];
    const first = Array.isArray(value) ? value[0] : value;
    return first === undefined || first === null ? undefined : String(first);
  },
};

/** The trace context carried by HTTP or Kafka headers; the root context when there is none. */
export function contextFromHeaders(headers: Carrier, base: Context = ROOT_CONTEXT): Context {
  return w3c.extract(base, headers, getter);
}

/** `traceparent`/`tracestate` for a message or request sent within `context`; empty when it has no span. */
export function traceHeaders(context: Context): Record<string, string> {
  const headers: Record<string, string> = {};
  if (!trace.getSpanContext(context)) return headers;
  w3c.inject(context, headers, {
    set: (carrier, key, value) => {
      carrier[key] = value;
    },
  });
  return headers;
}

/**
 * The headers for the caller's active OpenTelemetry context: in a library (the SDK)
 * whose host app runs its own OpenTelemetry setup, a publish inside a traced request
 * continues that trace. Empty when the app traces nothing.
 */
export const activeTraceHeaders = (): Record<string, string> => traceHeaders(context.active());
