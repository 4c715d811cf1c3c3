// cio-dlq: `list` over 100,000 dead-letter messages and `replay` throughput
// without --rate, each the built CLI run as a real process (bin/cio-dlq.js), as an
// SRE runs it. The dead-letter topics are filled directly with messages carrying the
// worker's dead-letter headers (original key and value, x-dlq-*), which is what the
// CLI reads; filling them through the worker's failure path would measure the worker.
// Baselines, measured in the same run: a kafkajs consumer group reading the same
// topic to its end (for list), and a bare kafkajs producer publishing the same
// messages in 1,000-message acks=all batches (for replay).
// A large case (1,000,000 dead letters; BENCH_DLQ_LARGE sets another size, 0 skips
// it) measures that memory stays flat: replay's peak RSS and RSS per message, its
// rate, and list's and stats' peak RSS at the same size, each once; then list --all's
// after the replay, which reads a mark for every one of them; and a dry run over as many
// dead-lettered identifies, which the stale-identify guard remembers.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { median, root, sleep } from '../lib.mjs';

const require = createRequire(import.meta.url);
const { Kafka, logLevel, Partitioners } = require('kafkajs');

const LIST_MESSAGES = 100_000;
const REPLAY_MESSAGES = 30_000;
const LARGE_MESSAGES = Number(process.env.BENCH_DLQ_LARGE ?? 1_000_000);
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const cli = join(root, 'services/cio-dlq/bin/cio-dlq.js');

const seconds = (ms) => ms / 1000;

/** A dead letter as the worker writes it, for person `i`: an event, or an identify. */
function deadLetter(i, trackTopic, identify = false) {
  const person = `user-${i % 20_000}`;
  const now = new Date().toISOString();
  const id = `01J${String(i).padStart(23, '0')}`;
  const value = JSON.stringify(
    identify
      ? {
          id,
          action: 'identify',
          identifiers: { id: person },
          attributes: { plan: 'gold', note: 'x'.repeat(120) },
        }
      : {
          id,
          name: i % 3 === 0 ? 'product_scanned' : 'reward_redeemed',
          identifiers: { id: person },
          data: { product_id: i % 500, sku: `SKU-${i % 500}`, points_award: 400, note: 'x'.repeat(120) },
          timestamp: now,
        },
  );
  return {
    key: person,
    value,
    headers: {
      'x-dlq-original-topic': trackTopic,
      'x-dlq-original-partition': String(i % 12),
      'x-dlq-original-offset': String(i),
      'x-dlq-original-timestamp': String(Date.now()),
      'x-dlq-consumer-group': 'cio-worker',
      'x-dlq-error-class': i % 5 === 0 ? 'http_5xx' : 'http_4xx',
      'x-dlq-http-status': i % 5 === 0 ? '503' : '400',
      'x-dlq-error-message': i % 5 === 0 ? 'Service Unavailable' : 'attribute value too long',
      'x-dlq-attempts': i % 5 === 0 ? '12' : '1',
      'x-dlq-first-failed-at': now,
      'x-dlq-last-failed-at': now,
    },
  };
}

async function fill(producer, topic, trackTopic, count) {
  for (let start = 0; start < count; start += 2_000) {
    const messages = [];
    for (let i = start; i < Math.min(count, start + 2_000); i++) messages.push(deadLetter(i, trackTopic));
    await producer.send({ topic, acks: -1, messages });
  }
}

/** Fills fast, as a bare producer would: 5,000-message batches, four in flight, leader acks. */
async function fillFast(producer, topic, trackTopic, count, log, identify = false) {
  const inflight = new Set();
  let last = 0;
  for (let start = 0; start < count; start += 5_000) {
    const messages = [];
    for (let i = start; i < Math.min(count, start + 5_000); i++)
      messages.push(deadLetter(i, trackTopic, identify));
    const sent = producer.send({ topic, acks: 1, messages }).finally(() => inflight.delete(sent));
    inflight.add(sent);
    if (inflight.size >= 4) await Promise.race(inflight);
    if (start - last >= 200_000) {
      last = start;
      log(`replay: filled ${start.toLocaleString('en-US')}`);
    }
  }
  await Promise.all(inflight);
}

