import { context, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { contextFromHeaders, disabledTracing, startTracing, traceHeaders, tracingEnabled } from './index';

const PARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('tracingEnabled (standard OTEL_* variables)', () => {
  it('is off by default and on with an OTLP endpoint or exporter', () => {
    expect(tracingEnabled({})).toBe(false);
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(true);
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' })).toBe(
      true,
    );
    expect(tracingEnabled({ OTEL_TRACES_EXPORTER: 'otlp' })).toBe(true);
  });

  it('is off when disabled, whatever else is set', () => {
    expect(tracingEnabled({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' })).toBe(false);
    expect(
      tracingEnabled({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }),
    ).toBe(false);
  });

  it('names the variable for an exporter it does not have', () => {
    expect(() => tracingEnabled({ OTEL_TRACES_EXPORTER: 'zipkin' })).toThrow(
      /OTEL_TRACES_EXPORTER must be otlp or none/,
    );
  });
});

describe('W3C trace context in headers', () => {
  it('reads traceparent from HTTP and Kafka headers alike', () => {
    for (const headers of [
      { traceparent: PARENT },
      { traceparent: Buffer.from(PARENT) },
      { traceparent: [PARENT] },
    ]) {
      const span = trace.getSpanContext(contextFromHeaders(headers));
      expect(span).toMatchObject({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' });
    }
    expect(trace.getSpanContext(contextFromHeaders({}))).toBeUndefined();
    expect(trace.getSpanContext(contextFromHeaders({ traceparent: 'garbage' }))).toBeUndefined();
  });

  it('writes nothing without a span, and the incoming context passes through unchanged', () => {
    expect(traceHeaders(ROOT_CONTEXT)).toEqual({});
    expect(traceHeaders(contextFromHeaders({ traceparent: PARENT, tracestate: 'vendor=1' }))).toEqual({
      traceparent: PARENT,
      tracestate: 'vendor=1',
    });
  });
});

describe('startTracing', () => {
  it('is the disabled tracing when OTEL_* is unset: spans record nothing and write no headers', async () => {
    const tracing = startTracing({ serviceName: 'test', env: {} });
    expect(tracing).toBe(disabledTracing);
    const span = tracing.tracer.startSpan('x', {}, ROOT_CONTEXT);
    expect(span.isRecording()).toBe(false);
    expect(traceHeaders(trace.setSpan(ROOT_CONTEXT, span))).toEqual({});
    await tracing.shutdown();
  });

  it('records child spans of an incoming trace and hands the context on', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = startTracing({ serviceName: 'unit', env: {}, exporter });
    const parent = contextFromHeaders({ traceparent: PARENT });
    const span = tracing.tracer.startSpan('publish', { kind: SpanKind.PRODUCER }, parent);
    const headers = traceHeaders(trace.setSpan(parent, span));
    span.end();
    const [finished] = exporter.getFinishedSpans();
    await tracing.shutdown();
    expect(finished?.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(finished?.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(finished?.resource.attributes['service.name']).toBe('unit');
    expect(headers.traceparent).toBe(
      `00-0af7651916cd43dd8448eb211c80319c-${finished?.spanContext().spanId}-01`,
    );
  });

  it('keeps the active span across awaits once on, so log lines can carry its trace ids', async () => {
    const tracing = startTracing({ serviceName: 'unit', env: {}, exporter: new InMemorySpanExporter() });
    const span = tracing.tracer.startSpan('send', { kind: SpanKind.PRODUCER }, ROOT_CONTEXT);
    const seen = await context.with(trace.setSpan(ROOT_CONTEXT, span), async () => {
      await new Promise((resolve) => setImmediate(resolve));
      return trace.getSpan(context.active());
    });
    span.end();
    await tracing.shutdown();
    expect(seen?.spanContext().spanId).toBe(span.spanContext().spanId);
  });
});
