import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

// `npm start` as a newcomer meets it (without the build and infrastructure steps,
// which `npm test` has done): the demo's events are delivered to the sandbox,
// some are dead-lettered, predictions are stored, SIGINT stops everything, and for
// the minute it ran no service printed a warning.
jest.setTimeout(240_000);

/** How long the pipeline runs before it is stopped: long enough for periodic timers to fire. */
const RUN_MS = 60_000;

/** A Node process warning (`(node:123) SomeWarning: ...`) or a log entry at warn level or above. */
function isWarningLine(line: string): boolean {
  if (/^\(node:\d+\) (\[\w+\] )?\w*Warning\b/.test(line) || /^\w*Warning: /.test(line)) return true;
  if (!line.startsWith('{')) return false;
  try {
    return Number((JSON.parse(line) as { level?: unknown }).level) >= 40;
  } catch {
    return false;
  }
}

const ports = [8081, 8082, 8083, 8084, 8090];
const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

let child: ChildProcess | undefined;
let exited: Promise<number | null> = Promise.resolve(null);
// On a failure, still stop the pipeline (and its detached services) cleanly.
afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGINT');
    await exited;
  }
});

const figure = (line: string, name: string) =>
  Number(new RegExp(`${name}=([\\d,]+)`).exec(line)?.[1]?.replaceAll(',', '') ?? 0);

it('runs the whole pipeline with sample traffic and stops cleanly on SIGINT', async () => {
  for (const port of ports) expect({ port, open: await portOpen(port) }).toEqual({ port, open: false });
  const startedAt = Date.now();
  child = spawn(process.execPath, [join(__dirname, 'start.mjs'), '--broker-was-running=yes'], {
    env: { ...process.env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr!.on('data', (chunk) => {
    output += chunk;
  });
  const started = child;
  exited = new Promise<number | null>((resolve) => started.once('exit', resolve));

  const complete = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no complete summary in time:\n${output}`)), 150_000);
    started.stdout!.on('data', () => {
      const last =
        output
          .trim()
          .split('\n')
          .filter((l) => l.startsWith('summary'))
          .pop() ?? '';
      if (
        figure(last, 'delivered') > 0 &&
        figure(last, 'dead-lettered') > 0 &&
        figure(last, 'predictions stored') > 0 &&
        figure(last, 'anonymous merged') >= 60 &&
        figure(last, 'page/screen views') >= 90 &&
        figure(last, 'relationships') >= 31 &&
        output.includes('all sample traffic sent')
      ) {
        clearTimeout(timer);
        resolve(last);
      }
    });
    void exited.then((code) => reject(new Error(`start exited early with ${code}:\n${output}`)));
  });
  // 300 people's identify and 3 seed events, then 10 companies, a household relationship,
  // 20 anonymous sessions of 3 views/events and a sign-up each, 50 page/screen views,
  // and one event sent with Prefer: wait, whose answer the demo shows.
  expect(figure(complete, 'events accepted')).toBe(1200 + 10 + 1 + 80 + 50 + 1);
  expect(output).toMatch(/demo: waited for Customer\.io's answer: 200, delivered \(status 200\)/);
  expect(figure(complete, 'objects')).toBe(11);
  expect(figure(complete, 'retried')).toBeGreaterThan(0);
  // The read API wants the token that npm start configured and printed.
  const token = /read API: curl -H 'Authorization: Bearer ([^']+)'/.exec(output)?.[1];
  expect(token).toBeDefined();
  const features = 'http://127.0.0.1:8083/v1/users/1/ai-features';
  expect((await fetch(features)).status).toBe(401);
  expect((await fetch(features, { headers: { authorization: `Bearer ${token}` } })).status).not.toBe(401);

  const elapsed = Date.now() - startedAt;
  if (elapsed < RUN_MS) await sleep(RUN_MS - elapsed);
  started.kill('SIGINT');
  expect(await exited).toBe(0);
  expect(output).toContain('start: stopped');
  for (const port of ports) expect({ port, open: await portOpen(port) }).toEqual({ port, open: false });

  const logDir = join(__dirname, '..', '.cache', 'logs');
  const logs = readdirSync(logDir).filter((file) => file.endsWith('.log'));
  expect(logs.sort()).toEqual(
    ['cio-sandbox', 'cio-worker', 'insights-processor', 'producer', 'webhook-handler'].map((s) => `${s}.log`),
  );
  const warnings = [
    ...output.split('\n').map((line) => `start: ${line}`),
    ...logs.flatMap((file) =>
      readFileSync(join(logDir, file), 'utf8')
        .split('\n')
        .map((line) => `${file}: ${line}`),
    ),
  ].filter((line) => isWarningLine(line.slice(line.indexOf(': ') + 2)));
  expect(warnings).toEqual([]);
});

it('recognises warning lines', () => {
  expect(isWarningLine('(node:4242) TimeoutNegativeWarning: -1747359280440 is a negative number.')).toBe(
    true,
  );
  expect(
    isWarningLine('(node:4242) [DEP0040] DeprecationWarning: The `punycode` module is deprecated.'),
  ).toBe(true);
  expect(isWarningLine('{"level":40,"msg":"redis connection error"}')).toBe(true);
  expect(isWarningLine('{"level":50,"msg":"failed"}')).toBe(true);
  expect(isWarningLine('{"level":30,"msg":"producer listening"}')).toBe(false);
  expect(isWarningLine('summary events accepted=1,200')).toBe(false);
});
