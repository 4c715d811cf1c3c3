import type { TrackOperation } from '@cio-bridge/schemas';
import { type OperationOptions, operations, type Person } from './seed-events';

/** A member's promotional subscriptions, per channel. */
export interface PromotionSubscriptions {
  email: boolean;
  sms: boolean;
}

/** The event tracked when a muted member resubscribes (seed 004). */
export const RESUBSCRIBE_EVENT = 'promotions_resubscribe';

export interface SubscriptionChange {
  member: Person;
  /** the member's profile attributes, sent with every identify */
  attributes?: Record<string, unknown>;
  /** subscriptions before the change; undefined for a new account */
  before: PromotionSubscriptions | undefined;
  after: PromotionSubscriptions;
  /** when the change happened (RFC 3339 or Unix seconds); default now */
  timestamp?: OperationOptions['timestamp'];
}

/** Muted = unsubscribed from promotions on both email and SMS (`promotions_muted_at` set). */
export const isMuted = (s: PromotionSubscriptions): boolean => !s.email && !s.sms;

const channels = (s: PromotionSubscriptions): string[] => (['email', 'sms'] as const).filter((c) => s[c]);

/**
 * The Track operations for a change of a member's promotional subscriptions,
 * following seed 004: Customer.io holds profiles only for members subscribed on
 * at least one channel.
 * - new account, subscribed: identify (create the profile);
 * - muted (both channels off) after being subscribed: delete the profile;
 * - resubscribed to either channel after being muted: identify (re-create),
 *   then a `promotions_resubscribe` event, in that order (same key, same partition);
 * - still subscribed, channels changed: identify (update);
 * - muted and still muted, or a new muted account: nothing.
 * Every identify carries `promotions_email`/`promotions_sms` with the attributes.
 */
export function subscriptionOperations(change: SubscriptionChange): TrackOperation[] {
  const { member, before, after } = change;
  const options: OperationOptions = change.timestamp === undefined ? {} : { timestamp: change.timestamp };
  const identify = () =>
    operations.identify(member, {
      ...change.attributes,
      promotions_email: after.email,
      promotions_sms: after.sms,
    });
  const wasMuted = before === undefined || isMuted(before);
  if (isMuted(after)) return wasMuted ? [] : [operations.delete(member)];
  if (before === undefined) return [identify()];
  if (wasMuted) {
    return [identify(), operations.event(member, RESUBSCRIBE_EVENT, { channels: channels(after) }, options)];
  }
  if (before.email === after.email && before.sms === after.sms) return [];
  return [identify()];
}
