import type { KafkaClient } from './client';

/** A readiness check, callable; `close()` disconnects its admin client. */
export type KafkaReadiness = (() => Promise<'degraded' | undefined>) & { close(): Promise<void> };

/**
 * A readiness check that asks the cluster, with its own admin client that does not
 * retry, so a stopped broker shows within about a second. With OAUTHBEARER it first
 * checks the token: failing without a valid one (the token endpoint down or refusing),
 * `'degraded'` while renewal fails but the token still serves. Resolves or throws.
 */
export function kafkaReadiness(kafka: KafkaClient, timeoutMs = 2_000): KafkaReadiness {
  const admin = kafka.admin({ retry: { retries: 0 } });
  let connected = false;
  const check = async () => {
    const tokenState = await kafka.oauthTokens?.check();
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
    return tokenState;
  };
  return Object.assign(check, { close: () => admin.disconnect().catch(() => {}) });
}
