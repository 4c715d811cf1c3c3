// The encoders are @cio-bridge/schemas'; re-exported for the benchmarks.
export { SEMANTIC_EVENTS, toPipelinesCalls, toV2Operation } from '@cio-bridge/schemas';
export { customerioOptions, tuningOptions, type WorkerEnv, workerEnv } from './config';
export { deadLetterMessage } from './delivery/dead-letter';
export { LocalBudget, RedisBudget, type RequestBudget } from './delivery/rate-limit';
export { type Receipt, receiptOf, receiptsTopicSpec } from './delivery/receipts';
export { DeliveryError, type ErrorClass, ValidationError } from './errors';
export { OffsetTracker } from './intake/offset-tracker';
export { decodeTrack, decodeTransactional, derivedOperationId } from './intake/operation';
export type { CustomerioOptions } from './output/customerio';
export { type OutputOptions, outputEnv, outputOptions } from './output/output';
export { PIPELINES_LIMITS, type PipelinesOptions, pipelinesChannel } from './output/pipelines';
export { defaultTuning, type WorkerTuning } from './settings';
export {
  createWorker,
  type Worker,
  type WorkerDeps,
  type WorkerStatus,
  workerConsumer,
  workerProducer,
} from './worker';
