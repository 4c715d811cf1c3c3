import {
  type Attributes,
  type Context,
  context,
  contextFromHeaders,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracing,
  trace,
} from '@cio-bridge/tracing';
import type { Item } from '../delivery/engine';
import type { RequestTrace } from '../delivery/engine-options';

/**
 * The spans of one Customer.io request, by the OpenTelemetry conventions:
 * - per operation it carries, a CONSUMER `process <topic>` span, a child of (and linked
 *   to) the producer's span whose context the message brought in its headers;
 * - the call itself, an HTTP CLIENT span (`POST`), a child of the first operation's
 *   `process` span and linked to the others'.
 * Hand-written, not kafkajs's or undici's instrumentation: the worker consumes a batch
 * and delivers its operations later, per person and many in one request, so a span of
 * the consumer callback would end before delivery begins; and an instrumented fetch
 * records the URL, whose path holds a person's identifier on the Track API v1. The
 * message key (a person's identifier) is never recorded either.
 */
export function requestSpans(tracing: Tracing, serverUrl: string) {
  const server = new URL(serverUrl);
  const serverAttributes: Attributes = {
    'server.address': server.hostname,
    'server.port': Number(server.port) || (server.protocol === 'https:' ? 443 : 80),
  };
  return (items: Item[], endpoint: string): RequestTrace => {
    const processes = items.map((item) => processSpan(tracing, item));
    const [first] = processes;
    const parent: Context = first ? trace.setSpan(ROOT_CONTEXT, first) : ROOT_CONTEXT;
    const http = tracing.tracer.startSpan(
      'POST',
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'http.request.method': 'POST',
          ...serverAttributes,
          'cio_bridge.endpoint': endpoint,
          'messaging.batch.message_count': items.length,
        },
        links: processes.slice(1).map((span) => ({ context: span.spanContext() })),
      },
      parent,
    );
    return {
      run: (call) => context.with(trace.setSpan(parent, http), call),
      end: (error, partial) => {
        const status = error ? error.status : partial ? 207 : 200;
        if (status !== undefined) http.setAttribute('http.response.status_code', status);
        // no answer (a timeout, a reset): the conventions' error.type instead of a status
        else http.setAttribute('error.type', error?.errorClass ?? 'unknown');
        for (const span of [http, ...processes]) {
          if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: error.errorClass });
          span.end();
        }
      },
    };
  };
}

function processSpan(tracing: Tracing, item: Item): Span {
  const { topic, partition, offset, headers } = item.envelope;
  const producer = contextFromHeaders(headers);
  const producerSpan = trace.getSpanContext(producer);
  return tracing.tracer.startSpan(
    `process ${topic}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': 'kafka',
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'process',
        'messaging.destination.name': topic,
        'messaging.destination.partition.id': String(partition),
        'messaging.kafka.offset': Number(offset),
      },
      links: producerSpan ? [{ context: producerSpan }] : [],
    },
    producer,
  );
}
