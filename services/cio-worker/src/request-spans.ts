import {
  contextFromHeaders,
  type Link,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  type Tracing,
  trace,
} from '@cio-bridge/tracing';
import type { Item } from './engine';
import type { DeliveryError } from './errors';

/**
 * One span per Customer.io request (the engine's `onRequest` hook), linked to the trace
 * of every operation it carried (their `traceparent` headers) and a child of the first
 * one's, so a request carrying one operation continues that operation's trace.
 */
export function requestSpans(tracing: Tracing, api: 'track' | 'app') {
  return (items: Item[], endpoint: string) => {
    const contexts = items.map((item) => contextFromHeaders(item.envelope.headers));
    const links: Link[] = [];
    contexts.forEach((context, index) => {
      const spanContext = trace.getSpanContext(context);
      if (spanContext)
        links.push({
          context: spanContext,
          attributes: { 'cio_bridge.operation.id': items[index]?.op?.id ?? '' },
        });
    });
    const parent = contexts.find((context) => trace.getSpanContext(context)) ?? ROOT_CONTEXT;
    const span = tracing.tracer.startSpan(
      `customerio ${api} ${endpoint}`,
      {
        kind: SpanKind.CLIENT,
        links,
        attributes: {
          'cio_bridge.api': api,
          'cio_bridge.endpoint': endpoint,
          'messaging.batch.message_count': items.length,
        },
      },
      parent,
    );
    return (error?: DeliveryError) => {
      if (error) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: error.errorClass });
        if (error.status !== undefined) span.setAttribute('http.response.status_code', error.status);
      }
      span.end();
    };
  };
}
