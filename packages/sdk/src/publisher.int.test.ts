import { seedExamples, type TrackOperation } from '@cio-bridge/schemas';
import { createTestTopics, readMessages, testKafka, testTopicNames } from '@cio-bridge/testkit';
import type { Kafka } from 'kafkajs';
import { CioPublisher, RESUBSCRIBE_EVENT } from './index';

jest.setTimeout(60_000);

describe('CioPublisher against the real broker', () => {
  const topics = testTopicNames('sdk');
  let kafka: Kafka;
  let sdk: CioPublisher;

  beforeAll(async () => {
    kafka = await testKafka('sdk-int');
    await createTestTopics(kafka, topics);
    sdk = await CioPublisher.connect(kafka, { topics, timeoutMs: 10_000 });
  });

  afterAll(async () => {
    await sdk.close();
  });

  it('puts every seed event on the track topic with its key, its id and unchanged content', async () => {
    const ops = Object.values(seedExamples());
    const sent = await sdk.sendBatch(ops);
    const messages = await readMessages(kafka, topics.track, {
      count: ops.length,
      timeoutMs: 60_000,
      settleMs: 300,
    });
    expect(messages).toHaveLength(ops.length);
    const byId = new Map(messages.map((m) => [JSON.parse(String(m.value)).id as string, m]));
    ops.forEach((op, i) => {
      const message = byId.get(sent[i]?.id ?? '');
      expect(message?.key?.toString()).toBe('user-123');
      expect(JSON.parse(String(message?.value))).toEqual({ ...op, id: sent[i]?.id });
      expect(message?.headers?.['x-operation-id']?.toString()).toBe(sent[i]?.id);
    });
  });

  it('keeps the subscription lifecycle of one member in order on one partition', async () => {
    const member = 'member-lifecycle-1';
    await sdk.updateSubscriptions({ member, before: undefined, after: { email: true, sms: false } });
    await sdk.updateSubscriptions({
      member,
      before: { email: true, sms: false },
      after: { email: false, sms: false },
    });
    await sdk.updateSubscriptions({
      member,
      before: { email: false, sms: false },
      after: { email: false, sms: true },
    });
    await sdk.sendTransactional({
      transactional_message_id: 'password_reset',
      to: 'jane@example.com',
      identifiers: { id: member },
    });
    const all = await readMessages(kafka, topics.track, { count: 9 + 4, timeoutMs: 60_000, settleMs: 300 });
    const mine = all.filter((m) => m.key?.toString() === member);
    expect(new Set(mine.map((m) => m.partition)).size).toBe(1);
    const values = mine.map((m) => JSON.parse(String(m.value)) as TrackOperation);
    expect(values.map((v) => v.action ?? v.name)).toEqual([
      'identify',
      'delete',
      'identify',
      RESUBSCRIBE_EVENT,
    ]);
    const [transactional] = await readMessages(kafka, topics.transactional, { count: 1, timeoutMs: 60_000 });
    expect(transactional?.key?.toString()).toBe(member);
    expect(JSON.parse(String(transactional?.value))).toMatchObject({
      transactional_message_id: 'password_reset',
    });
  });
});
