export {
  type CioEnv,
  type CioOutputEnv,
  cioAppUrl,
  cioEnv,
  cioOutputEnv,
  cioPipelinesUrl,
  cioRateLimitRps,
  cioTrackUrl,
  DOCUMENTED_RATES,
  trackCredentialsIssues,
} from './cio-env';
export { bool, commaList, integer, logLevel, MIN_TOKEN_LENGTH, port, tokenList } from './fields';
export { type HttpEnv, httpEnv, httpNetworkOptions } from './http-env';
export { type KafkaEnv, kafkaClientOptions, kafkaEnv } from './kafka-env';
export type { KafkaTls } from './kafka-tls';
export { ConfigError, loadConfig } from './load';
export { runMain } from './run-main';
