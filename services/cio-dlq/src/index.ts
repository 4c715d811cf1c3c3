export { describeError, runCli } from './cli';
export { type PlanItem, planReplay, type ReplayOptions, replayMessage } from './commands/replay';
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
export { type PartitionRange, type RawMessage, TopicNotFoundError, TopicReader } from './kafka/topic-reader';
export { ACTIONS, describeOperation, type OperationSummary } from './operation';
export { type Clock, RateLimiter } from './rate-limiter';
export { type AuditRecord, type HandledMark, readHandledState, stateTopicsFor } from './state';
