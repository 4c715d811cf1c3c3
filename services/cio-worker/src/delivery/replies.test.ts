import type { OutgoingMessage, Publisher } from '@cio-bridge/kafka';
import { testLogger } from '@cio-bridge/testkit';
import { Registry } from 'prom-client';
import { createWorkerMetrics } from '../metrics';
import type { Item } from './engine';
import { Replies } from './replies';

const NOW = Date.parse('2026-12-02T17:40:03.512Z');

function item(headers: Record<string, string>, id = '01JBV0Q7G5S3E8ZC5B1Y4N2K9T'): Item {
  return {
    envelope: {
      topic: 'customerio.transactional',
      partition: 2,
      offset: '41',
      timestamp: String(NOW - 80),
      key: Buffer.from('user-123'),
      value: Buffer.from('{}'),
      headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(v)])),
    },
    op: { person: 'user-123', body: Buffer.from('{}'), bytes: 2, action: 'transactional', event: '', id },
    attempts: 0,
    single: true,
    state: 'sending',
    source: { revoked: false, finish: () => {} },
  };
}

function replies() {
  const sent: { topic: string; messages: OutgoingMessage[] }[] = [];
  const publisher = {
    publish: async (topic: string, messages: OutgoingMessage[]) => {
      sent.push({ topic, messages });
    },
  } as unknown as Publisher;
  const registry = new Registry();
  const subject = new Replies({
    publisher,
    topic: 't.replies',
    logger: testLogger('replies'),
    metrics: createWorkerMetrics(registry),
    now: () => NOW,
  });
  return { subject, sent, registry };
}

describe('Replies', () => {
  it('publishes one compact reply, keyed by the operation id, to the partition the operation named', async () => {
    const { subject, sent, registry } = replies();
    subject.record(item({ 'x-reply-to': '7' }), { outcome: 'delivered', status: 200, deliveryId: 'dlv-1' });
    await subject.flush();
    expect(sent).toHaveLength(1);
    const [message] = sent[0]!.messages;
    expect(sent[0]!.topic).toBe('t.replies');
    expect(message).toMatchObject({ key: '01JBV0Q7G5S3E8ZC5B1Y4N2K9T', partition: 7 });
    expect(JSON.parse(String(message!.value))).toEqual({
      id: '01JBV0Q7G5S3E8ZC5B1Y4N2K9T',
      outcome: 'delivered',
      status: 200,
      error_class: null,
      attempts: 1,
      at: '2026-12-02T17:40:03.512Z',
      delivery_id: 'dlv-1',
    });
    expect(await registry.getSingleMetricAsString('cio_bridge_worker_replies_total')).toMatch(
      /result="published"} 1/,
    );
  });

  it('reports a dead letter with its class and status', async () => {
    const { subject, sent } = replies();
    subject.record(item({ 'x-reply-to': '0' }), {
      outcome: 'dead_lettered',
      status: 400,
      errorClass: 'http_4xx',
    });
    await subject.flush();
    expect(JSON.parse(String(sent[0]!.messages[0]!.value))).toMatchObject({
      outcome: 'dead_lettered',
      status: 400,
      error_class: 'http_4xx',
      delivery_id: null,
    });
  });

  it.each<Record<string, string>>([{}, { 'x-reply-to': 'elsewhere' }, { 'x-reply-to': '-1' }])(
    'publishes nothing for an operation nobody waits for (%p)',
    async (headers) => {
      const { subject, sent } = replies();
      subject.record(item(headers), { outcome: 'delivered', status: 200 });
      await subject.flush();
      expect(sent).toHaveLength(0);
    },
  );
});
