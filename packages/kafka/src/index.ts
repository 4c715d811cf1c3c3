export { createKafka, type KafkaClientOptions } from './client';
export { type ConsumerOptions, createConsumer } from './consumer';
export { headerString, headersToStrings } from './headers';
export { type OutgoingMessage, Publisher, type PublisherOptions, PublishTimeoutError } from './publisher';
export { type KafkaReadiness, kafkaReadiness } from './readiness';
export { assignReplyPartitions, replyPartitionAssigner } from './replies/assigner';
export { parseReply, ReplyInbox, type ReplyInboxOptions, type WaitTicket } from './replies/reply-inbox';
export {
  type KnownOutcome,
  type OperationOutcome,
  type PendingOutcome,
  type Wait,
  type WaitAnswer,
  Waiters,
} from './replies/waiters';
export { onShutdown, type ShutdownOptions } from './shutdown';
export {
  defaultTopicNames,
  type EnsureTopicsOptions,
  ensureTopics,
  MissingTopicsError,
  TOPICS,
  type TopicKey,
  type TopicNames,
  type TopicSpec,
  topicEnvVariable,
  topicNamesFromEnv,
  topicSpecs,
} from './topics';
