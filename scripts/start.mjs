// The whole pipeline on this machine: the four services and, without real
// Customer.io credentials, the sandbox; sample traffic unless --no-demo; a live
// summary; Ctrl-C (or SIGTERM) stops every process and the broker cleanly.

import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { runDemo } from './start/demo.mjs';
import { printSummary } from './start/summary.mjs';

const root = join(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    'no-demo': { type: 'boolean', default: false },
    'broker-was-running': { type: 'string', default: 'yes' },
  },
});

const env = process.env;
// Real credentials for the chosen API (a Pipelines-only workspace has no Track API key).
const realCustomerIo =
  env.CIO_API === 'pipelines'
    ? Boolean(env.CIO_PIPELINES_API_KEY && !env.CIO_PIPELINES_URL)
    : Boolean(env.CIO_SITE_ID && env.CIO_API_KEY && !env.CIO_TRACK_URL);
const sandboxUrl = 'http://127.0.0.1:8090';
const local = {
  ingestToken: env.INGEST_API_TOKENS?.split(',')[0] ?? 'local-ingest-token',
  signingKey: env.CIO_WEBHOOK_SIGNING_KEYS?.split(',')[0] ?? 'local-webhook-signing-key',
  // The journey webhook action's Basic credentials (user:password) for the demo's predictions.
  journeyBasic: env.WEBHOOK_BASIC_AUTH?.split(',')[0]?.trim() ?? 'cio-journey:local-journey-password',
  readToken: env.INSIGHTS_API_TOKENS?.split(',')[0] ?? 'local-insights-read-token',
};
/** Redis is used when REDIS_URL is set, or when the local default answers PING. */
function localRedisAnswers() {
  return new Promise((resolve) => {
    const socket = connect(6379, '127.0.0.1', () => socket.write('PING\r\n'));
    socket.setTimeout(1_000, () => socket.destroy());
    socket.once('data', (data) => {
      resolve(String(data).startsWith('+PONG'));
      socket.destroy();
    });
    socket.once('close', () => resolve(false));
    socket.once('error', () => resolve(false));
  });
}
const redisUrl = env.REDIS_URL ?? ((await localRedisAnswers()) ? 'redis://127.0.0.1:6379' : undefined);
const common = {
  KAFKA_BROKERS: env.KAFKA_BROKERS ?? '127.0.0.1:9092',
  DATABASE_URL: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/cio_bridge',
  ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
  LOG_LEVEL: env.LOG_LEVEL ?? 'info',
};
const customerIo = realCustomerIo
  ? {}
  : {
      CIO_SITE_ID: 'sandbox-site',
      CIO_API_KEY: 'sandbox-api-key',
      CIO_APP_API_KEY: 'sandbox-app-key',
      CIO_TRACK_URL: sandboxUrl,
      CIO_APP_URL: sandboxUrl,
      // used with CIO_API=pipelines
      CIO_PIPELINES_API_KEY: 'sandbox-pipelines-api-key',
      CIO_PIPELINES_URL: sandboxUrl,
    };

const services = [
  ...(realCustomerIo ? [] : [{ name: 'cio-sandbox', port: 8090, env: customerIo }]),
  { name: 'producer', port: 8081, env: { INGEST_API_TOKENS: env.INGEST_API_TOKENS ?? local.ingestToken } },
  { name: 'cio-worker', port: 8084, env: customerIo },
  {
    name: 'webhook-handler',
    port: 8082,
    env: {
      CIO_WEBHOOK_SIGNING_KEYS: env.CIO_WEBHOOK_SIGNING_KEYS ?? local.signingKey,
      WEBHOOK_BASIC_AUTH: env.WEBHOOK_BASIC_AUTH ?? local.journeyBasic,
    },
  },
  {
    name: 'insights-processor',
    port: 8083,
    env: { INSIGHTS_API_TOKENS: env.INSIGHTS_API_TOKENS ?? local.readToken },
  },
].map((service) => ({ ...service, url: `http://127.0.0.1:${service.port}` }));

const say = (line) => process.stderr.write(`start: ${line}\n`);
const logDir = join(root, '.cache/logs');
mkdirSync(logDir, { recursive: true });
const children = new Map();
let stopping = false;

function startService(service) {
  const log = createWriteStream(join(logDir, `${service.name}.log`));
  // detached: the terminal's Ctrl-C reaches only this script, which stops the
  // services once and in order.
  // run-service.mjs starts the service with its V8 flags (infra/node-flags.json), as the image does.
  const child = spawn(process.execPath, [join(root, 'infra/run-service.mjs'), service.name], {
    env: { ...env, ...common, ...service.env, PORT: String(service.port) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  child.once('exit', (code, signal) => {
    children.delete(service.name);
    if (!stopping) {
      say(
        `${service.name} exited unexpectedly (${signal ?? `code ${code}`}); see .cache/logs/${service.name}.log`,
      );
      void stop(1);
    }
  });
  children.set(service.name, child);
}

async function waitReady(service, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !stopping) {
    const ready = await fetch(`${service.url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return;
    await sleep(300);
  }
  if (!stopping)
    throw new Error(
      `${service.name} not ready after ${timeoutMs / 1000} s; see .cache/logs/${service.name}.log`,
    );
}

async function stop(code) {
  if (stopping) return;
  stopping = true;
  say('stopping services');
  await Promise.all(
    [...children.values()].map(
      (child) =>
        new Promise((resolve) => {
          child.once('exit', resolve);
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 30_000).unref();
        }),
    ),
  );
  if (args['broker-was-running'] === 'no') {
    await new Promise((resolve) =>
      spawn('bash', [join(root, 'scripts/infra.sh'), 'down'], { stdio: 'inherit' }).once('exit', resolve),
    );
  }
  say('stopped');
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

for (const service of services) startService(service);
say(
  `starting ${services.map((s) => s.name).join(', ')} (logs in .cache/logs; Redis ${redisUrl ? `at ${redisUrl}` : 'not used'})`,
);
try {
  await Promise.all(services.map((service) => waitReady(service)));
} catch (error) {
  say(error.message);
  await stop(1);
}
say(
  realCustomerIo
    ? 'all services ready; delivering to Customer.io'
    : `all services ready; Customer.io is the sandbox at ${sandboxUrl}`,
);
say(
  `read API: curl -H 'Authorization: Bearer ${local.readToken}' http://127.0.0.1:8083/v1/users/<id>/ai-features` +
    (env.INSIGHTS_API_TOKENS
      ? ' (the first token of INSIGHTS_API_TOKENS)'
      : ' (set INSIGHTS_API_TOKENS to choose the token)'),
);

const started = Date.now();
if (!args['no-demo']) {
  const urls = Object.fromEntries(services.map((s) => [s.name, s.url]));
  runDemo({ services: urls, ...local, realCustomerIo, say }).catch((error) =>
    say(`demo traffic failed: ${error.message}`),
  );
}
// Refreshes in place on a terminal; plain lines every few seconds otherwise.
const tty = Boolean(process.stdout.isTTY);
while (!stopping) {
  await printSummary({ services, tty, started, realCustomerIo });
  await sleep(tty ? 1_000 : 5_000);
}
