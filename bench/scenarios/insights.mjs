// insights-processor: predictions persisted per second from a Kafka backlog into
// users.ai_features (field-by-field merge, one statement per batch, offsets after the
// commit), against a plain batched INSERT ... ON CONFLICT with pg in the same run;
// read API requests/s on cache hits (in-process LRU; Redis too with INSIGHTS_BENCH_REDIS=1);
// the processor's peak RSS.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { httpLoad, median, root, sleep, startService } from '../lib.mjs';

const require = createRequire(import.meta.url);
const { Kafka, logLevel } = require('kafkajs');
const pg = require('pg');

const PORT = 18183;
const USERS = 50_000;
const BACKLOG = 80_000;
const BASELINE_BATCH = 1_000;
/** the read API's bearer token (INSIGHTS_API_TOKENS) */
const READ_TOKEN = 'bench-insights-read-token';
const readHeaders = { authorization: `Bearer ${READ_TOKEN}` };
const CONCURRENCY = 6; // INSIGHTS_PARTITIONS_CONCURRENCY's default
const HOT_USERS = 1_000; // ids the read benchmark cycles through
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/cio_bridge';
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * The Node flags of the service's `npm start` (heap sizing), so the processor runs here as
 * it is deployed; startService runs `node dist/main.js`, the flags go in NODE_OPTIONS.
 */
function startFlags() {
  const { scripts } = JSON.parse(
    readFileSync(join(root, 'services/insights-processor/package.json'), 'utf8'),
  );
  return /^node (.*?) ?dist\/main\.js$/.exec(scripts.start)?.[1] ?? '';
}

const withSearchPath = (url, schema) => {
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.href;
};

async function metric(name) {
  const text = await fetch(`http://127.0.0.1:${PORT}/metrics`).then((r) => r.text());
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

/** The predictions a webhook-handler would publish: three fields each, as_of rising. */
function backlog() {
  const base = Date.parse('2025-01-01T00:00:00Z');
  return Array.from({ length: BACKLOG }, (_, i) => {
    const userId = 1 + ((i * 7919) % USERS);
    const value = {
      user_id: userId,
      predictions: {
        churn_probability: (i % 100) / 100,
        engagement_score: (i % 37) / 37,
        recommended_segment: i % 2 ? 'high_risk' : 'concentrate_lover',
      },
      as_of: new Date(base + i * 1000).toISOString(),
      received_at: new Date(base + i * 1000 + 50).toISOString(),
      webhook_id: i.toString(16).padStart(64, '0'),
    };
    return { key: String(userId), value: JSON.stringify(value) };
  });
}

/** Rows per second of the baseline: plain batched upserts, CONCURRENCY connections, no merge logic. */
async function baselineRate(url, durationMs) {
  const pool = new pg.Pool({ connectionString: url, max: CONCURRENCY });
  await pool.query('TRUNCATE baseline_users');
  await pool.query('INSERT INTO baseline_users (id) SELECT generate_series(1, $1::int)', [USERS]);
  let rows = 0;
  let batch = 0;
  const deadline = Date.now() + durationMs;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < deadline) {
        const first = (batch++ * BASELINE_BATCH) % USERS;
        const ids = Array.from({ length: BASELINE_BATCH }, (_, j) => 1 + ((first + j) % USERS));
        const features = ids.map((id) =>
          JSON.stringify({ churn_probability: id / USERS, engagement_score: 0.5 }),
        );
        await pool.query(
          `INSERT INTO baseline_users (id, ai_features) SELECT * FROM unnest($1::bigint[], $2::jsonb[])
           ON CONFLICT (id) DO UPDATE SET ai_features = EXCLUDED.ai_features`,
          [ids, features],
        );
        rows += ids.length;
      }
    }),
  );
  await pool.end();
  return rows / ((Date.now() - started) / 1000);
}

