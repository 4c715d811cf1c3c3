export { createAjv, SCHEMA_ID_BASE, schemaDir, utf8Bytes, validatorFor, withKnownSize } from './ajv';
export {
  convertDateAttributes,
  EncodeError,
  type EncodeOptions,
  unixSeconds,
} from './encode/options';
export {
  callMessageId,
  objectStandIn,
  type PipelinesCall,
  SEMANTIC_EVENTS,
  toPipelinesCalls,
} from './encode/pipelines';
export {
  toTrackApiItem,
  toV1AnonymousEvent,
  toV2Operation,
  V1_ANONYMOUS_EVENT_PREFIX,
} from './encode/track-api';
export { pointerToken, toFieldErrors } from './errors';
export {
  fixtureDir,
  type InvalidFixture,
  invalidPredictionFixtures,
  invalidReportingFixtures,
  invalidTrackFixtures,
  invalidTransactionalFixtures,
  operationExamples,
  reportingExamples,
  seedExamples,
  seedPredictionExamples,
  transactionalExamples,
} from './fixtures';
export { operationIds } from './ids';
export { type JsonTextError, locateSyntaxError, type ParsedJsonText, parseJsonText } from './json-text';
export { LIMITS } from './limits';
export { sentOperationBytes } from './sent-size';
export {
  anonymousKey,
  entityType,
  eventName,
  identifierOf,
  isSeedEventName,
  isTrackAction,
  jsonWithId,
  objectKey,
  objectOf,
  operationAction,
  personKey,
  SEED_EVENT_NAMES,
  type SeedEventName,
  type TrackValidation,
  trackSchemaFile,
  validateTrackOperation,
  validateTrackOperationJson,
  validateTrackOperationSchema,
} from './track';
export {
  type Device,
  type EntityType,
  type FieldError,
  type IdentifierKind,
  OBJECT_ACTIONS,
  type ObjectAction,
  type ObjectIdentifiers,
  type ObjectRelationship,
  type PersonIdentifiers,
  type PersonRelationship,
  type Predictions,
  type PredictionWebhook,
  type ReportingObjectType,
  type ReportingWebhook,
  type Timestamp,
  TRACK_ACTIONS,
  type TrackAction,
  type TrackOperation,
  type TransactionalSend,
  type Validation,
} from './types';
export { validatePredictionWebhook, validateReportingWebhook, validateTransactionalSend } from './webhooks';
