import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '@cio-bridge/config';
import { Command, CommanderError } from 'commander';
import type { CommandContext } from './commands/io';
import { listCommand } from './commands/list';
import { type CommandDeps, type TopicOptions, topicName } from './commands/options';
import { purgeCommand } from './commands/purge';
import { replayCommand } from './commands/replay';
import { rerouteCommand } from './commands/reroute';
import { showCommand } from './commands/show';
import { statsCommand } from './commands/stats';
import { type CliDeps, loadCliConfig, Session, terminalConfirm } from './context';
import { CommandError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from './errors';
import { TopicNotFoundError } from './kafka/topic-source';
import { LineWriter } from './output';
import { systemClock } from './rate-limiter';

const EXIT_CODES_HELP = `
Exit codes:
  0  success (also: nothing matched, nothing to do)
  1  failure: Kafka unreachable, topic missing, publishing failed, the confirmation declined,
     or a replay interrupted (Ctrl-C; run it again to continue)
  2  bad usage: unknown command or option, malformed argument or environment variable,
     or replay/purge without --yes when not on a terminal

Environment: KAFKA_BROKERS, KAFKA_CLIENT_ID, KAFKA_SSL, KAFKA_SSL_CA_FILE,
KAFKA_SSL_CERT_FILE, KAFKA_SSL_KEY_FILE, KAFKA_SSL_KEY_PASSWORD, KAFKA_SASL_MECHANISM,
KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD, KAFKA_SASL_OAUTHBEARER_* (as the services), KAFKA_TOPIC_DLQ (the
dead-letter topic, default customerio.dlq), CIO_DLQ_OPERATOR (who, for audit
records; default user@host), CIO_DLQ_LOG_LEVEL (client logs on stderr; default silent).`;

function version(): string {
  try {
    return (JSON.parse(readFileSync(join(__dirname, '../package.json'), 'utf8')) as { version: string })
      .version;
  } catch {
    return '0.0.0';
  }
}

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

  const context = (options: TopicOptions): CommandContext => {
    const config = loadCliConfig(deps.env);
    const dlqTopic = topicName('--dlq-topic', options.dlqTopic ?? config.topics.dlq);
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

  // Each command builds its own Command (options, help, action) in its own file.
  const commandDeps: CommandDeps = {
    context,
    exit: (code) => {
      exitCode = code;
    },
  };
  for (const factory of [
    statsCommand,
    listCommand,
    showCommand,
    replayCommand,
    purgeCommand,
    rerouteCommand,
  ]) {
    program.addCommand(factory(commandDeps).copyInheritedSettings(program));
  }

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
