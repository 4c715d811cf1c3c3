import { SpanKind, SpanStatusCode, startLinkedSpan, type Tracing } from '@cio-bridge/tracing';
import type { Item } from '../delivery/engine';
import type { DeliveryError } from '../errors';

/**
 * One span per Customer.io request (the engine's `onRequest` hook), linked to the trace
 * of every operation it carried and a child of the first one's, so a request carrying
 * one operation continues that operation's trace.
 */
export function requestSpans(tracing: Tracing, api: 'track' | 'app') {
  return (items: Item[], endpoint: string) => {
    const span = startLinkedSpan(
      tracing,
      `customerio ${api} ${endpoint}`,
      items.map((item) => item.envelope.headers),
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'cio_bridge.api': api,
          'cio_bridge.endpoint': endpoint,
          'messaging.batch.message_count': items.length,
        },
      },
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
