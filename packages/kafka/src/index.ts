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
export { type OutgoingMessage, Publisher, type PublisherOptions, PublishTimeoutError } from './publisher';
export { type KafkaReadiness, kafkaReadiness } from './readiness';
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
