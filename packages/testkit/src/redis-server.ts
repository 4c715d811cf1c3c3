import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './service-process';
import { waitFor } from './wait-for';

/** A `redis-server` of a test's own, on its own port, that the test can kill and start again. */
export interface DedicatedRedis {
  url: string;
  port: number;
  /** SIGKILL: Redis dies as in a crash (nothing is saved) */
  kill(): Promise<void>;
  /** SIGSTOP: Redis hangs, connections stay open but nothing answers */
  pause(): void;
  /** SIGCONT after `pause` */
  resume(): void;
  /** starts it again on the same port (empty) and waits until it answers */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const pong = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(1_000, () => socket.destroy());
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => {
      resolve(data.toString().startsWith('+PONG'));
      socket.destroy();
    });
    socket.on('error', () => resolve(false));
    socket.on('close', () => resolve(false));
  });

/**
 * Starts `redis-server` on a free port and waits until it answers PING. Without
 * persistence by default; with `persist`, every write is in an append-only file (fsync
 * always), so after a SIGKILL and a restart Redis holds what it held before, as a
 * production Redis with persistence does.
 */
export async function startRedisServer({ persist = false } = {}): Promise<DedicatedRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'test-redis-'));
  const persistence = persist
    ? ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir]
    : ['--appendonly', 'no', '--dir', dir];
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--save', '', ...persistence], {
      stdio: 'ignore',
    });
    await waitFor(() => pong(port), { what: `redis-server on port ${port}` });
  };
  const kill = async () => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill,
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    restart: start,
    stop: async () => {
      child?.kill('SIGCONT');
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
