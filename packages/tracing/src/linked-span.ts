import {
  type Attributes,
  type Link,
  ROOT_CONTEXT,
  type Span,
  type SpanKind,
  trace,
} from '@opentelemetry/api';
import { contextFromHeaders } from './propagation';
import type { Tracing } from './tracing';

/**
 * A span for work done on several messages at once (a Customer.io request carrying
 * many operations, a Postgres batch): linked to the trace of every message (their
 * `traceparent` headers) and a child of the first one's, so work on a single message
 * continues its trace.
 */
export function startLinkedSpan(
  tracing: Tracing,
  name: string,
  carriers: (Record<string, unknown> | undefined)[],
  options: { kind: SpanKind; attributes?: Attributes },
): Span {
  const links: Link[] = [];
  let parent = ROOT_CONTEXT;
  for (const carrier of carriers) {
    const context = contextFromHeaders(carrier);
    const spanContext = trace.getSpanContext(context);
    if (!spanContext) continue;
    if (links.length === 0) parent = context;
    links.push({ context: spanContext });
  }
  return tracing.tracer.startSpan(
    name,
    { kind: options.kind, attributes: options.attributes, links },
    parent,
  );
}
