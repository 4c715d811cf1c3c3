import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  describePlan,
  type InfrastructureFacts,
  kafkaImage,
  planInfrastructure,
  usesLocalKafka,
} from './infrastructure';

const nothing = { kafka: false, postgres: false, redis: false };
const facts = (overrides: Partial<InfrastructureFacts>): InfrastructureFacts => ({
  env: {},
  dockerRuns: false,
  listening: nothing,
  ...overrides,
});

describe('planInfrastructure: where the tests find Kafka, Postgres and Redis', () => {
  it.each<[string, Partial<InfrastructureFacts>, ReturnType<typeof planInfrastructure>]>([
    [
      'variables set win over Docker and local servers',
      {
        env: { KAFKA_BROKERS: 'k:9092', DATABASE_URL: 'postgres://db/x', REDIS_URL: 'redis://r:6379' },
        dockerRuns: true,
        listening: { kafka: true, postgres: true, redis: true },
      },
      { kafka: 'environment', postgres: 'environment', redis: 'environment' },
    ],
    [
      'Docker runs and nothing listens: containers for all three',
      { dockerRuns: true },
      { kafka: 'container', postgres: 'container', redis: 'container' },
    ],
    [
      'Docker runs and a local broker is up: that broker, containers for the rest',
      { dockerRuns: true, listening: { kafka: true, postgres: false, redis: false } },
      { kafka: 'local', postgres: 'container', redis: 'container' },
    ],
    [
      'Docker runs and everything is local: no container',
      { dockerRuns: true, listening: { kafka: true, postgres: true, redis: true } },
      { kafka: 'local', postgres: 'local', redis: 'local' },
    ],
    [
      'KAFKA_BROKERS set, Docker runs, nothing listens: the variable, containers for the rest',
      { env: { KAFKA_BROKERS: 'k:9092' }, dockerRuns: true },
      { kafka: 'environment', postgres: 'container', redis: 'container' },
    ],
    [
      'DATABASE_URL set, no Docker, nothing listens: the variable, local for the rest (npm run infra:up starts Kafka)',
      { env: { DATABASE_URL: 'postgres://db/x' } },
      { kafka: 'local', postgres: 'environment', redis: 'local' },
    ],
    [
      'no Docker and nothing listening: the local defaults',
      {},
      { kafka: 'local', postgres: 'local', redis: 'local' },
    ],
    [
      'an empty variable counts as unset',
      { env: { KAFKA_BROKERS: '', DATABASE_URL: ' ' }, dockerRuns: true },
      { kafka: 'container', postgres: 'container', redis: 'container' },
    ],
  ])('%s', (_case, given, expected) => {
    expect(planInfrastructure(facts(given))).toEqual(expected);
  });

  it('says whether the local broker must be started (npm test runs infra:up only then)', () => {
    expect(usesLocalKafka(planInfrastructure(facts({})))).toBe(true);
    expect(usesLocalKafka(planInfrastructure(facts({ dockerRuns: true })))).toBe(false);
    expect(usesLocalKafka(planInfrastructure(facts({ env: { KAFKA_BROKERS: 'k:9092' } })))).toBe(false);
  });

  it('describes the choice in one line', () => {
    expect(describePlan({ kafka: 'environment', postgres: 'container', redis: 'local' })).toBe(
      'tests use Kafka from KAFKA_BROKERS, Postgres in a container (testcontainers), Redis on this machine',
    );
  });
});

describe('kafkaImage', () => {
  it('is the Apache Kafka image of the version infra/kafka/pom.xml runs locally', () => {
    const pom = readFileSync(join(__dirname, '..', '..', '..', 'infra', 'kafka', 'pom.xml'), 'utf8');
    const version = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom)?.[1];
    expect(version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(kafkaImage()).toBe(`apache/kafka:${version}`);
  });
});
