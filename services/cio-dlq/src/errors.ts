/** Bad usage: an unknown option, a malformed argument or environment variable. Exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
  readonly retriable = false;
  readonly exitCode = 2;
}

/** The command could not do its work (cluster unreachable, topic missing, publish failed). Exit code 1. */
export class CommandError extends Error {
  override name = 'CommandError';
  readonly exitCode = 1;
  constructor(
    message: string,
    readonly retriable = false,
  ) {
    super(message);
  }
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