/** The bare producer baseline at `count` messages: the same 1,000-message batch, acks=all, one at a time. */
async function bareRate(producer, topic, trackTopic, count) {
  const batch = Array.from({ length: 1_000 }, (_, i) => deadLetter(i, trackTopic));
  const started = performance.now();
  for (let sent = 0; sent < count; sent += 1_000) await producer.send({ topic, acks: -1, messages: batch });
  return count / seconds(performance.now() - started);
}

/** Runs the CLI; resolves to { ms, code, stdoutBytes, stderr, peakRssMb } (stdout is drained, not kept). */
function runCli(args, env) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [cli, ...args], {
      env: { ...process.env, KAFKA_BROKERS: brokers.join(','), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdoutBytes = 0;
    let stderr = '';
    let peak = 0;
    const sample = () => {
      try {
        const kb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0);
        peak = Math.max(peak, Math.round(kb / 1024));
      } catch {
        // exited between samples
      }
    };
    const timer = setInterval(sample, 50);
    child.stdout.on('data', (chunk) => {
      stdoutBytes += chunk.length;
      sample();
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(timer);
      resolve({ ms: performance.now() - started, code, stdoutBytes, stderr, peakRssMb: peak });
    });
  });
}

/** Reads a topic to its end with a kafkajs consumer group (the usual way), in ms. */
async function consumerGroupRead(kafka, topic, count) {
  const started = performance.now();
  const consumer = kafka.consumer({
    groupId: `bench-dlq-reader-${Date.now()}-${Math.random().toString(36).slice(2)}`,
    maxBytesPerPartition: 8 * 1024 * 1024,
    maxWaitTimeInMs: 50,
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  await new Promise((resolve) => {
    consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) {
          JSON.parse(message.value.toString());
          seen++;
        }
        if (seen >= count) resolve();
      },
    });
  });
  const ms = performance.now() - started;
  await consumer.disconnect();
  return ms;
}

