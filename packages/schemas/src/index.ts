export { createAjv, SCHEMA_ID_BASE, schemaDir, validatorFor } from './ajv';
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
export { LIMITS } from './limits';
export {
  eventName,
  identifierOf,
  isSeedEventName,
  isTrackAction,
  operationAction,
  personKey,
  SEED_EVENT_NAMES,
  type SeedEventName,
  trackSchemaFile,
  validateTrackOperation,
} from './track';
export {
  type Device,
  type FieldError,
  type IdentifierKind,
  type PersonIdentifiers,
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
