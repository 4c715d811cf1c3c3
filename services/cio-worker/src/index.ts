// The encoders are @cio-bridge/schemas'; re-exported for the benchmarks.
export { SEMANTIC_EVENTS, toPipelinesCalls, toV2Operation } from '@cio-bridge/schemas';
export { customerioOptions, tuningOptions, type WorkerEnv, workerEnv } from './config';
export type { CustomerioOptions } from './customerio';
export { DLQ_HEADERS, deadLetterMessage } from './dead-letter';
export { DeliveryError, type ErrorClass, ValidationError } from './errors';
export { OffsetTracker } from './offset-tracker';
export { decodeTrack, decodeTransactional, derivedOperationId } from './operation';
export { type OutputOptions, outputEnv, outputOptions } from './output';
export { PIPELINES_LIMITS, type PipelinesOptions, pipelinesChannel } from './pipelines';
export { LocalBudget, RedisBudget, type RequestBudget } from './rate-limit';
export { type Receipt, receiptOf, receiptsTopicSpec } from './receipts';
export { defaultTuning, type WorkerTuning } from './settings';
export {
  createWorker,
  type Worker,
  type WorkerDeps,
  type WorkerStatus,
  workerConsumer,
  workerProducer,
} from './worker';
