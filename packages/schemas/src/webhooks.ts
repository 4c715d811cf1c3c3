import type { ValidateFunction } from 'ajv';
import { validatorFor } from './ajv';
import { toFieldErrors } from './errors';
import type { PredictionWebhook, ReportingWebhook, TransactionalSend, Validation } from './types';

function validatorOfFile<T>(file: string): (value: unknown) => Validation<T> {
  let validate: ValidateFunction | undefined;
  return (value) => {
    validate ??= validatorFor(file);
    if (validate(value)) return { ok: true, value: value as T };
    return { ok: false, errors: toFieldErrors(validate.errors) };
  };
}

/** Validates an App API `/send/email` request (`transactional-send.schema.json`). */
export const validateTransactionalSend = validatorOfFile<TransactionalSend>('transactional-send.schema.json');

/** Validates a prediction webhook body (`webhooks/prediction.schema.json`, seed section 2.2). */
export const validatePredictionWebhook = validatorOfFile<PredictionWebhook>(
  'webhooks/prediction.schema.json',
);

/** Validates a reporting webhook event (`webhooks/reporting.schema.json`). */
export const validateReportingWebhook = validatorOfFile<ReportingWebhook>('webhooks/reporting.schema.json');
