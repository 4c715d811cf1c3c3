/**
 * The App API's transactional email (transactional-api.openapi.yml,
 * `POST /send/email` under the `https://api.customer.io/v1` server), mounted
 * at `/v1`. Bearer authentication with the App API key is checked before.
 */
import { type Response, Router } from 'express';
import { isPlainObject } from './limits';
import { isProblem, parseIdentifiers } from './operations';
import type { SandboxState } from './state';
import { rawBody, readJson } from './track-api';

const OPTIONAL_STRINGS = ['from', 'reply_to', 'bcc', 'subject', 'body', 'plaintext_body'] as const;
const OPTIONAL_BOOLEANS = ['disable_message_retention', 'send_to_unsubscribed', 'queue_draft'] as const;

/** Validates a TransactionalEmailRequest; returns the first problem's message. */
export function checkSendEmail(body: unknown): string | undefined {
  if (!isPlainObject(body)) return 'the body must be a JSON object (TransactionalEmailRequest)';
  const id = body.transactional_message_id;
  // The document types it as a string; Customer.io also takes the numeric id, as customerio-node sends it.
  if (
    !((typeof id === 'string' && id.length > 0) || (typeof id === 'number' && Number.isInteger(id) && id > 0))
  )
    return 'transactional_message_id is required: the id or trigger name of a transactional message';
  if (typeof body.to !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(body.to.replace(/^.*<([^>]*)>\s*$/, '$1')))
    return 'to is required and must be an email address';
  const identifiers = parseIdentifiers('identifiers', body.identifiers, ['id', 'email', 'cio_id']);
  if (isProblem(identifiers)) return identifiers.message;
  if (body.message_data !== undefined && !isPlainObject(body.message_data))
    return 'message_data must be an object';
  for (const key of OPTIONAL_STRINGS) {
    if (body[key] !== undefined && typeof body[key] !== 'string') return `${key} must be a string`;
  }
  for (const key of OPTIONAL_BOOLEANS) {
    if (body[key] !== undefined && typeof body[key] !== 'boolean') return `${key} must be true or false`;
  }
  return undefined;
}

export function appRouter(state: SandboxState): Router {
  const router = Router();
  const fail = (res: Response, message: string) => {
    state.counters.rejected++;
    res.status(400).json({ meta: { error: message } });
  };

  router.post('/send/email', rawBody, (req, res) => {
    const parsed = readJson(req);
    if (!parsed.ok) return fail(res, parsed.message);
    const problem = checkSendEmail(parsed.value);
    if (problem) return fail(res, problem);
    const send = state.addSend(parsed.value as Record<string, unknown>, new Date().toISOString());
    res.json({ delivery_id: send.delivery_id, queued_at: send.queued_at });
  });

  return router;
}