export default async function run({ durationMs, repeats, log }) {
  if (!existsSync(join(root, 'services/insights-processor/dist/main.js'))) {
    throw new Error('services/insights-processor/dist/main.js missing: run the build first');
  }
  const suffix = `bench-insights-${Date.now().toString(36)}`;
  const schema = suffix.replaceAll('-', '_');
  const url = withSearchPath(databaseUrl, schema);
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  const topics = {
    KAFKA_TOPIC_PREDICTIONS: `${suffix}.predictions`,
    KAFKA_TOPIC_REPORTING: `${suffix}.reporting`,
  };
  const kafka = new Kafka({ clientId: 'bench-insights', brokers, logLevel: logLevel.ERROR });
  const services = [];
  const peaks = [];
  const flags = startFlags();
  const start = async (env) => {
    const service = await startService(
      'insights-processor',
      {
        PORT: String(PORT),
        DATABASE_URL: url,
        INSIGHTS_API_TOKENS: READ_TOKEN,
        NODE_OPTIONS: flags,
        ...topics,
        ...env,
      },
      { readyUrl: `http://127.0.0.1:${PORT}/readyz` },
    );
    services.push(service);
    return service;
  };
  const stop = async (service) => {
    peaks.push(service.peakRssMb());
    await service.stop();
    services.splice(services.indexOf(service), 1);
  };

  try {
    // One users table per repeat, each as the upstream app would have it before migrating.
    for (let r = 0; r < repeats; r++) {
      await db.query(`CREATE TABLE users_${r} (id bigint PRIMARY KEY, email text)`);
      await db.query(`INSERT INTO users_${r} (id) SELECT generate_series(1, $1::int)`, [USERS]);
    }
    await db.query(
      `CREATE TABLE baseline_users (id bigint PRIMARY KEY, ai_features jsonb NOT NULL DEFAULT '{}')`,
    );
    const kafkaAdmin = kafka.admin();
    await kafkaAdmin.connect();
    await kafkaAdmin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: topics.KAFKA_TOPIC_PREDICTIONS, numPartitions: 6 },
        { topic: topics.KAFKA_TOPIC_REPORTING, numPartitions: 6 },
      ],
    });
    await kafkaAdmin.disconnect();

    log(`insights: producing a backlog of ${BACKLOG.toLocaleString('en-US')} predictions`);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const messages = backlog();
    for (let i = 0; i < messages.length; i += 10_000) {
      await producer.send({
        topic: topics.KAFKA_TOPIC_PREDICTIONS,
        acks: -1,
        messages: messages.slice(i, i + 10_000),
      });
    }
    await producer.disconnect();

    // Read API load on cache hits: the hot users were written through the processor's cache.
    const hotPaths = Array.from({ length: HOT_USERS }, (_, i) => `/v1/users/${1 + i}/ai-features`);
    const readRate = async () => {
      for (let i = 0; i < HOT_USERS; i += 50) {
        await Promise.all(
          hotPaths
            .slice(i, i + 50)
            .map((path) =>
              fetch(`http://127.0.0.1:${PORT}${path}`, { headers: readHeaders }).then((r) => r.arrayBuffer()),
            ),
        );
      }
      const missesBefore = await metric('cio_bridge_insights_cache_misses_total');
      let next = 0;
      const result = await httpLoad({
        url: `http://127.0.0.1:${PORT}`,
        requests: [
          {
            method: 'GET',
            headers: readHeaders,
            setupRequest: (req) => ({ ...req, path: hotPaths[next++ % HOT_USERS] }),
          },
        ],
        duration: durationMs / 1000,
      });
      if (result.non2xx > 0 || result.errors > 0) {
        throw new Error(`read API: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
      }
      return { ...result, misses: (await metric('cio_bridge_insights_cache_misses_total')) - missesBefore };
    };

    const rates = [];
    const baselines = [];
    const reads = [];
    for (let r = 0; r < repeats; r++) {
      // A fresh group on a fresh users table: each repeat does the same work from the backlog.
      const service = await start({ USERS_TABLE: `users_${r}`, KAFKA_GROUP_ID: `${suffix}-${r}` });
      let persisted = 0;
      let firstAt;
      let t0;
      let c0;
      let t1;
      // Warm-up: the first second of persisting (group join, connections, JIT) is not counted;
      // then durationMs, or until the backlog is drained.
      for (;;) {
        await sleep(250);
        const now = Date.now();
        persisted = await metric('cio_bridge_insights_predictions_persisted_total');
        if (persisted > 0 && firstAt === undefined) firstAt = now;
        if (firstAt !== undefined && t0 === undefined && now - firstAt >= 1_000) {
          t0 = now;
          c0 = persisted;
        }
        t1 = now;
        if (persisted >= BACKLOG || (t0 !== undefined && now >= t0 + durationMs)) break;
      }
      if (t0 === undefined || t1 === t0)
        throw new Error('the backlog drained within the warm-up: raise BACKLOG');
      const rate = (persisted - c0) / ((t1 - t0) / 1000);
      rates.push(rate);
      log(
        `insights: repeat ${r + 1}: ${Math.round(rate)} predictions/s (${await metric('cio_bridge_insights_batch_messages_count')} batches)`,
      );
      for (let i = 0; i < 300 && persisted < BACKLOG; i++) {
        await sleep(100);
        persisted = await metric('cio_bridge_insights_predictions_persisted_total');
      }
      const read = await readRate();
      reads.push(read);
      log(
        `insights: read API (LRU) ${r + 1}: ${Math.round(read.rps)} req/s, p99 ${read.p99} ms, ${read.misses} misses`,
      );
      await stop(service);
      baselines.push(await baselineRate(url, durationMs));
      log(`insights: baseline ${r + 1}: ${Math.round(baselines.at(-1))} rows/s`);
    }

    // Optional (INSIGHTS_BENCH_REDIS=1; it adds ~10 s): the read API with Redis, one run, on a
    // processor whose group already committed everything, so only reads.
    let redis;
    if (process.env.INSIGHTS_BENCH_REDIS === '1') {
      const service = await start({
        USERS_TABLE: `users_${repeats - 1}`,
        KAFKA_GROUP_ID: `${suffix}-${repeats - 1}`,
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: `${suffix}:`,
      });
      redis = await readRate();
      log(`insights: read API (Redis): ${Math.round(redis.rps)} req/s, ${redis.misses} misses`);
      await stop(service);
    }
    const lru = { rps: median(reads.map((x) => x.rps)), p99: median(reads.map((x) => x.p99)) };

    const peak = Math.max(...peaks);
    const redisRows = redis
      ? [
          {
            figure: 'read API requests/s on cache hits (Redis, 50 connections, one run)',
            value: Math.round(redis.rps),
            unit: 'requests/s',
            baseline: null,
            goal: null,
            met: undefined,
          },
        ]
      : [];
    const rate = median(rates);
    const baseline = median(baselines);
    return [
      {
        figure: 'predictions persisted/s (Kafka backlog -> field-by-field merge into users.ai_features)',
        value: Math.round(rate),
        unit: 'predictions/s',
        baseline: Math.round(baseline),
        baselineName: `plain batched INSERT ... ON CONFLICT with pg (${BASELINE_BATCH}-row batches, ${CONCURRENCY} connections)`,
        goal: '>= 10,000',
        met: rate >= 10_000,
      },
      {
        figure: 'read API requests/s on cache hits (in-process LRU, 50 connections)',
        value: Math.round(lru.rps),
        unit: 'requests/s',
        baseline: null,
        goal: null,
        met: undefined,
      },
      {
        figure: 'read API p99 on cache hits (in-process LRU)',
        value: lru.p99,
        unit: 'ms',
        baseline: null,
        goal: null,
        met: undefined,
      },
      ...redisRows,
      {
        figure: `insights-processor peak RSS (node ${flags}, as npm start runs it)`,
        value: peak,
        unit: 'MB',
        baseline: null,
        goal: '< 200',
        met: peak < 200,
      },
    ];
  } finally {
    for (const service of [...services]) await service.stop();
    await db.end();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  }
}
