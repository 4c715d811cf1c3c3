import type { Kafka } from 'kafkajs';

/** A readiness check, callable; `close()` disconnects its admin client. */
export type KafkaReadiness = (() => Promise<void>) & { close(): Promise<void> };

/**
 * A readiness check that asks the cluster, with its own admin client that does not
 * retry, so a stopped broker shows within about a second. Resolves or throws.
 */
export function kafkaReadiness(kafka: Kafka, timeoutMs = 2_000): KafkaReadiness {
  const admin = kafka.admin({ retry: { retries: 0 } });
  let connected = false;
  const check = async () => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Kafka did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([
        (async () => {
          if (!connected) {
            await admin.connect();
            connected = true;
          }
          await admin.describeCluster();
        })(),
        timeout,
      ]);
    } catch (error) {
      connected = false;
      await admin.disconnect().catch(() => {});
      throw error;
    } finally {
      clearTimeout(timer);
    }
  };
  return Object.assign(check, { close: () => admin.disconnect().catch(() => {}) });
}
