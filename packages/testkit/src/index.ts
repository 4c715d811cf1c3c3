export { createTestCertificates, type TestCertificates } from './certificates';
export { type DedicatedBroker, startKafkaBroker } from './dedicated-broker';
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
export { buildServices, freePort, type ServiceProcess, spawnService } from './service-process';
export { createTestTopics, testKafka, testTopicNames, uniqueName } from './topics';
export { waitFor } from './wait-for';
