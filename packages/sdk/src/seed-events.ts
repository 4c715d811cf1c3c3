import type { PersonIdentifiers, SeedEventName, Timestamp, TrackOperation } from '@cio-bridge/schemas';

/** The data of each CannaRewards event (seed section 2.1); extra fields are allowed by the schemas. */
export interface UserIdentity {
  user_id: number;
  email: string;
}
export interface UserSnapshot {
  identity: UserIdentity;
  [field: string]: unknown;
}
export interface ProductIdentity {
  product_id: number;
  sku: string;
  product_name: string;
}

export interface ProductScannedData {
  product_snapshot: {
    identity: ProductIdentity;
    economy: { points_award: number; msrp: number };
    taxonomy: { product_form: string; strain_type: string | null };
  };
  user_snapshot: UserSnapshot & {
    economy: { points_balance: number; lifetime_points: number };
    status: { rank_key: string; rank_name: string };
    profile_data: { custom_strain_preference: string | null; [field: string]: unknown };
  };
  [field: string]: unknown;
}

export interface ReferralData {
  referral_data: {
    referring_user_id: number;
    referral_code: string;
    referral_email: string;
    [field: string]: unknown;
  };
  [field: string]: unknown;
}

export interface WishlistData {
  product_snapshot: { identity: ProductIdentity; [field: string]: unknown };
  user_snapshot: UserSnapshot;
  [field: string]: unknown;
}

export interface AchievementUnlockedData {
  achievement_key: string;
  points_reward: number;
  achievement_rarity: string;
  user_snapshot: UserSnapshot;
  [field: string]: unknown;
}

export interface RewardRedeemedData {
  reward_snapshot: {
    identity: { reward_id: number; reward_name: string };
    economy: { points_cost: number };
    [field: string]: unknown;
  };
  points_spent: number;
  user_snapshot: UserSnapshot;
  [field: string]: unknown;
}

export interface SessionData {
  session_details: {
    device_type: string;
    browser: string | null;
    location: { city: string | null; region: string | null; country: string | null };
    [field: string]: unknown;
  };
  user_snapshot: UserSnapshot;
  [field: string]: unknown;
}

/** Data type by seed event name. */
export interface SeedEventData {
  product_scanned: ProductScannedData;
  referral_initiated: ReferralData;
  referral_converted: ReferralData;
  wishlist_added: WishlistData;
  wishlist_removed: WishlistData;
  achievement_unlocked: AchievementUnlockedData;
  reward_redeemed: RewardRedeemedData;
  user_session_started: SessionData;
  user_session_ended: SessionData;
}

/** Who an operation is for: a person id (string) or an identifiers object (one of id, email, cio_id). */
export type Person = string | PersonIdentifiers;

export interface OperationOptions {
  /** the operation's ULID; pass your own to make your retries idempotent */
  id?: string;
  /** when it happened (RFC 3339 string or Unix seconds); events default to now */
  timestamp?: Timestamp;
}

export const identifiersOf = (person: Person): PersonIdentifiers =>
  typeof person === 'string' ? { id: person } : person;

const withOptions = (op: TrackOperation, options: OperationOptions = {}): TrackOperation => {
  if (options.id !== undefined) op.id = options.id;
  if (options.timestamp !== undefined) op.timestamp = options.timestamp;
  return op;
};

const nowIso = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

const eventOperation = (
  person: Person,
  name: string,
  data: Record<string, unknown> = {},
  options?: OperationOptions,
): TrackOperation =>
  withOptions({ name, identifiers: identifiersOf(person), data, timestamp: nowIso() }, options);

const seedEvent = <N extends SeedEventName>(
  person: Person,
  name: N,
  data: SeedEventData[N],
  options?: OperationOptions,
): TrackOperation => eventOperation(person, name, data as unknown as Record<string, unknown>, options);

/**
 * Builders of Track operations (not yet validated or sent), for `sendBatch` or
 * for apps that hand the operations to another transport.
 */
export const operations = {
  identify: (person: Person, attributes: Record<string, unknown> = {}, options?: OperationOptions) =>
    withOptions({ action: 'identify', identifiers: identifiersOf(person), attributes }, options),

  /** Any event; seed event names are checked against their own schema when sent. */
  event: eventOperation,

  seedEvent,

  productScanned: (person: Person, data: ProductScannedData, options?: OperationOptions) =>
    seedEvent(person, 'product_scanned', data, options),
  referralInitiated: (person: Person, data: ReferralData, options?: OperationOptions) =>
    seedEvent(person, 'referral_initiated', data, options),
  referralConverted: (person: Person, data: ReferralData, options?: OperationOptions) =>
    seedEvent(person, 'referral_converted', data, options),
  wishlistAdded: (person: Person, data: WishlistData, options?: OperationOptions) =>
    seedEvent(person, 'wishlist_added', data, options),
  wishlistRemoved: (person: Person, data: WishlistData, options?: OperationOptions) =>
    seedEvent(person, 'wishlist_removed', data, options),
  achievementUnlocked: (person: Person, data: AchievementUnlockedData, options?: OperationOptions) =>
    seedEvent(person, 'achievement_unlocked', data, options),
  rewardRedeemed: (person: Person, data: RewardRedeemedData, options?: OperationOptions) =>
    seedEvent(person, 'reward_redeemed', data, options),
  userSessionStarted: (person: Person, data: SessionData, options?: OperationOptions) =>
    seedEvent(person, 'user_session_started', data, options),
  userSessionEnded: (person: Person, data: SessionData, options?: OperationOptions) =>
    seedEvent(person, 'user_session_ended', data, options),

  delete: (person: Person, options?: OperationOptions) =>
    withOptions({ action: 'delete', identifiers: identifiersOf(person) }, options),
  suppress: (person: Person, options?: OperationOptions) =>
    withOptions({ action: 'suppress', identifiers: identifiersOf(person) }, options),
  unsuppress: (person: Person, options?: OperationOptions) =>
    withOptions({ action: 'unsuppress', identifiers: identifiersOf(person) }, options),
  addDevice: (
    person: Person,
    device: {
      token: string;
      platform: 'ios' | 'android';
      last_used?: number;
      attributes?: Record<string, string>;
    },
    options?: OperationOptions,
  ) => withOptions({ action: 'add_device', identifiers: identifiersOf(person), device }, options),
  deleteDevice: (person: Person, token: string, options?: OperationOptions) =>
    withOptions({ action: 'delete_device', identifiers: identifiersOf(person), device: { token } }, options),
  /** Merges `secondary` into `primary` (which must exist) and deletes `secondary`. */
  merge: (primary: Person, secondary: Person, options?: OperationOptions) =>
    withOptions(
      { action: 'merge', primary: identifiersOf(primary), secondary: identifiersOf(secondary) },
      options,
    ),
} satisfies Record<string, (...args: never[]) => TrackOperation>;
