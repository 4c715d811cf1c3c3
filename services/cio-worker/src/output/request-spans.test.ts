import { Writable } from 'node:stream';
import { createLogger } from '@cio-bridge/logger';
import { InMemorySpanExporter, type ReadableSpan, SpanKind, startTracing } from '@cio-bridge/tracing';
import type { Item } from '../delivery/engine';
import { DeliveryError } from '../errors';
import { requestSpans } from './request-spans';

const PRODUCER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PRODUCER_SPAN = '00f067aa0ba902b7';

function item(offset: string, person: string, traced = true): Item {
  return {
    envelope: {
      topic: 'customerio.track',
      partition: 4,
      offset,
      timestamp: '1700000000000',
      key: Buffer.from(person),
      value: Buffer.from('{}'),
      headers: traced ? { traceparent: Buffer.from(`00-${PRODUCER_TRACE}-${PRODUCER_SPAN}-01`) } : {},
    },
    attempts: 0,
    single: false,
    state: 'sending',
    source: { revoked: false, finish: () => {} },
  } as unknown as Item;
}

let exporter: InMemorySpanExporter;
let spans: ReturnType<typeof requestSpans>;
beforeEach(() => {
  exporter = new InMemorySpanExporter();
  spans = requestSpans(startTracing({ serviceName: 'unit', env: {}, exporter }), 'https://track.customer.io');
});
const finished = (): ReadableSpan[] => exporter.getFinishedSpans();

describe('requestSpans', () => {
  it('a CONSUMER process span per operation, a child of and linked to the producer span, and an HTTP CLIENT span', async () => {
    const traced = spans([item('17', 'person-a@example.com'), item('18', 'person-b')], 'batch');
    await traced.run(async () => {});
    traced.end();
    const processes = finished().filter((span) => span.kind === SpanKind.CONSUMER);
    const [http] = finished().filter((span) => span.kind === SpanKind.CLIENT);
    expect(processes.map((span) => span.name)).toEqual([
      'process customerio.track',
      'process customerio.track',
    ]);
    expect(processes[0]!.parentSpanContext?.spanId).toBe(PRODUCER_SPAN);
    expect(processes[0]!.links.map((link) => link.context.spanId)).toEqual([PRODUCER_SPAN]);
    expect(processes[1]!.attributes).toEqual({
      'messaging.system': 'kafka',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.destination.name': 'customerio.track',
      'messaging.destination.partition.id': '4',
      'messaging.kafka.offset': 18,
    });
    expect(http!.name).toBe('POST');
    expect(http!.parentSpanContext?.spanId).toBe(processes[0]!.spanContext().spanId);
    expect(http!.links.map((link) => link.context.spanId)).toEqual([processes[1]!.spanContext().spanId]);
    expect(http!.attributes).toMatchObject({
      'http.request.method': 'POST',
      'server.address': 'track.customer.io',
      'server.port': 443,
      'http.response.status_code': 200,
    });
    // message keys are people's identifiers: never recorded
    expect(JSON.stringify(finished().map((span) => span.attributes))).not.toMatch(/person-/);
  });

  it("records Customer.io's status: 207 for a partial batch, the refusal's status, error.type without an answer", () => {
    spans([item('1', 'p')], 'batch').end(undefined, true);
    spans([item('2', 'p')], 'one').end(new DeliveryError('http_4xx', 'refused', false, 400));
    spans([item('3', 'p')], 'one').end(new DeliveryError('timeout', 'no answer', true));
    const http = finished().filter((span) => span.kind === SpanKind.CLIENT);
    expect(http.map((span) => span.attributes['http.response.status_code'])).toEqual([207, 400, undefined]);
    expect(http[2]!.attributes['error.type']).toBe('timeout');
    expect(http[1]!.status.code).toBe(2); // ERROR
  });

  it('runs what it is given inside the request span, so log lines carry its trace_id and span_id', () => {
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    const logger = createLogger({ name: 'cio-worker', destination });
    const traced = spans([item('9', 'p')], 'one');
    traced.run(() => logger.warn('dead-lettered'));
    traced.end();
    const http = finished().find((span) => span.kind === SpanKind.CLIENT)!;
    expect(lines[0]).toMatchObject({ trace_id: PRODUCER_TRACE, span_id: http.spanContext().spanId });
  });

  it('starts a new trace for an operation that brought none', () => {
    spans([item('5', 'p', false)], 'one').end();
    const [process] = finished().filter((span) => span.kind === SpanKind.CONSUMER);
    expect(process!.parentSpanContext).toBeUndefined();
    expect(process!.links).toEqual([]);
  });
});
