export {
  type CioEnv,
  type CioOutputEnv,
  cioAppUrl,
  cioEnv,
  cioOutputEnv,
  cioPipelinesUrl,
  cioTrackUrl,
} from './cio-env';
export { bool, commaList, integer, logLevel, port } from './fields';
export { type KafkaEnv, kafkaClientOptions, kafkaEnv } from './kafka-env';
export { ConfigError, loadConfig } from './load';
export { runMain } from './run-main';
