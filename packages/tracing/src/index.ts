export {
  type Attributes,
  type Context,
  context,
  type Link,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
export { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
export { tracingEnabled } from './config';
export { startLinkedSpan } from './linked-span';
export { activeTraceHeaders, contextFromHeaders, TRACE_HEADERS, traceHeaders } from './propagation';
export { disabledTracing, startTracing, type Tracing, type TracingOptions } from './tracing';
