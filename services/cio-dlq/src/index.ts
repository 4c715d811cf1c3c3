export { describeError, runCli } from './cli';
export { type ReplayOptions, runReplay } from './commands/replay';
export { type CliConfig, type CliDeps, loadCliConfig, Session } from './context';
export {
  DLQ_HEADER_PREFIX,
  DLQ_HEADERS,
  type DlqEntry,
  ERROR_CLASSES,
  REPLAY_COUNT_HEADER,
  REPLAYED_FROM_HEADER,
  readEntry,
} from './dlq-entry';
export { CommandError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from './errors';
export { type Filter, type FilterOptions, matches, parseFilter } from './filter';
export { buildGuards, type Guards } from './guards/build';
export { type GuardVerdict, PersonHistory } from './guards/history';
export { TopicReader } from './kafka/topic-reader';
export {
  type PartitionRange,
  type RawMessage,
  TopicNotFoundError,
  type TopicSource,
} from './kafka/topic-source';
export { ACTIONS, describeOperation, type OperationSummary } from './operation';
export { type Clock, RateLimiter } from './rate-limiter';
export { type PlanItem, planReplay, replayMessage } from './replay/plan';
export { type AuditRecord, type HandledMark, readHandledState, stateTopicsFor } from './state';
