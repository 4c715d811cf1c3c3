import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort } from './service-process';

// Where the integration tests find Kafka, Postgres and Redis, decided once per test run
// (jest-global-setup.ts) for each of the three:
//   1. the variable (KAFKA_BROKERS, DATABASE_URL, REDIS_URL) when it is set;
//   2. else the server on this machine's default port when one answers
//      (`npm run infra:up` starts the local broker);
//   3. else, where Docker runs, a container started through testcontainers;
//   4. else this machine's default, which `npm test` starts (Kafka) or checks.

export type Source = 'environment' | 'local' | 'container';
export type Service = 'kafka' | 'postgres' | 'redis';
export type InfrastructurePlan = Record<Service, Source>;

export interface InfrastructureFacts {
  env: Partial<Record<(typeof VARIABLES)[Service], string>>;
  dockerRuns: boolean;
  /** whether something answers on this machine's default port of each */
  listening: Record<Service, boolean>;
}

export const VARIABLES = { kafka: 'KAFKA_BROKERS', postgres: 'DATABASE_URL', redis: 'REDIS_URL' } as const;
export const LOCAL_PORTS: Record<Service, number> = { kafka: 9092, postgres: 5432, redis: 6379 };
const SERVICES: Service[] = ['kafka', 'postgres', 'redis'];
const NAMES: Record<Service, string> = { kafka: 'Kafka', postgres: 'Postgres', redis: 'Redis' };

export function planInfrastructure({ env, dockerRuns, listening }: InfrastructureFacts): InfrastructurePlan {
  const source = (service: Service): Source => {
    if (env[VARIABLES[service]]?.trim()) return 'environment';
    if (listening[service]) return 'local';
    return dockerRuns ? 'container' : 'local';
  };
  return { kafka: source('kafka'), postgres: source('postgres'), redis: source('redis') };
}

/** Whether the run needs the broker `npm run infra:up` starts on this machine. */
export const usesLocalKafka = (plan: InfrastructurePlan): boolean => plan.kafka === 'local';

export function describePlan(plan: InfrastructurePlan): string {
  const where = (service: Service) =>
    ({
      environment: `from ${VARIABLES[service]}`,
      local: 'on this machine',
      container: 'in a container (testcontainers)',
    })[plan[service]];
  return `tests use ${SERVICES.map((service) => `${NAMES[service]} ${where(service)}`).join(', ')}`;
}

/** The Apache Kafka image of the version the local broker runs (infra/kafka/pom.xml). */
export function kafkaImage(): string {
  const pom = readFileSync(join(__dirname, '..', '..', '..', 'infra', 'kafka', 'pom.xml'), 'utf8');
  const version = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom)?.[1];
  if (!version) throw new Error('infra/kafka/pom.xml names no <kafka.version>');
  return `apache/kafka:${version}`;
}

const answers = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.setTimeout(1_000, () => {
      socket.destroy();
      resolve(false);
    });
  });

const dockerRuns = () =>
  new Promise<boolean>((resolve) => {
    execFile('docker', ['info'], { timeout: 10_000 }, (error) => resolve(!error));
  });

export async function probeInfrastructure(
  env: NodeJS.ProcessEnv = process.env,
): Promise<InfrastructureFacts> {
  const [docker, kafka, postgres, redis] = await Promise.all([
    dockerRuns(),
    ...SERVICES.map((service) => answers(LOCAL_PORTS[service])),
  ]);
  return {
    env: { KAFKA_BROKERS: env.KAFKA_BROKERS, DATABASE_URL: env.DATABASE_URL, REDIS_URL: env.REDIS_URL },
    dockerRuns: docker === true,
    listening: { kafka: kafka === true, postgres: postgres === true, redis: redis === true },
  };
}

export interface StartedInfrastructure {
  /** the variables that point the tests (and the services they start) at the containers */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** Starts a container for each service the plan puts in one. */
export async function startContainers(plan: InfrastructurePlan): Promise<StartedInfrastructure> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const env: Record<string, string> = {};
  const stops: (() => Promise<unknown>)[] = [];
  try {
    if (plan.kafka === 'container') {
      // The broker advertises the host port, so it is chosen before the container starts.
      const port = await freePort();
      const kafka = await new GenericContainer(kafkaImage())
        .withExposedPorts({ container: 9092, host: port })
        .withEnvironment({
          KAFKA_NODE_ID: '1',
          KAFKA_PROCESS_ROLES: 'broker,controller',
          KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
          KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
          KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
          KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${port}`,
          KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
          KAFKA_INTER_BROKER_LISTENER_NAME: 'PLAINTEXT',
          KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
          KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
          KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
          KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: '1',
          KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: '1',
          KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
          KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
          KAFKA_HEAP_OPTS: '-Xms256m -Xmx512m',
        })
        .withWaitStrategy(Wait.forLogMessage('Kafka Server started'))
        .start();
      stops.push(() => kafka.stop());
      env.KAFKA_BROKERS = `127.0.0.1:${port}`;
    }
    if (plan.postgres === 'container') {
      const postgres = await new GenericContainer('postgres:17')
        .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust', POSTGRES_DB: 'cio_bridge' })
        .withExposedPorts(5432)
        .withWaitStrategy(Wait.forLogMessage('database system is ready to accept connections', 2))
        .start();
      stops.push(() => postgres.stop());
      env.DATABASE_URL = `postgres://postgres@${postgres.getHost()}:${postgres.getMappedPort(5432)}/cio_bridge`;
    }
    if (plan.redis === 'container') {
      const redis = await new GenericContainer('redis:7-alpine')
        .withExposedPorts(6379)
        .withWaitStrategy(Wait.forLogMessage('Ready to accept connections'))
        .start();
      stops.push(() => redis.stop());
      env.REDIS_URL = `redis://${redis.getHost()}:${redis.getMappedPort(6379)}`;
    }
  } catch (error) {
    await Promise.allSettled(stops.map((stop) => stop()));
    throw error;
  }
  return { env, stop: async () => void (await Promise.allSettled(stops.map((stop) => stop()))) };
}
