import { DeliveryError, maybeSent } from '../errors';
import type { EngineOptions } from './engine-options';
import type { Item } from './types';

/** What sending one operation alone came to. */
export type AloneOutcome =
  | { kind: 'sent'; deliveryId?: string }
  | { kind: 'sent-before' }
  | { kind: 'failed'; error: DeliveryError };

/**
 * Sends one operation in a request of its own. With a ledger (the App API has no
 * idempotency key) the send is effect-once: skipped when the ledger holds its
 * operation id, recorded after it succeeded, and a send that may have reached
 * Customer.io without an answer fails as `ambiguous` (unless `ambiguous: 'retry'`).
 */
export async function sendAlone(
  item: Item,
  options: Pick<EngineOptions, 'channel' | 'ledger' | 'ambiguous' | 'logger' | 'onRequest'>,
): Promise<AloneOutcome> {
  const { ledger } = options;
  const id = item.op!.id;
  try {
    if (ledger && id !== undefined && (await ledger.sent(id))) return { kind: 'sent-before' };
  } catch (error) {
    const reason = `the send ledger cannot be read: ${(error as Error).message}`;
    return { kind: 'failed', error: new DeliveryError('unknown', reason, true) };
  }
  const traced = options.onRequest?.([item], 'one');
  let deliveryId: string | undefined;
  try {
    const send = () => options.channel.sendOne(item.op!.body);
    deliveryId = (await (traced ? traced.run(send) : send()))?.deliveryId;
    traced?.end();
  } catch (error) {
    traced?.end(error as DeliveryError);
    const failure = error as DeliveryError;
    if (ledger && maybeSent(failure) && (options.ambiguous ?? 'dead-letter') === 'dead-letter') {
      // It may have been sent: sending again could repeat it; an operator decides.
      return {
        kind: 'failed',
        error: new DeliveryError('ambiguous', `may have been sent: ${failure.message}`, false),
      };
    }
    return { kind: 'failed', error: failure };
  }
  if (ledger && id !== undefined) {
    await ledger
      .record(id)
      .catch((error: unknown) =>
        options.logger.warn(
          { err: error, offset: item.envelope.offset },
          'could not record a send in the ledger: a redelivery of it would send again',
        ),
      );
  }
  return deliveryId === undefined ? { kind: 'sent' } : { kind: 'sent', deliveryId };
}
