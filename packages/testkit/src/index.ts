export { createTestCertificates, type TestCertificates } from './certificates';
export { type DedicatedBroker, type SecuredListener, startKafkaBroker } from './dedicated-broker';
export { testDatabaseUrl, testKafkaBrokers, testRedisUrl } from './environment';
export {
  abortedRequest,
  answerProblem,
  type FuzzRequest,
  fuzzBodies,
  fuzzRequests,
  fuzzRuns,
  fuzzSeed,
  type RawAnswer,
  rawRequest,
} from './fuzz';
export { testLogger } from './logger';
export { createTestSchema, type TestSchema } from './postgres';
export { readMessages } from './read-messages';
export { type DedicatedRedis, startRedisServer } from './redis-server';
export { type KafkaSecurityMode, type SecuredBroker, startSecuredKafkaBroker } from './secured-broker';
export { buildServices, freePort, type ServiceProcess, spawnService } from './service-process';
export { startTokenEndpoint, type TokenEndpoint, unsecuredJwt } from './token-endpoint';
export { createTestTopics, testKafka, testTopicNames, uniqueName } from './topics';
export { waitFor } from './wait-for';
