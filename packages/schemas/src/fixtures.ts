import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { SEED_EVENT_NAMES } from './track';
import type {
  FieldError,
  PredictionWebhook,
  ReportingWebhook,
  TrackOperation,
  TransactionalSend,
} from './types';

/** Absolute path of the fixtures shipped with the package (`@cio-bridge/schemas/fixtures/*`). */
export const fixtureDir = join(__dirname, '..', 'fixtures');

/** An invalid fixture: what is wrong, the pointers its errors must include, and the value. */
export interface InvalidFixture {
  description: string;
  errors: Pick<FieldError, 'pointer'>[];
  value: unknown;
}

function readJsonDir<T>(dir: string): Record<string, T> {
  const out: Record<string, T> = {};
  for (const file of readdirSync(join(fixtureDir, dir)).sort()) {
    if (!file.endsWith('.json')) continue;
    out[basename(file, '.json')] = JSON.parse(readFileSync(join(fixtureDir, dir, file), 'utf8')) as T;
  }
  return out;
}

/** The seed section 2.1 payloads, by event name (a fresh copy on every call). */
export function seedExamples(): Record<string, TrackOperation> {
  const examples = readJsonDir<TrackOperation>('valid');
  for (const name of SEED_EVENT_NAMES) {
    if (!examples[name]) throw new Error(`missing seed fixture fixtures/valid/${name}.json`);
  }
  return examples;
}

/** Valid operations of every action besides the seed events, by case name. */
export function operationExamples(): Record<string, TrackOperation> {
  return readJsonDir<TrackOperation>('valid-operations');
}

/** Track operations that must not validate, by case name. */
export function invalidTrackFixtures(): Record<string, InvalidFixture> {
  return readJsonDir<InvalidFixture>('invalid');
}

/** The seed section 2.2 prediction webhooks: churn_risk, product_affinity, purchase_intent. */
export function seedPredictionExamples(): Record<string, PredictionWebhook> {
  return readJsonDir<PredictionWebhook>('predictions/valid');
}

export function invalidPredictionFixtures(): Record<string, InvalidFixture> {
  return readJsonDir<InvalidFixture>('predictions/invalid');
}

/** Reporting webhook events from Customer.io's documentation, plus an email bounce. */
export function reportingExamples(): Record<string, ReportingWebhook> {
  return readJsonDir<ReportingWebhook>('reporting/valid');
}

export function invalidReportingFixtures(): Record<string, InvalidFixture> {
  return readJsonDir<InvalidFixture>('reporting/invalid');
}

export function transactionalExamples(): Record<string, TransactionalSend> {
  return readJsonDir<TransactionalSend>('transactional/valid');
}

export function invalidTransactionalFixtures(): Record<string, InvalidFixture> {
  return readJsonDir<InvalidFixture>('transactional/invalid');
}
