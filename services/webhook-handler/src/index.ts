export { createApp, type MessagePublisher, WEBHOOK_PATHS, type WebhookAppOptions } from './app';
export {
  type Classification,
  classifyWebhook,
  QUARANTINE_KINDS,
  type QuarantineKind,
} from './classify';
export { type PredictionsAuth, type WebhookAuth, type WebhookEnv, webhookAuth, webhookEnv } from './config';
export {
  checkJourneyCredential,
  type JourneyCheck,
  type JourneyCredentials,
  parseBasicAuth,
  parseHeaderSecrets,
} from './journey-auth';
export {
  deterministicUlid,
  isSuppressingEvent,
  type PredictionMessage,
  predictionMessage,
  reportingKey,
  reportingMessage,
  suppressOperation,
} from './messages';
export { createWebhookMetrics, OUTCOMES, type Outcome } from './metrics';
export { createWebhookProducer } from './producer';
export {
  type ClaimResult,
  createReplayStore,
  FallbackReplayStore,
  MemoryReplayStore,
  RedisReplayStore,
  type ReplayStore,
  ReplayStoreError,
  type ReplayStoreSetup,
} from './replay-store';
export {
  parseBody,
  QUARANTINE_HEADERS,
  type RoutedMessage,
  type RouteTopics,
  type Routing,
  routeWebhook,
  type SignedWebhook,
} from './route';
export { computeSignature, signatureMatches, verifyWebhook, webhookId } from './signature';
export { SourceAllowlist } from './source-allowlist';
