import type { Session } from '../context';
import type { LineWriter, OutputStream } from '../output';
import type { Clock } from '../rate-limiter';

/** What a command gets besides its options. */
export interface CommandContext {
  session: Session;
  /** the dead-letter topic (`--dlq-topic`, else KAFKA_TOPIC_DLQ, else customerio.dlq) */
  dlqTopic: string;
  out: LineWriter;
  stdout: OutputStream;
  stderr: OutputStream;
  now: number;
  clock: Clock;
  /** whether a person is at a terminal to answer questions (stdin and stderr are terminals) */
  interactive: boolean;
  confirm: (question: string) => Promise<boolean>;
  /** see CliDeps.onInterrupt */
  onInterrupt: (handler: () => void) => () => void;
}

/** A note for the operator on stderr, so stdout stays clean for pipes. */
export const note = (ctx: CommandContext, text: string) => {
  ctx.stderr.write(`${text}\n`);
};
