import type { Logger } from '@cio-bridge/logger';

export interface ShutdownOptions {
  logger: Logger;
  /** exit with code 1 when stopping takes longer than this */
  timeoutMs?: number;
  signals?: NodeJS.Signals[];
  exit?: (code: number) => void;
}

/**
 * On SIGTERM or SIGINT runs `stop` once (stop fetching, finish or hand back work,
 * commit, disconnect) and exits 0; exits 1 if it fails or outlasts the timeout.
 * A second signal while stopping exits at once.
 */
export function onShutdown(stop: () => Promise<void>, options: ShutdownOptions): void {
  const { logger, timeoutMs = 25_000, signals = ['SIGTERM', 'SIGINT'], exit = process.exit } = options;
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal while stopping: exiting now');
      exit(1);
      return;
    }
    stopping = true;
    logger.info({ signal, timeoutMs }, 'stopping');
    const timer = setTimeout(() => {
      logger.error({ timeoutMs }, 'stopping took too long: exiting');
      exit(1);
    }, timeoutMs);
    timer.unref();
    stop().then(
      () => {
        clearTimeout(timer);
        logger.info('stopped');
        exit(0);
      },
      (error: unknown) => {
        clearTimeout(timer);
        logger.error({ err: error }, 'stopping failed');
        exit(1);
      },
    );
  };
  for (const signal of signals) process.on(signal, handler);
}
