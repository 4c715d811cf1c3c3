import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { waitFor } from './wait-for';

/** A broker of one test's own, to stop and start without disturbing other tests. */
export interface DedicatedBroker {
  brokers: string[];
  start(): Promise<void>;
  stop(): Promise<void>;
  /** stops it and removes its data */
  close(): Promise<void>;
}

function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'infra/kafka/pom.xml'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find infra/kafka/pom.xml above the testkit');
    dir = parent;
  }
  return dir;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * A KRaft cluster id: 16 random bytes in base64url. Like Kafka's own random-uuid it
 * never starts with '-': the storage tool would read such an id as an option and
 * exit 1 (one format in 64).
 */
export function newClusterId(random: (size: number) => Buffer = randomBytes): string {
  for (;;) {
    const id = random(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** A client listener secured by TLS or SASL, beside the broker's own plaintext listeners. */
export interface SecuredListener {
  /** its name, letters only (SSL_CA, SASL_PLAIN, ...); its settings are prefixed `listener.name.<name lowercased>.` */
  name: string;
  protocol: 'SSL' | 'SASL_SSL';
  /** server.properties lines for it (client authentication, SASL mechanisms) */
  properties: string[];
  /** more arguments for the storage format (SCRAM users: `--add-scram ...`) */
  formatArgs?: string[];
}

/**
 * Starts a second single-node KRaft broker from the jars `npm run infra:up` resolved,
 * on free ports with a temporary log directory. Slow (seconds); for tests that must
 * take the broker away. With `secured` listeners, `endpoints` names each one's
 * address, and `brokers` is the plaintext listener.
 */
export async function startKafkaBroker(
  secured: SecuredListener[] = [],
): Promise<DedicatedBroker & { endpoints: Record<string, string> }> {
  const root = repoRoot();
  const version = /<kafka.version>(.+)<\/kafka.version>/.exec(
    readFileSync(join(root, 'infra/kafka/pom.xml'), 'utf8'),
  )![1]!;
  const libs = join(root, '.cache/kafka', version, 'libs');
  if (!existsSync(join(libs, '.complete')))
    throw new Error('Kafka jars missing: run `npm run infra:up` first');
  const [port, controllerPort] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'cio-bridge-kafka-'));
  const properties = readFileSync(join(root, 'infra/kafka/server.properties'), 'utf8')
    .replaceAll('@LOG_DIR@', join(dir, 'data'))
    .replaceAll('127.0.0.1:9092', `127.0.0.1:${port}`)
    .replaceAll('127.0.0.1:9093', `127.0.0.1:${controllerPort}`);
  const config = join(dir, 'server.properties');
  const endpoints: Record<string, string> = {};
  for (const listener of secured) endpoints[listener.name] = `127.0.0.1:${await freePort()}`;
  const own = [`PLAINTEXT://127.0.0.1:${port}`];
  const clients = secured.map((listener) => `${listener.name}://${endpoints[listener.name]}`);
  // Later lines win in a Java properties file.
  const securedLines = secured.length
    ? [
        `listeners=${[...clients, ...own, `CONTROLLER://127.0.0.1:${controllerPort}`].join(',')}`,
        `advertised.listeners=${[...clients, ...own].join(',')}`,
        `listener.security.protocol.map=${[
          ...secured.map((listener) => `${listener.name}:${listener.protocol}`),
          'PLAINTEXT:PLAINTEXT',
          'CONTROLLER:PLAINTEXT',
        ].join(',')}`,
        ...secured.flatMap((listener) => listener.properties),
      ]
    : [];
  writeFileSync(config, [properties, ...securedLines, ''].join('\n'));
  const java = (args: string[]) =>
    spawn(
      'java',
      [
        '-Xms64m',
        '-Xmx384m',
        '-XX:+UseSerialGC',
        '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
        '-cp',
        `${libs}/*`,
        ...args,
      ],
      {
        stdio: 'ignore',
      },
    );
  await new Promise((resolve, reject) =>
    java([
      'kafka.tools.StorageTool',
      'format',
      '-t',
      newClusterId(),
      '-c',
      config,
      ...secured.flatMap((listener) => listener.formatArgs ?? []),
    ]).on('exit', (code) =>
      code === 0 ? resolve(code) : reject(new Error(`kafka storage format exited with ${code}`)),
    ),
  );

  let process: ChildProcess | undefined;
  const broker: DedicatedBroker & { endpoints: Record<string, string> } = {
    brokers: [`127.0.0.1:${port}`],
    endpoints,
    async start() {
      process = java(['kafka.Kafka', config]);
      // minutes on a busy machine, with several TLS listeners
      await waitFor(() => portAnswers(port), {
        timeoutMs: 180_000,
        what: `dedicated broker on port ${port}`,
      });
    },
    async stop() {
      const running = process;
      process = undefined;
      if (!running || running.exitCode !== null) return;
      await new Promise((resolve) => {
        running.once('exit', resolve);
        running.kill('SIGTERM');
        setTimeout(() => running.kill('SIGKILL'), 20_000).unref();
      });
    },
    async close() {
      await broker.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await broker.start();
  return broker;
}
