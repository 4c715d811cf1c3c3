import type { Producer, ProducerBatch } from 'kafkajs';
import { MessagePlacement } from './placement';
import { Publisher, PublishTimeoutError } from './publisher';

function fakeProducer() {
  const calls: ProducerBatch[] = [];
  let release: (() => void) | undefined;
  let fail: Error | undefined;
  const producer = {
    sendBatch: jest.fn(async (batch: ProducerBatch) => {
      calls.push(batch);
      if (fail) throw fail;
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      return [];
    }),
  } as unknown as Producer;
  return {
    producer,
    calls,
    ack: () => release?.(),
    failWith: (error: Error) => {
      fail = error;
    },
  };
}
const tick = () => new Promise((r) => setImmediate(r));

describe('Publisher', () => {
  it('shares one produce request between callers that arrive while another is in flight', async () => {
    const fake = fakeProducer();
    const publisher = new Publisher({ producer: fake.producer });
    const first = publisher.publish('a', [{ key: 'k1', value: '1' }]);
    await tick();
    const second = publisher.publish('a', [{ key: 'k2', value: '2' }]);
    const third = publisher.publish('b', [{ key: 'k3', value: '3' }]);
    await tick();
    expect(fake.calls).toHaveLength(1);
    fake.ack();
    await first;
    await tick();
    expect(fake.calls).toHaveLength(2);
    expect(fake.calls[1]!.topicMessages!.map((t) => [t.topic, t.messages.map((m) => m.key)])).toEqual([
      ['a', ['k2']],
      ['b', ['k3']],
    ]);
    expect(fake.calls[1]!.acks).toBe(-1);
    fake.ack();
    await Promise.all([second, third]);
  });

  it('rejects every caller of a failed request', async () => {
    const fake = fakeProducer();
    fake.failWith(new Error('broker down'));
    const publisher = new Publisher({ producer: fake.producer });
    await expect(publisher.publish('a', [{ key: 'k', value: 'v' }])).rejects.toThrow('broker down');
  });

  it('times out, and takes back what was not sent yet', async () => {
    const fake = fakeProducer();
    const publisher = new Publisher({ producer: fake.producer, timeoutMs: 50 });
    const first = publisher.publish('a', [{ key: 'k1', value: '1' }]);
    await tick();
    const queued = publisher.publish('a', [{ key: 'k2', value: '2' }]);
    await expect(first).rejects.toBeInstanceOf(PublishTimeoutError);
    await expect(queued).rejects.toThrow('did not acknowledge within 50 ms');
    expect(publisher.waiting).toBe(0);
    fake.ack();
    await tick();
    expect(fake.calls).toHaveLength(1);
  });

  it('splits a backlog into requests of bounded size', async () => {
    const fake = fakeProducer();
    const publisher = new Publisher({ producer: fake.producer, maxBatchMessages: 2 });
    const all = [1, 2, 3, 4, 5].map((n) => publisher.publish('a', [{ key: `k${n}`, value: 'v' }]));
    for (let i = 0; i < 3; i++) {
      await tick();
      fake.ack();
    }
    await Promise.all(all);
    expect(fake.calls.map((c) => c.topicMessages![0]!.messages.length)).toEqual([2, 2, 1]);
  });

  it('tells each of several callers sharing a produce request where its own messages went', async () => {
    const placement = new MessagePlacement();
    const choose = placement.partitioner(
      () =>
        ({ message }) =>
          String(message.key).startsWith('a') ? 0 : 1,
    )();
    // kafkajs hands the messages it was given to the partitioner, then answers per partition
    const producer = {
      sendBatch: async (batch: ProducerBatch) => {
        for (const { topic, messages } of batch.topicMessages ?? [])
          for (const message of messages) choose({ topic, partitionMetadata: [], message });
        return [
          { topicName: 't', partition: 0, errorCode: 0, baseOffset: '100' },
          { topicName: 't', partition: 1, errorCode: 0, baseOffset: '5' },
        ];
      },
    } as unknown as Producer;
    const publisher = new Publisher({ producer, placement });
    const first = publisher.publishPlaced('t', [
      { key: 'a1', value: '1' },
      { key: 'b1', value: '2' },
    ]);
    const second = publisher.publishPlaced('t', [{ key: 'a2', value: '3' }]);
    expect(await first).toEqual([
      { partition: 0, offset: 100 },
      { partition: 1, offset: 5 },
    ]);
    expect(await second).toEqual([{ partition: 0, offset: 101 }]);
  });
});
