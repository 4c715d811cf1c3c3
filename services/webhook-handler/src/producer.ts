import { type Kafka, Partitioners, type Producer } from 'kafkajs';

/**
 * The webhook-handler's producer, as main.ts and the tests build it: idempotent, one
 * request in flight (the Publisher's contract), and murmur2 partitioning like the Java
 * client and the producer service, so a `suppress` operation lands on the same
 * `customerio.track` partition as everything else about that person.
 */
export function createWebhookProducer(kafka: Kafka): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
}
