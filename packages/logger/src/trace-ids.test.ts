import { Writable } from 'node:stream';
import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { createLogger } from './index';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { lines, destination };
}

const spanContext = {
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  spanId: '00f067aa0ba902b7',
  traceFlags: 1,
};

beforeAll(() => context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
afterAll(() => context.disable());

describe('trace ids in log lines', () => {
  it('writes trace_id and span_id on every line written inside a span, also after an await', async () => {
    const { lines, destination } = capture();
    const logger = createLogger({ name: 'cio-worker', destination });
    const inSpan = trace.setSpan(ROOT_CONTEXT, trace.wrapSpanContext(spanContext));
    await context.with(inSpan, async () => {
      logger.warn({ topic: 'customerio.dlq' }, 'dead-lettered');
      await new Promise((resolve) => setImmediate(resolve));
      logger.child({ partition: 2 }).info('after an await');
    });
    expect(lines).toHaveLength(2);
    for (const line of lines)
      expect(line).toMatchObject({ trace_id: spanContext.traceId, span_id: spanContext.spanId });
  });

  it('writes neither outside a span', () => {
    const { lines, destination } = capture();
    createLogger({ name: 'cio-worker', destination }).info('no span');
    expect(lines[0]).not.toHaveProperty('trace_id');
    expect(lines[0]).not.toHaveProperty('span_id');
  });
});
