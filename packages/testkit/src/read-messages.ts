import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { uniqueName } from './topics';

export type ReadMessage = KafkaMessage & { partition: number };

/**
 * Reads a topic from the beginning with a group of its own until `count` messages
 * arrived (then waits `settleMs` more to catch any extra ones) or the time is up.
 */
export async function readMessages(
  kafka: Kafka,
  topic: string,
  { count, timeoutMs = 20_000, settleMs = 0 }: { count: number; timeoutMs?: number; settleMs?: number },
): Promise<ReadMessage[]> {
  const consumer = kafka.consumer({ groupId: uniqueName('reader'), maxWaitTimeInMs: 100 });
  const messages: ReadMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let done: () => void = () => {};
    const enough = new Promise<void>((resolve) => {
      done = resolve;
    });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        messages.push({ ...message, partition });
        if (messages.length >= count) done();
      },
    });
    const timeUp = new AbortController();
    // Cancelled once enough arrived, so no timer outlives the read.
    const timeout = sleep(timeoutMs, undefined, { signal: timeUp.signal }).catch(() => {});
    await Promise.race([enough, timeout]);
    timeUp.abort();
    if (settleMs > 0) await sleep(settleMs);
    return messages;
  } finally {
    await consumer.disconnect();
  }
}
