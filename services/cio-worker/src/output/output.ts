import {
  bool,
  type CioEnv,
  type CioOutputEnv,
  ConfigError,
  cioOutputEnv,
  cioPipelinesUrl,
} from '@cio-bridge/config';
import type { Channel } from '../delivery/engine';
import type { TrackOutput } from '../intake/operation';
import type { WorkerMetrics } from '../metrics';
import type { CustomerioOptions } from './customerio';
import { PIPELINES_LIMITS, type PipelinesOptions, pipelinesChannel } from './pipelines';
import { withAnonymousEvents } from './track-anonymous';

/** The worker's output variables: CIO_API, the Pipelines key and URL, WORKER_CONVERT_DATES. */
export const outputEnv = {
  ...cioOutputEnv,
  /** ISO 8601 attribute values are sent as Unix seconds */
  WORKER_CONVERT_DATES: bool(false),
};

/** Where Track operations go and how they are encoded. */
export type OutputOptions = TrackOutput & { pipelines?: PipelinesOptions };

/** The output from validated variables; CIO_API=pipelines needs CIO_PIPELINES_API_KEY. */
export function outputOptions(
  env: CioOutputEnv & Pick<CioEnv, 'CIO_REGION'> & { WORKER_CONVERT_DATES: boolean },
): OutputOptions {
  if (env.CIO_API === 'track') return { api: 'track', convertDates: env.WORKER_CONVERT_DATES };
  if (!env.CIO_PIPELINES_API_KEY)
    throw new ConfigError('CIO_PIPELINES_API_KEY', 'is required with CIO_API=pipelines');
  return {
    api: 'pipelines',
    convertDates: env.WORKER_CONVERT_DATES,
    pipelines: { url: cioPipelinesUrl(env), apiKey: env.CIO_PIPELINES_API_KEY },
  };
}

/**
 * The channel of the Track topic for the output, and the batch byte cap it needs
 * (Pipelines: PIPELINES_LIMITS.batchBytes; Track: the worker's own).
 */
export function trackTopicChannel(
  output: OutputOptions | undefined,
  track: () => Channel,
  customerio: CustomerioOptions,
  timeoutMs: number,
  metrics: WorkerMetrics,
): { channel: Channel; maxBatchBytes?: number } {
  if (output?.api === 'pipelines' && output.pipelines) {
    return {
      channel: pipelinesChannel(output.pipelines, timeoutMs, metrics),
      maxBatchBytes: PIPELINES_LIMITS.batchBytes,
    };
  }
  return { channel: withAnonymousEvents(track(), customerio, timeoutMs, metrics) };
}
