export { PublishTimeoutError } from '@cio-bridge/kafka';
export { dataModelOperations, type ObjectRef, type Visitor } from './data-model';
export { InvalidOperationError, type ItemError, PublishError } from './errors';
export {
  CioPublisher,
  type CioPublisherOptions,
  type ConnectOptions,
  type MessagePublisher,
  type ReplyWaiting,
  type Sent,
  type WaitOptions,
  type WaitResult,
} from './publisher';
export {
  type AchievementUnlockedData,
  identifiersOf,
  type OperationOptions,
  operations,
  type Person,
  type ProductIdentity,
  type ProductScannedData,
  type ReferralData,
  type RewardRedeemedData,
  type SeedEventData,
  type SessionData,
  type UserIdentity,
  type UserSnapshot,
  type WishlistData,
} from './seed-events';
export {
  isMuted,
  type PromotionSubscriptions,
  RESUBSCRIBE_EVENT,
  type SubscriptionChange,
  subscriptionOperations,
} from './subscriptions';
