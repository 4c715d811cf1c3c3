export {
  createKafka,
  type KafkaClient,
  type KafkaClientOptions,
  type KafkaSaslOptions,
  type KafkaTlsOptions,
} from './client';
export { type ConsumerOptions, createConsumer } from './consumer';
export { headerString, headersToStrings } from './headers';
export { type OAuthClientCredentials, OAuthTokenError, OAuthTokenSource } from './oauth-token';
export { MessagePlacement, type Placement } from './placement';
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
export { type Deployable, TOPIC_ACCESS, type TopicAccess, topicRolesOf } from './topic-access';
export { TOPIC_CONTENTS } from './topic-contents';
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
