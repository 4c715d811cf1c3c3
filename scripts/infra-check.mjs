// Waits until the Kafka broker answers, creates the project's database when it is
// missing, and checks Postgres and (optional) Redis; says clearly what is missing.

import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/cio_bridge';
const problems = [];

async function waitForKafka(deadline) {
  const admin = new Kafka({
    brokers,
    clientId: 'infra-check',
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  }).admin();
  while (Date.now() < deadline) {
    try {
      await admin.connect();
      const { brokers: nodes } = await admin.describeCluster();
      await admin.disconnect();
      return nodes.length;
    } catch {
      await sleep(500);
    }
  }
  return 0;
}

async function ensureDatabase() {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  const admin = new pg.Client({
    connectionString: Object.assign(new URL(url), { pathname: '/postgres' }).href,
  });
  try {
    await admin.connect();
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) await admin.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
    return `ok (database ${name})`;
  } catch (error) {
    problems.push(
      `Postgres at ${url.host} does not answer (${error.message}); set DATABASE_URL or start PostgreSQL`,
    );
    return 'missing';
  } finally {
    await admin.end().catch(() => {});
  }
}

async function checkRedis() {
  const url = process.env.REDIS_URL;
  if (!url) return 'not configured (REDIS_URL unset: services use an in-process cache)';
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await redis.connect();
    await redis.ping();
    return 'ok';
  } catch (error) {
    problems.push(`Redis at REDIS_URL does not answer (${error.message})`);
    return 'missing';
  } finally {
    redis.disconnect();
  }
}

const kafkaNodes = await waitForKafka(Date.now() + 90_000);
if (!kafkaNodes)
  problems.push(`Kafka at ${brokers.join(',')} did not answer within 90 s (see .cache/kafka/broker.log)`);
const postgres = await ensureDatabase();
const redis = await checkRedis();
console.error(
  `infra: kafka ${kafkaNodes ? `ok (${brokers.join(',')})` : 'missing'}; postgres ${postgres}; redis ${redis}`,
);
for (const problem of problems) console.error(`infra: ${problem}`);
process.exit(problems.length ? 1 : 0);