export default async function run({ repeats, log }) {
  // BENCH_DLQ_PREFIX: topics another run's sweep of bench- topics leaves alone (on a shared broker; delete them after)
  const suffix = `${process.env.BENCH_DLQ_PREFIX ?? 'bench'}-dlq-${Date.now().toString(36)}`;
  const trackTopic = `${suffix}.track`;
  const listTopic = `${suffix}.list.dlq`;
  const kafka = new Kafka({ clientId: 'bench-dlq', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await admin.connect();
  await producer.connect();
  const replayTopics = Array.from({ length: repeats }, (_, i) => `${suffix}.replay${i}.dlq`);
  const bareTopic = `${suffix}.bare`;
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic: trackTopic, numPartitions: 12 },
      { topic: bareTopic, numPartitions: 12 },
      { topic: listTopic, numPartitions: 3 },
      ...replayTopics.map((topic) => ({ topic, numPartitions: 3 })),
    ],
  });

  try {
    log(`replay: filling ${listTopic} with ${LIST_MESSAGES.toLocaleString('en-US')} dead letters`);
    await fill(producer, listTopic, trackTopic, LIST_MESSAGES);

    // list: warm-up, then repeats
    const warm = await runCli(['list'], { KAFKA_TOPIC_DLQ: listTopic });
    if (warm.code !== 0) throw new Error(`cio-dlq list failed: ${warm.stderr}`);
    const listMs = [];
    const listRss = [];
    const groupMs = [];
    for (let i = 0; i < repeats; i++) {
      const result = await runCli(['list'], { KAFKA_TOPIC_DLQ: listTopic });
      if (result.code !== 0) throw new Error(`cio-dlq list failed: ${result.stderr}`);
      listMs.push(result.ms);
      listRss.push(result.peakRssMb);
      groupMs.push(await consumerGroupRead(kafka, listTopic, LIST_MESSAGES));
      log(
        `replay: list run ${i + 1}: ${Math.round(result.ms)} ms, ${(result.stdoutBytes / 1e6).toFixed(1)} MB of table, consumer group read ${Math.round(groupMs.at(-1))} ms`,
      );
    }

    // replay: a fresh dead-letter topic per repeat (a replay marks what it replayed)
    const replayRates = [];
    const replayRss = [];
    const bareRates = [];
    const bareMessages = Array.from({ length: REPLAY_MESSAGES }, (_, i) => deadLetter(i, trackTopic));
    for (let i = 0; i < repeats; i++) {
      await fill(producer, replayTopics[i], trackTopic, REPLAY_MESSAGES);
      const result = await runCli(['replay', '--yes'], { KAFKA_TOPIC_DLQ: replayTopics[i] });
      if (result.code !== 0) throw new Error(`cio-dlq replay failed: ${result.stderr}`);
      replayRates.push(REPLAY_MESSAGES / seconds(result.ms));
      replayRss.push(result.peakRssMb);

      const started = performance.now();
      for (let start = 0; start < REPLAY_MESSAGES; start += 1_000) {
        await producer.send({
          topic: bareTopic,
          acks: -1,
          messages: bareMessages.slice(start, start + 1_000),
        });
      }
      bareRates.push(REPLAY_MESSAGES / seconds(performance.now() - started));
      log(
        `replay: replay run ${i + 1}: ${Math.round(replayRates.at(-1))} msg/s (bare producer ${Math.round(bareRates.at(-1))} msg/s)`,
      );
      await sleep(200);
    }

    const large = LARGE_MESSAGES > 0 ? await largeCase(kafka, admin, producer, suffix, log) : [];

    const listSeconds = seconds(median(listMs));
    const replayRate = Math.round(median(replayRates));
    const listPeak = Math.max(...listRss);
    const replayPeak = Math.max(...replayRss);
    return [
      {
        figure: `cio-dlq list over ${LIST_MESSAGES.toLocaleString('en-US')} dead letters (process, table output)`,
        value: Number(listSeconds.toFixed(2)),
        unit: 's',
        baseline: Number(seconds(median(groupMs)).toFixed(2)),
        baselineName: 'kafkajs consumer group reading to the end',
        goal: '< 10 s',
        met: listSeconds < 10,
      },
      {
        figure: `cio-dlq replay without --rate (${REPLAY_MESSAGES.toLocaleString('en-US')} messages, whole process)`,
        value: replayRate,
        unit: 'msg/s',
        baseline: Math.round(median(bareRates)),
        baselineName: 'bare kafkajs producer, 1,000-message batches',
        goal: '>= 5,000',
        met: replayRate >= 5_000,
      },
      {
        figure: `cio-dlq list peak RSS (${LIST_MESSAGES.toLocaleString('en-US')} messages)`,
        value: listPeak,
        unit: 'MB',
        baseline: null,
        goal: '< 200',
        met: listPeak < 200,
      },
      {
        figure: `cio-dlq replay peak RSS (${REPLAY_MESSAGES.toLocaleString('en-US')} messages)`,
        value: replayPeak,
        unit: 'MB',
        baseline: null,
        goal: '< 200',
        met: replayPeak < 200,
      },
      ...large,
    ];
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
}

