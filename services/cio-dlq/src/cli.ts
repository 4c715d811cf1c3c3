import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '@cio-bridge/config';
import { Command, CommanderError, Option } from 'commander';
import type { CommandContext } from './commands/io';
import { listCommand } from './commands/list';
import { purgeCommand } from './commands/purge';
import { replayCommand } from './commands/replay';
import { showCommand } from './commands/show';
import { statsCommand } from './commands/stats';
import { type CliDeps, loadCliConfig, Session, terminalConfirm } from './context';
import { ERROR_CLASSES } from './dlq-entry';
import { CommandError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from './errors';
import { type FilterOptions, parseFilter, positiveInteger } from './filter';
import { TopicNotFoundError } from './kafka/topic-reader';
import { ACTIONS } from './operation';
import { LineWriter } from './output';
import { systemClock } from './rate-limiter';

const EXIT_CODES_HELP = `
Exit codes:
  0  success (also: nothing matched, nothing to do)
  1  failure: Kafka unreachable, topic missing, publishing failed, the confirmation declined,
     or a replay interrupted (Ctrl-C; run it again to continue)
  2  bad usage: unknown command or option, malformed argument or environment variable,
     or replay/purge without --yes when not on a terminal

Environment: KAFKA_BROKERS, KAFKA_CLIENT_ID, KAFKA_SSL, KAFKA_SASL_MECHANISM,
KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD (as the services), KAFKA_TOPIC_DLQ (the
dead-letter topic, default customerio.dlq), CIO_DLQ_OPERATOR (who, for audit
records; default user@host), CIO_DLQ_LOG_LEVEL (client logs on stderr; default silent),
CIO_DLQ_REPLAY_KEEP_MB (replays up to this size are read once; default 64).`;

const TOPIC_PATTERN = /^[a-zA-Z0-9._-]{1,249}$/;

interface Shared extends FilterOptions {
  dlqTopic?: string;
  json?: boolean;
  reveal?: boolean;
  all?: boolean;
}

function version(): string {
  try {
    return (JSON.parse(readFileSync(join(__dirname, '../package.json'), 'utf8')) as { version: string })
      .version;
  } catch {
    return '0.0.0';
  }
}

const withTopic = (command: Command) =>
  command.option(
    '--dlq-topic <topic>',
    'the dead-letter topic (default: $KAFKA_TOPIC_DLQ, else customerio.dlq)',
  );

const withFilters = (command: Command) =>
  command
    .option('--action <actions>', `only these actions, comma-separated (${ACTIONS.join(', ')})`)
    .option('--entity <entities>', 'only operations on these: person, object, anonymous; comma-separated')
    .option('--event <names>', 'only events with these names, comma-separated')
    .option(
      '--error-class <classes>',
      `only these error classes, comma-separated (${ERROR_CLASSES.join(', ')})`,
    )
    .option(
      '--status <statuses>',
      'only these HTTP statuses: 400, a class such as 5xx, or none; comma-separated',
    )
    .option('--customer <identifier>', 'only this person: the message key or an id, email or cio_id')
    .option('--since <time>', 'dead-lettered at or after: an ISO time, or a duration ago such as 30m, 2h, 7d')
    .option('--until <time>', 'dead-lettered before: an ISO time, or a duration ago')
    .option('--limit <n>', 'at most n messages (the oldest first)');

/** Commander's messages ("error: unknown option '--x'") as one line naming the command's help. */
function commanderLine(message: string, command: string): string {
  const text = message
    .replace(/^error:\s*/i, '')
    .replace(/\s*\n\s*/g, ' ')
    .trim();
  return `${text} (see cio-dlq ${command ? `${command} ` : ''}--help)`;
}

/** The innermost message of an error chain (kafkajs wraps the socket's error). */
function rootMessage(error: unknown): string {
  let current = error as { message?: string; cause?: unknown; originalError?: unknown } | undefined;
  let message = current?.message ?? String(error);
  for (let depth = 0; current && depth < 5; depth++) {
    const next = (current.originalError ?? current.cause) as typeof current;
    if (!next?.message) break;
    message = next.message;
    current = next;
  }
  return message;
}

/** One line and an exit code for any error a command ends with. */
export function describeError(error: unknown, brokers?: string): { line: string; code: number } {
  if (error instanceof UsageError || error instanceof ConfigError)
    return { line: error.message, code: EXIT_USAGE };
  if (error instanceof CommandError) return { line: error.message, code: error.exitCode };
  const where = brokers ? ` (KAFKA_BROKERS=${brokers})` : '';
  if (error instanceof TopicNotFoundError) return { line: `${error.message}${where}`, code: EXIT_FAILURE };
  const name = (error as Error)?.name ?? '';
  const message = rootMessage(error);
  if (name.startsWith('KafkaJS')) {
    if (/SASL|authenticat/i.test(`${name} ${message}`))
      return { line: `Kafka refused the credentials${where}: ${message}`, code: EXIT_FAILURE };
    if (
      /Connection|ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|timeout|BrokerNotFound|NumberOfRetriesExceeded/i.test(
        `${name} ${message}`,
      )
    ) {
      return { line: `cannot reach Kafka at ${brokers ?? 'KAFKA_BROKERS'}: ${message}`, code: EXIT_FAILURE };
    }
    return { line: `Kafka error${where}: ${message}`, code: EXIT_FAILURE };
  }
  return { line: message || 'unknown error', code: EXIT_FAILURE };
}

/**
 * Runs `cio-dlq` with the given arguments (without `node` and the script) and
 * resolves to the exit code. Errors become one line on stderr; stack traces
 * only with CIO_DLQ_LOG_LEVEL=debug.
 */
export async function runCli(args: string[], deps: CliDeps): Promise<number> {
  const now = deps.now ?? Date.now;
  let session: Session | undefined;
  let exitCode = EXIT_OK;
  let current = '';

  const context = (options: Shared): CommandContext => {
    const config = loadCliConfig(deps.env);
    const dlqTopic = options.dlqTopic ?? config.topics.dlq;
    if (!TOPIC_PATTERN.test(dlqTopic))
      throw new UsageError(`--dlq-topic must be a Kafka topic name; got "${dlqTopic}"`);
    session = new Session(config, deps.stderr);
    const interactive = Boolean(deps.stdin?.isTTY && deps.stderr.isTTY);
    return {
      session,
      dlqTopic,
      out: new LineWriter(deps.stdout),
      stdout: deps.stdout,
      stderr: deps.stderr,
      now: now(),
      clock: deps.clock ?? systemClock,
      interactive,
      onInterrupt: deps.onInterrupt ?? (() => () => {}),
      confirm:
        deps.confirm ??
        ((question) =>
          deps.stdin ? terminalConfirm(deps.stdin, deps.stderr, question) : Promise.resolve(false)),
    };
  };

  const program = new Command('cio-dlq')
    .description(
      'The SRE command line for the Customer.io dead-letter topic: look at failed operations, replay them, purge them.',
    )
    .version(version(), '-V, --version')
    .addHelpText('after', EXIT_CODES_HELP)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => deps.stdout.write(text),
      writeErr: (text) => deps.stderr.write(text),
      outputError: (text, write) => write(`cio-dlq: ${commanderLine(text, current)}\n`),
    });

  withFilters(
    withTopic(
      program
        .command('stats')
        .description(
          'counts by error class, HTTP status, action and event name; the oldest and newest message',
        ),
    ),
  )
    .option('--all', 'count replayed and purged messages too')
    .option('--json', 'one JSON object')
    .action(async (options: Shared) => {
      const ctx = context(options);
      exitCode = await statsCommand(ctx, {
        filter: parseFilter(options, ctx.now),
        json: options.json,
        all: options.all,
      });
    });

  withFilters(
    withTopic(
      program
        .command('list')
        .description(
          'one line per message, oldest first: partition:offset, age, action, event, person, error class, status, message',
        ),
    ),
  )
    .option('--all', 'include replayed and purged messages (with a STATE column)')
    .option('--json', 'JSON lines instead of a table')
    .option('--reveal', 'show email addresses (masked by default)')
    .action(async (options: Shared) => {
      const ctx = context(options);
      exitCode = await listCommand(ctx, {
        filter: parseFilter(options, ctx.now),
        json: options.json,
        reveal: options.reveal,
        all: options.all,
      });
    });

  withTopic(
    program
      .command('show')
      .description('one message with its key, every header and its value')
      .argument('<partition:offset>', 'the message, as list prints it, such as 2:1045'),
  )
    .option('--json', 'one JSON object')
    .option('--reveal', 'show email addresses and personal attributes (masked by default)')
    .action(async (coordinate: string, options: Shared) => {
      const ctx = context(options);
      exitCode = await showCommand(ctx, coordinate, { json: options.json, reveal: options.reveal });
    });

  withFilters(
    withTopic(
      program
        .command('replay')
        .description(
          'publish matching pending messages back to their original topic, operation id unchanged; resumable',
        ),
    ),
  )
    .option('--to <topic>', "publish to this topic instead of each message's original topic")
    .option('--dry-run', 'show what would be replayed or skipped, and change nothing')
    .option('--rate <n>', 'at most n messages per second (default: as fast as the broker takes them)')
    .addOption(
      new Option(
        '--max-replays <n>',
        'refuse to replay an operation that would be replayed more than n times',
      ).default('3'),
    )
    .option(
      '--force',
      'also replay identifies that are older than a newer identify delivered or replayed since',
    )
    .option('-y, --yes', 'do not ask for confirmation (needed when not on a terminal)')
    .option('--reason <text>', 'why, for the audit record')
    .option('--json', 'JSON output (dry run: JSON lines)')
    .option('--reveal', 'dry run: show email addresses')
    .action(
      async (
        options: Shared & {
          to?: string;
          dryRun?: boolean;
          rate?: string;
          maxReplays: string;
          force?: boolean;
          yes?: boolean;
          reason?: string;
        },
      ) => {
        const ctx = context(options);
        if (options.to !== undefined && !TOPIC_PATTERN.test(options.to))
          throw new UsageError(`--to must be a Kafka topic name; got "${options.to}"`);
        exitCode = await replayCommand(ctx, {
          filter: parseFilter(options, ctx.now),
          to: options.to,
          dryRun: options.dryRun,
          rate: options.rate === undefined ? undefined : positiveInteger('--rate', options.rate, 1_000_000),
          maxReplays: positiveInteger('--max-replays', options.maxReplays, 1_000),
          force: options.force,
          yes: options.yes,
          json: options.json,
          reveal: options.reveal,
          reason: options.reason,
        });
      },
    );

  withFilters(
    withTopic(
      program
        .command('purge')
        .description(
          'mark matching pending messages as handled without replaying them, with an audit record (who, when, filter, count)',
        ),
    ),
  )
    .option('--dry-run', 'list what would be purged, and change nothing')
    .option('-y, --yes', 'do not ask for confirmation (needed when not on a terminal)')
    .option('--reason <text>', 'why, for the audit record')
    .option('--json', 'JSON output (dry run: JSON lines)')
    .option('--reveal', 'dry run: show email addresses')
    .action(async (options: Shared & { dryRun?: boolean; yes?: boolean; reason?: string }) => {
      const ctx = context(options);
      exitCode = await purgeCommand(ctx, {
        filter: parseFilter(options, ctx.now),
        dryRun: options.dryRun,
        yes: options.yes,
        json: options.json,
        reveal: options.reveal,
        reason: options.reason,
      });
    });

  for (const command of program.commands) command.addHelpText('after', EXIT_CODES_HELP);
  const named = args.find((arg) => !arg.startsWith('-'));
  if (named && program.commands.some((c) => c.name() === named)) current = named;

  try {
    await program.parseAsync(args, { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT_OK;
      // Commander already printed its message (a missing command prints the help).
      return EXIT_USAGE;
    }
    const { line, code } = describeError(error, session?.brokers);
    deps.stderr.write(`cio-dlq: ${line}\n`);
    if (session?.config.logLevel === 'debug' || session?.config.logLevel === 'trace')
      deps.stderr.write(`${(error as Error)?.stack ?? ''}\n`);
    return code;
  } finally {
    await session?.close();
  }
}
