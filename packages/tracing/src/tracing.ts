import { context, type Tracer, type TracerProvider, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  TracerProvider as SdkTracerProvider,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';
import { tracingEnabled } from './config';

export interface Tracing {
  /** false: every span is a no-op (nothing recorded, nothing exported) */
  readonly enabled: boolean;
  readonly tracer: Tracer;
  /** exports what is buffered and stops; call on shutdown */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  /** `service.name`, unless OTEL_SERVICE_NAME says otherwise */
  serviceName: string;
  env?: NodeJS.ProcessEnv;
  /** tests: export here, span by span, instead of OTLP (turns tracing on) */
  exporter?: SpanExporter;
}

/** Tracing that records nothing: the default for factories, and what services get with OTEL_* unset. */
export const disabledTracing: Tracing = {
  enabled: false,
  tracer: trace.getTracerProvider().getTracer('cio-bridge-disabled'),
  shutdown: async () => {},
};

/**
 * Tracing for one service, configured by the standard OTEL_* variables (OTLP over
 * HTTP: OTEL_EXPORTER_OTLP_ENDPOINT, ..._TRACES_ENDPOINT, ..._HEADERS, OTEL_SERVICE_NAME).
 * Off by default. Spans are parented explicitly with the contexts the code passes around
 * (from HTTP and Kafka headers); the one global registered (once on) is the context
 * manager, so code run inside `context.with(span)` keeps the span active across awaits
 * and log lines carry its `trace_id` and `span_id` (@cio-bridge/logger).
 */
export function startTracing(options: TracingOptions): Tracing {
  const env = options.env ?? process.env;
  if (!options.exporter && !tracingEnabled(env)) return disabledTracing;
  const processor: SpanProcessor = options.exporter
    ? new SimpleSpanProcessor({ exporter: options.exporter })
    : new BatchSpanProcessor({ exporter: new OTLPTraceExporter(), scheduledDelayMillis: scheduleDelay(env) });
  // A second call (tests start several) keeps the manager already registered.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const provider: TracerProvider & { shutdown(): Promise<void> } = new SdkTracerProvider({
    resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME || options.serviceName }),
    spanProcessors: [processor],
  });
  return {
    enabled: true,
    tracer: provider.getTracer('cio-bridge'),
    shutdown: () => provider.shutdown(),
  };
}

/** OTEL_BSP_SCHEDULE_DELAY (ms between exports; the SDK's default is 5,000). */
function scheduleDelay(env: NodeJS.ProcessEnv): number | undefined {
  const value = env.OTEL_BSP_SCHEDULE_DELAY;
  if (value === undefined || value === '') return undefined;
  if (!/^\d+$/.test(value))
    throw new Error('configuration error: OTEL_BSP_SCHEDULE_DELAY must be a whole number of milliseconds');
  return Number(value);
}