/** list, stats and replay once each over LARGE_MESSAGES dead letters, with their baselines. */
async function largeCase(kafka, admin, producer, suffix, log) {
  const n = LARGE_MESSAGES;
  const size = n.toLocaleString('en-US');
  const topic = `${suffix}.large.dlq`;
  const target = `${suffix}.large.track`;
  const bare = `${suffix}.large.bare`;
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic, numPartitions: 6 },
      { topic: target, numPartitions: 12 },
      { topic: bare, numPartitions: 12 },
    ],
  });
  const fillStarted = performance.now();
  await fillFast(producer, topic, target, n, log);
  log(
    `replay: filled ${topic} with ${size} dead letters in ${Math.round(seconds(performance.now() - fillStarted))} s`,
  );

  const env = { KAFKA_TOPIC_DLQ: topic };
  const list = await runCli(['list'], env);
  if (list.code !== 0) throw new Error(`cio-dlq list failed: ${list.stderr}`);
  const groupMs = await consumerGroupRead(kafka, topic, n);
  log(
    `replay: list over ${size}: ${Math.round(seconds(list.ms))} s, ${list.peakRssMb} MB peak (consumer group read ${Math.round(seconds(groupMs))} s)`,
  );
  const stats = await runCli(['stats'], env);
  if (stats.code !== 0) throw new Error(`cio-dlq stats failed: ${stats.stderr}`);
  log(`replay: stats over ${size}: ${Math.round(seconds(stats.ms))} s, ${stats.peakRssMb} MB peak`);
  const replay = await runCli(['replay', '--yes'], env);
  if (replay.code !== 0) throw new Error(`cio-dlq replay failed: ${replay.stderr}`);
  const rate = Math.round(n / seconds(replay.ms));
  const bareMsgs = Math.round(await bareRate(producer, bare, target, n));
  log(
    `replay: replay over ${size}: ${rate} msg/s, ${replay.peakRssMb} MB peak (bare producer ${bareMsgs} msg/s)`,
  );
  // Every command reads the marks first: after that replay there is one per dead letter.
  const after = await runCli(['list', '--all'], env);
  if (after.code !== 0) throw new Error(`cio-dlq list --all failed: ${after.stderr}`);
  log(
    `replay: list --all after the replay (${size} marks): ${Math.round(seconds(after.ms))} s, ${after.peakRssMb} MB peak`,
  );
  // Identifies are what the stale-identify guard remembers: a topic of nothing else.
  const identifies = `${suffix}.large-identify.dlq`;
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic: identifies, numPartitions: 6 }] });
  await fillFast(producer, identifies, target, n, log, true);
  const dryRun = await runCli(['replay', '--dry-run', '--json'], { KAFKA_TOPIC_DLQ: identifies });
  if (dryRun.code !== 0) throw new Error(`cio-dlq replay --dry-run failed: ${dryRun.stderr}`);
  log(
    `replay: dry run over ${size} dead identifies: ${Math.round(seconds(dryRun.ms))} s, ${dryRun.peakRssMb} MB peak`,
  );
  const perMessage = Math.round((replay.peakRssMb * 1024 * 1024) / n);
  return [
    {
      figure: `cio-dlq replay without --rate (${size} messages, whole process)`,
      value: rate,
      unit: 'msg/s',
      baseline: bareMsgs,
      baselineName: 'bare kafkajs producer, 1,000-message batches',
      goal: '>= 10,000',
      met: rate >= 10_000,
    },
    {
      figure: `cio-dlq replay peak RSS (${size} messages)`,
      value: replay.peakRssMb,
      unit: 'MB',
      baseline: null,
      goal: '< 200',
      met: replay.peakRssMb < 200,
    },
    {
      figure: `cio-dlq replay peak RSS per message (${size} messages)`,
      value: perMessage,
      unit: 'bytes',
      baseline: null,
    },
    {
      figure: `cio-dlq list over ${size} dead letters (process, table output)`,
      value: Number(seconds(list.ms).toFixed(1)),
      unit: 's',
      baseline: Number(seconds(groupMs).toFixed(1)),
      baselineName: 'kafkajs consumer group reading to the end',
    },
    {
      figure: `cio-dlq list peak RSS (${size} messages)`,
      value: list.peakRssMb,
      unit: 'MB',
      baseline: null,
      goal: '< 200',
      met: list.peakRssMb < 200,
    },
    {
      figure: `cio-dlq list --all peak RSS after replaying them (${size} messages, ${size} marks)`,
      value: after.peakRssMb,
      unit: 'MB',
      baseline: null,
      goal: '< 200',
      met: after.peakRssMb < 200,
    },
    {
      figure: `cio-dlq replay --dry-run peak RSS (${size} dead-lettered identifies)`,
      value: dryRun.peakRssMb,
      unit: 'MB',
      baseline: null,
      goal: '< 200',
      met: dryRun.peakRssMb < 200,
    },
    {
      figure: `cio-dlq stats peak RSS (${size} messages)`,
      value: stats.peakRssMb,
      unit: 'MB',
      baseline: null,
      goal: '< 200',
      met: stats.peakRssMb < 200,
    },
  ];
}
