import { describeError, runCli } from './cli';
import type { OutputStream } from './output';

class Capture implements OutputStream {
  text = '';
  isTTY = false;
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
  once(): this {
    return this;
  }
}

// A broker address nothing listens on: these commands must fail before connecting.
const env = { KAFKA_BROKERS: '127.0.0.1:1' };

async function run(args: string[], extraEnv: Record<string, string> = {}) {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await runCli(args, { env: { ...env, ...extraEnv }, stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

const oneLine = (text: string) => {
  expect(text.endsWith('\n')).toBe(true);
  expect(text.trimEnd().split('\n')).toHaveLength(1);
  return text.trimEnd();
};

describe('cio-dlq arguments', () => {
  it.each(['stats', 'list', 'show', 'replay', 'purge'])(
    'has --help on %s (exit 0, exit codes listed)',
    async (command) => {
      const { code, stdout } = await run([command, '--help']);
      expect(code).toBe(0);
      expect(stdout).toContain(`Usage: cio-dlq ${command}`);
      expect(stdout).toContain('Exit codes:');
      expect(stdout).toContain('--dlq-topic <topic>');
    },
  );

  it('lists the commands in the top-level help', async () => {
    const { code, stdout } = await run(['--help']);
    expect(code).toBe(0);
    for (const command of ['stats', 'list', 'show', 'replay', 'purge'])
      expect(stdout).toContain(`  ${command} `);
  });

  it.each([
    [['list', '--bogus'], "cio-dlq: unknown option '--bogus' (see cio-dlq list --help)"],
    [['lst'], "cio-dlq: unknown command 'lst' (Did you mean list?) (see cio-dlq --help)"],
    [['show'], "cio-dlq: missing required argument 'partition:offset' (see cio-dlq show --help)"],
    [['list', '--limit'], "cio-dlq: option '--limit <n>' argument missing (see cio-dlq list --help)"],
    [
      ['list', '--limit', 'ten'],
      'cio-dlq: --limit must be a whole number from 1 to 9007199254740991; got "ten"',
    ],
    [
      ['stats', '--error-class', 'http_418'],
      'cio-dlq: --error-class must be one of http_4xx, http_5xx, rate_limited, timeout, network, validation, ambiguous, unknown; got "http_418"',
    ],
    [
      ['list', '--since', 'last week'],
      'cio-dlq: --since must be an ISO 8601 time (2024-05-22T18:35:12Z) or a duration ago (30m, 2h, 7d); got "last week"',
    ],
    [['show', '2-1045'], 'cio-dlq: message must be <partition>:<offset>, such as 2:1045; got "2-1045"'],
    [['replay', '--rate', '0', '--yes'], 'cio-dlq: --rate must be a whole number from 1 to 1000000; got "0"'],
    [
      ['replay', '--max-replays', 'many', '--yes'],
      'cio-dlq: --max-replays must be a whole number from 1 to 1000; got "many"',
    ],
    [['replay', '--to', 'bad topic', '--yes'], 'cio-dlq: --to must be a Kafka topic name; got "bad topic"'],
    [['list', '--dlq-topic', 'no/slash'], 'cio-dlq: --dlq-topic must be a Kafka topic name; got "no/slash"'],
    [
      ['replay'],
      'cio-dlq: replay publishes messages: pass --yes when not on a terminal (--dry-run shows what it would do)',
    ],
    [
      ['purge', '--action', 'identify'],
      'cio-dlq: purge marks messages as handled: pass --yes when not on a terminal (--dry-run lists them)',
    ],
  ])('%j is bad usage: exit 2 and one line', async (args, line) => {
    const { code, stdout, stderr } = await run(args);
    expect(code).toBe(2);
    expect(oneLine(stderr)).toBe(line);
    expect(stdout).toBe('');
  });

  it('exits 2 with the usage when no command is given', async () => {
    const { code, stderr } = await run([]);
    expect(code).toBe(2);
    expect(stderr).toContain('Usage: cio-dlq');
  });

  it.each([
    [
      { KAFKA_BROKERS: 'localhost' },
      'cio-dlq: configuration error: KAFKA_BROKERS must be a comma-separated list of host:port',
    ],
    [{ KAFKA_SSL: 'maybe' }, 'cio-dlq: configuration error: KAFKA_SSL must be true or false'],
    [
      { KAFKA_TOPIC_DLQ: 'bad topic' },
      'cio-dlq: configuration error: KAFKA_TOPIC_DLQ must be a Kafka topic name',
    ],
    [
      { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u' },
      'cio-dlq: configuration error: KAFKA_SASL_PASSWORD is required when KAFKA_SASL_MECHANISM is set',
    ],
  ])('names a malformed variable %j: exit 2, one line', async (extra, line) => {
    const { code, stderr } = await run(['stats'], extra);
    expect(code).toBe(2);
    expect(oneLine(stderr)).toBe(line);
  });
});

describe('describeError', () => {
  const kafkaError = (name: string, message: string, cause?: Error) =>
    Object.assign(new Error(message), { name, ...(cause ? { originalError: cause } : {}) });

  it('says which cluster cannot be reached, with the innermost reason', () => {
    const error = kafkaError(
      'KafkaJSNonRetriableError',
      'Connection error',
      kafkaError('KafkaJSConnectionError', 'Connection error: getaddrinfo ENOTFOUND kafka.invalid'),
    );
    expect(describeError(error, 'kafka.invalid:9092')).toEqual({
      code: 1,
      line: 'cannot reach Kafka at kafka.invalid:9092: Connection error: getaddrinfo ENOTFOUND kafka.invalid',
    });
  });

  it('tells credentials apart from other Kafka errors', () => {
    expect(
      describeError(kafkaError('KafkaJSSASLAuthenticationError', 'SASL PLAIN authentication failed'), 'k:1'),
    ).toEqual({
      code: 1,
      line: 'Kafka refused the credentials (KAFKA_BROKERS=k:1): SASL PLAIN authentication failed',
    });
    expect(
      describeError(kafkaError('KafkaJSProtocolError', 'Not authorized to access topics'), 'k:1'),
    ).toEqual({
      code: 1,
      line: 'Kafka error (KAFKA_BROKERS=k:1): Not authorized to access topics',
    });
  });

  it('keeps anything else to its message', () => {
    expect(describeError(new Error('disk full'))).toEqual({ code: 1, line: 'disk full' });
  });
});
