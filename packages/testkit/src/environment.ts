import { execFileSync } from 'node:child_process';

// Integration tests use the real broker and database: from the environment when
// set, otherwise containers where Docker runs, otherwise the local defaults that
// `npm run infra:up` provides.

let brokers: Promise<string[]> | undefined;
let databaseUrl: Promise<string> | undefined;

function dockerRuns(): boolean {
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 5_000 });
    return true;
  } catch {
    return false;
  }
}

export function testKafkaBrokers(): Promise<string[]> {
  brokers ??= (async () => {
    if (process.env.KAFKA_BROKERS) return process.env.KAFKA_BROKERS.split(',');
    if (!dockerRuns()) return ['127.0.0.1:9092'];
    const { GenericContainer, Wait } = await import('testcontainers');
    const container = await new GenericContainer('apache/kafka:4.1.1')
      .withExposedPorts({ container: 9092, host: 19092 })
      .withEnvironment({
        KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
        KAFKA_ADVERTISED_LISTENERS: 'PLAINTEXT://127.0.0.1:19092',
      })
      .withWaitStrategy(Wait.forLogMessage('Kafka Server started'))
      .start();
    return [`${container.getHost()}:${container.getMappedPort(9092)}`];
  })();
  return brokers;
}

export function testDatabaseUrl(): Promise<string> {
  databaseUrl ??= (async () => {
    if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
    if (!dockerRuns()) return 'postgres://postgres@127.0.0.1:5432/cio_bridge';
    const { GenericContainer, Wait } = await import('testcontainers');
    const container = await new GenericContainer('postgres:17-alpine')
      .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust', POSTGRES_DB: 'cio_bridge' })
      .withExposedPorts(5432)
      .withWaitStrategy(Wait.forLogMessage('database system is ready to accept connections', 2))
      .start();
    return `postgres://postgres@${container.getHost()}:${container.getMappedPort(5432)}/cio_bridge`;
  })();
  return databaseUrl;
}

export const testRedisUrl = (): string => process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
