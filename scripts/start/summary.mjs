// The live summary of `npm start`: counts from each service's /metrics, and the
// latency from acceptance (the operation id's ULID time) to arrival at the sandbox.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { decodeTime } = require('ulid');

/** Sum of every sample of a metric in Prometheus text format (all label sets). */
function metricSum(text, name) {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `))
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

const percentile = (sorted, p) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] : undefined;

async function latencies(sandboxUrl) {
  const operations = await fetch(`${sandboxUrl}/_sandbox/operations`).then((r) => r.json());
  const values = operations
    .filter((op) => typeof op.id === 'string' && op.id.length === 26)
    .map((op) => Date.parse(op.received_at) - decodeTime(op.id))
    .sort((a, b) => a - b);
  return { p50: percentile(values, 0.5), p95: percentile(values, 0.95) };
}

/** Objects, relationships, page/screen views and merged anonymous events at the sandbox. */
async function dataModel(sandboxUrl) {
  const get = (path) => fetch(`${sandboxUrl}/_sandbox/${path}`).then((r) => r.json());
  const [objects, relationships, events] = await Promise.all([
    get('objects'),
    get('relationships'),
    get('events'),
  ]);
  let views = 0;
  let merged = 0;
  for (const event of events) {
    if (event.type === 'page' || event.type === 'screen') views++;
    if (event.anonymous_id !== undefined && event.person !== null) merged++;
  }
  return { objects: objects.length, relationships: relationships.length, views, merged };
}

const fetchText = (url) =>
  fetch(url).then(
    (r) => r.text(),
    () => '',
  );
const fmt = (n) => (n === undefined ? '-' : n.toLocaleString('en-US'));

export async function printSummary({ services, tty, started, realCustomerIo }) {
  const byName = Object.fromEntries(services.map((s) => [s.name, s]));
  const [producer, worker, insights] = await Promise.all(
    ['producer', 'cio-worker', 'insights-processor'].map((name) => fetchText(`${byName[name].url}/metrics`)),
  );
  const latency = realCustomerIo ? {} : await latencies(byName['cio-sandbox'].url).catch(() => ({}));
  const model = realCustomerIo
    ? undefined
    : await dataModel(byName['cio-sandbox'].url).catch(() => undefined);
  const figures = [
    ['events accepted', fmt(metricSum(producer, 'cio_bridge_producer_operations_published_total'))],
    ['delivered', fmt(metricSum(worker, 'cio_bridge_worker_operations_delivered_total'))],
    ['retried', fmt(metricSum(worker, 'cio_bridge_worker_operations_retried_total'))],
    ['dead-lettered', fmt(metricSum(worker, 'cio_bridge_worker_operations_dead_lettered_total'))],
    ['predictions stored', fmt(metricSum(insights, 'cio_bridge_insights_predictions_persisted_total'))],
    // At the sandbox: what the whole data model made there (objects from either output).
    ['objects', fmt(model?.objects)],
    ['relationships', fmt(model?.relationships)],
    ['page/screen views', fmt(model?.views)],
    ['anonymous merged', fmt(model?.merged)],
    [
      'latency p50 / p95',
      latency.p50 === undefined
        ? '-'
        : `${fmt(latency.p50)} ms / ${fmt(latency.p95)} ms (accepted -> Customer.io)`,
    ],
  ];
  const uptime = Math.round((Date.now() - started) / 1000);
  if (!tty) {
    console.log(`summary ${uptime}s: ${figures.map(([k, v]) => `${k}=${v.split(' (')[0]}`).join('; ')}`);
    return;
  }
  const lines = [
    `cio-bridge: running for ${uptime} s   (Ctrl-C stops everything)`,
    '',
    ...services.map((s) => `  ${s.name.padEnd(20)} ${s.url}`),
    '',
    ...figures.map(([k, v]) => `  ${k.padEnd(20)} ${v}`),
    '',
    '  logs: .cache/logs/<service>.log    dead letters: npx cio-dlq list',
  ];
  process.stdout.write(`\x1b[H\x1b[2J${lines.join('\n')}\n`);
}
