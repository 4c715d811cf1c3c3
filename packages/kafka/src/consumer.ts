import type { Consumer, ConsumerConfig, Kafka } from 'kafkajs';

export interface ConsumerOptions extends ConsumerConfig {
  groupId: string;
}

/** A consumer with the project's defaults: no topic auto-creation, bounded fetches. */
export function createConsumer(kafka: Kafka, options: ConsumerOptions): Consumer {
  return kafka.consumer({
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    allowAutoTopicCreation: false,
    maxBytesPerPartition: 1024 * 1024,
    maxWaitTimeInMs: 250,
    ...options,
  });
}
