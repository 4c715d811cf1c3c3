import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';

// `npm start` as a newcomer meets it (without the build and infrastructure steps,
// which `npm test` has done): the demo's events are delivered to the sandbox,
// some are dead-lettered, predictions are stored, and SIGINT stops everything.
jest.setTimeout(180_000);

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
  // 20 anonymous sessions of 3 views/events and a sign-up each, and 50 page/screen views.
  expect(figure(complete, 'events accepted')).toBe(1200 + 10 + 1 + 80 + 50);
  expect(figure(complete, 'objects')).toBe(11);
  expect(figure(complete, 'retried')).toBeGreaterThan(0);

  started.kill('SIGINT');
  expect(await exited).toBe(0);
  expect(output).toContain('start: stopped');
  for (const port of ports) expect({ port, open: await portOpen(port) }).toEqual({ port, open: false });
});
