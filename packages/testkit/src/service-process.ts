import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { waitFor } from './wait-for';

const repoRoot = join(__dirname, '..', '..', '..');

/** A free TCP port on 127.0.0.1 (for a service process). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Builds the services' dist/main.js (turbo caches whatever did not change). */
export function buildServices(...names: string[]): void {
  execFileSync(
    'bash',
    [
      'scripts/with-node.sh',
      'turbo',
      'run',
      'build',
      ...names.map((name) => `--filter=@cio-bridge/${name}`),
      '--output-logs=errors-only',
    ],
    { cwd: repoRoot, stdio: 'ignore' },
  );
}

export interface ServiceProcess {
  child: ChildProcess;
  url: string;
  port: number;
  /** everything the process wrote to stdout and stderr so far */
  output(): string;
  /** what it wrote to stderr alone (where a start-up failure's one line goes) */
  errors(): string;
  /** resolves with the exit code (null when killed by a signal) */
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after 10 s; resolves once the process is gone */
  stop(): Promise<void>;
}

/**
 * Starts services/<name>/dist/main.js configured only by `env` (plus PATH and PORT),
 * capturing its output. With `ready`, waits until GET `ready` (a path) answers 2xx;
 * otherwise returns at once (for processes that are expected to exit).
 */
export async function spawnService(
  name: string,
  env: Record<string, string>,
  { ready = '/readyz', timeoutMs = 60_000 }: { ready?: string | false; timeoutMs?: number } = {},
): Promise<ServiceProcess> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const child = spawn(process.execPath, [join(repoRoot, 'services', name, 'dist/main.js')], {
    env: { PATH: process.env.PATH, LOG_LEVEL: 'info', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: Buffer[] = [];
  const errorChunks: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    errorChunks.push(chunk);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const service: ServiceProcess = {
    child,
    port,
    url: `http://127.0.0.1:${port}`,
    output: () => Buffer.concat(chunks).toString('utf8'),
    errors: () => Buffer.concat(errorChunks).toString('utf8'),
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
  if (ready === false) return service;
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null)
          throw new Error(`${name} exited with ${child.exitCode}: ${service.output()}`);
        return (await fetch(`${service.url}${ready}`).catch(() => undefined))?.ok;
      },
      { timeoutMs, what: `${name} to be ready` },
    );
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    throw error;
  }
  return service;
}
