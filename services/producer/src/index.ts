import { join } from 'node:path';

export { bearerAuth } from '@cio-bridge/http';
export {
  createApp,
  type ItemError,
  type MessagePublisher,
  type ProducerAppOptions,
  type ReplyWaiting,
} from './app';
export { type ProducerEnv, producerEnv } from './config';
export { createProducerMetrics, type Outcome, type ProducerMetrics } from './metrics';

/** The OpenAPI document of the producer's HTTP API. */
export const openApiPath = join(__dirname, '..', 'openapi.yaml');
