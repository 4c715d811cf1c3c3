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
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([enough, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    if (settleMs > 0) await new Promise((resolve) => setTimeout(resolve, settleMs));
    return messages;
  } finally {
    await consumer.disconnect();
  }
}
