import { ConfigError } from './load';

/**
 * Runs a service's start-up; a configuration error becomes one line on stderr and
 * exit code 1, any other start-up failure its message and exit code 1.
 */
export function runMain(start: () => Promise<unknown>): void {
  start().catch((error: unknown) => {
    const line =
      error instanceof ConfigError ? error.message : `start-up failed: ${(error as Error)?.message ?? error}`;
    process.stderr.write(`${line}\n`);
    process.exit(1);
  });
}
