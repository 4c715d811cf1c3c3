import type { OutgoingMessage } from '@cio-bridge/kafka';
import {
  defaultTopicNames,
  Publisher,
  ReplyInbox,
  type TopicNames,
  type WaitAnswer,
  type WaitTicket,
} from '@cio-bridge/kafka';
import type { ObjectRelationship, PersonRelationship, SeedEventName } from '@cio-bridge/schemas';
import {
  identifierOf,
  operationIds,
  personKey,
  type TrackOperation,
  type TransactionalSend,
  validateTrackOperation,
  validateTransactionalSend,
} from '@cio-bridge/schemas';
import { activeTraceHeaders } from '@cio-bridge/tracing';
import { type Kafka, Partitioners, type Producer } from 'kafkajs';
import { dataModelOperations, type ObjectRef, type Visitor } from './data-model';
import { InvalidOperationError, type ItemError, PublishError } from './errors';
import {
  type AchievementUnlockedData,
  type OperationOptions,
  operations,
  type Person,
  type ProductScannedData,
  type ReferralData,
  type RewardRedeemedData,
  type SeedEventData,
  type SessionData,
  type WishlistData,
} from './seed-events';
import { type SubscriptionChange, subscriptionOperations } from './subscriptions';

/** What the SDK needs from a publisher: `publish` resolving once Kafka acknowledged (acks=all). */
export interface MessagePublisher {
  publish(topic: string, messages: OutgoingMessage[]): Promise<void>;
}

export interface CioPublisherOptions {
  publisher: MessagePublisher;
  /** topic names (default: the design's `customerio.track` and `customerio.transactional`) */
  topics?: Partial<Pick<TopicNames, 'track' | 'transactional'>>;
  /** makes operation ids (default: monotonic ULIDs) */
  newId?: () => string;
  /** names the sender in the `x-producer` header (default `sdk`) */
  source?: string;
  /** most messages per publish call; bigger batches are split (default 500) */
  maxMessagesPerPublish?: number;
  /** stops the producer on close() when the publisher owns it */
  onClose?: () => Promise<void>;
  /** where `sendAndWait` waits for the worker's replies (absent: every wait is answered all pending) */
  replies?: ReplyWaiting;
}

/** Where the SDK waits for replies (`ReplyInbox` from @cio-bridge/kafka); started on the first wait. */
export interface ReplyWaiting {
  start(): Promise<void>;
  begin(ids: readonly string[]): WaitTicket | undefined;
  stop(): Promise<void>;
}

export interface WaitOptions {
  /** how long to wait for the outcomes, in milliseconds (the publish included) */
  timeoutMs: number;
}

/**
 * The outcomes of a wait, in the order sent: `delivered` or `dead_lettered` (with
 * Customer.io's status, the error class of a dead letter and the delivery_id of a
 * transactional send), or `pending` for what was not known in time (still delivered later).
 */
export type WaitResult = WaitAnswer;

/** A transactional send is keyed by its recipient: the identifier, or the address. */
const transactionalKey = (send: TransactionalSend): string =>
  identifierOf(send.identifiers)?.value ?? send.to;

/** An accepted message: its id and the Kafka key (the person). */
export interface Sent {
  id: string;
  key: string;
}

export interface ConnectOptions
  extends Omit<CioPublisherOptions, 'publisher' | 'onClose' | 'replies' | 'topics'> {
  /** topic names (default: the design's, `customerio.replies` for the replies of `sendAndWait`) */
  topics?: Partial<Pick<TopicNames, 'track' | 'transactional' | 'replies'>>;
  /** how long to wait for Kafka's acknowledgement before failing with PublishTimeoutError */
  timeoutMs?: number;
  /** most operations waited for at once with `sendAndWait` (default 10,000); past it a wait is all pending */
  maxWaiting?: number;
}

interface Prepared<T> {
  value: T & { id: string };
  message: OutgoingMessage;
}

/**
 * Publishes Track operations and transactional sends onto Kafka for Node apps:
 * validates each before sending (InvalidOperationError names the field), gives it
 * a ULID `id` unless it has one, keys it by the person, and resolves once Kafka
 * acknowledged every message. Batches keep their order per person.
 */
export class CioPublisher {
  private readonly topics: Pick<TopicNames, 'track' | 'transactional'>;
  private readonly newId: () => string;
  private readonly source: string;
  private readonly maxPerPublish: number;

  constructor(private readonly options: CioPublisherOptions) {
    this.topics = {
      track: options.topics?.track ?? defaultTopicNames.track,
      transactional: options.topics?.transactional ?? defaultTopicNames.transactional,
    };
    this.newId = options.newId ?? operationIds();
    this.source = options.source ?? 'sdk';
    this.maxPerPublish = options.maxMessagesPerPublish ?? 500;
  }

  /** A publisher with an idempotent producer of its own (acks=all); `close()` disconnects it. */
  static async connect(kafka: Kafka, options: ConnectOptions = {}): Promise<CioPublisher> {
    const producer: Producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      // murmur2 like the Java client and the producer service: a person's key maps to one partition
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    const publisher = new Publisher({ producer, timeoutMs: options.timeoutMs });
    // Joins the replies group only when the app first waits.
    const replies = new ReplyInbox({
      kafka,
      topic: options.topics?.replies ?? defaultTopicNames.replies,
      maxWaiting: options.maxWaiting ?? 10_000,
    });
    return new CioPublisher({ ...options, publisher, replies, onClose: () => producer.disconnect() });
  }

  async close(): Promise<void> {
    if (this.repliesStarted) await this.options.replies?.stop();
    await this.options.onClose?.();
  }

  /**
   * Like `sendBatch`, then waits up to `timeoutMs` for every operation's outcome at
   * Customer.io. Resolves with the outcomes in order; what is not known in time is
   * `pending` (not an error: it is still delivered). Throws only as `sendBatch` does.
   */
  async sendAndWait(ops: TrackOperation[], { timeoutMs }: WaitOptions): Promise<WaitResult> {
    const prepared = this.prepare(ops, 'Track operation', validateTrackOperation, personKey);
    return this.publishAndWait(this.topics.track, prepared, timeoutMs);
  }

  /** Like `sendTransactional`, then waits for the outcome (with the App API's `delivery_id`). */
  async sendTransactionalAndWait(send: TransactionalSend, { timeoutMs }: WaitOptions): Promise<WaitResult> {
    const prepared = this.prepare([send], 'transactional send', validateTransactionalSend, transactionalKey);
    return this.publishAndWait(this.topics.transactional, prepared, timeoutMs);
  }

  /** Validates, assigns an id when absent and publishes one operation. */
  async send(op: TrackOperation): Promise<Sent> {
    const [sent] = await this.sendBatch([op]);
    return sent as Sent;
  }

  /**
   * Validates every operation first (nothing is sent if one is invalid), then
   * publishes them in order. Resolves with their ids once Kafka acknowledged all.
   */
  async sendBatch(ops: TrackOperation[]): Promise<Sent[]> {
    const prepared = this.prepare(ops, 'Track operation', validateTrackOperation, personKey);
    await this.publish(this.topics.track, prepared);
    return prepared.map((p) => ({ id: p.value.id, key: p.message.key }));
  }

  /** A transactional email (App API /send/email) onto the transactional topic, keyed by the recipient. */
  async sendTransactional(send: TransactionalSend): Promise<Sent> {
    const prepared = this.prepare([send], 'transactional send', validateTransactionalSend, transactionalKey);
    await this.publish(this.topics.transactional, prepared);
    const [first] = prepared;
    return { id: first!.value.id, key: first!.message.key };
  }

  identify(person: Person, attributes?: Record<string, unknown>, options?: OperationOptions): Promise<Sent> {
    return this.send(operations.identify(person, attributes, options));
  }
  /** Any named event (seed names are checked against their own schema). */
  track(
    person: Person,
    name: string,
    data?: Record<string, unknown>,
    options?: OperationOptions,
  ): Promise<Sent> {
    return this.send(operations.event(person, name, data, options));
  }
  trackSeedEvent<N extends SeedEventName>(
    person: Person,
    name: N,
    data: SeedEventData[N],
    options?: OperationOptions,
  ): Promise<Sent> {
    return this.send(operations.seedEvent(person, name, data, options));
  }
  productScanned(person: Person, data: ProductScannedData, options?: OperationOptions): Promise<Sent> {
    return this.send(operations.productScanned(person, data, options));
  }
  referralInitiated(person: Person, data: ReferralData, options?: OperationOptions): Promise<Sent> {
    return this.send(operations.referralInitiated(person, data, options));
  }
  referralConverted(person: Person, data: ReferralData, options?: OperationOptions): Promise<Sent> {
    return this.send(operations.referralConverted(person, data, options));
  }
  wishlistAdded(person: Person, data: WishlistData, options?: OperationOptions): Promise<Sent> {
    return this.send(operations.wishlistAdded(person, data, options));
  }
  wishlistRemoved(person: Person, data: WishlistData, options?: OperationOptions): Promise<Sent> {
    return this.send(operations.wishlistRemoved(person, data, options));
  }
  achievementUnlocked(
    person: Person,
    data: AchievementUnlockedData,
    options?: OperationOptions,
  ): Promise<Sent> {
    return this.send(operations.achievementUnlocked(person, data, options));
  }
  rewardRedeemed(person: Person, data: RewardRedeemedData, options?: OperationOptions): Promise<Sent> {
    return this.send(operations.rewardRedeemed(person, data, options));
  }
  userSessionStarted(person: Person, data: SessionData, options?: OperationOptions): Promise<Sent> {
    return this.send(operations.userSessionStarted(person, data, options));
  }
  userSessionEnded(person: Person, data: SessionData, options?: OperationOptions): Promise<Sent> {
    return this.send(operations.userSessionEnded(person, data, options));
  }
  deletePerson(person: Person, options?: OperationOptions): Promise<Sent> {
    return this.send(operations.delete(person, options));
  }
  suppress(person: Person, options?: OperationOptions): Promise<Sent> {
    return this.send(operations.suppress(person, options));
  }
  unsuppress(person: Person, options?: OperationOptions): Promise<Sent> {
    return this.send(operations.unsuppress(person, options));
  }
  addDevice(
    person: Person,
    device: Parameters<typeof operations.addDevice>[1],
    options?: OperationOptions,
  ): Promise<Sent> {
    return this.send(operations.addDevice(person, device, options));
  }
  deleteDevice(person: Person, token: string, options?: OperationOptions): Promise<Sent> {
    return this.send(operations.deleteDevice(person, token, options));
  }
  merge(primary: Person, secondary: Person, options?: OperationOptions): Promise<Sent> {
    return this.send(operations.merge(primary, secondary, options));
  }

  /**
   * Publishes what a change of a member's promotional subscriptions means for
   * Customer.io (seed 004): delete on mute, identify + `promotions_resubscribe`
   * on resubscribe, identify for a new or changed subscriber. Resolves with the
   * operations sent (none when nothing changes for Customer.io).
   */
  /** Creates or updates an object, optionally relating people to it. */
  identifyObject(
    object: ObjectRef,
    attributes?: Record<string, unknown>,
    people?: ObjectRelationship[],
    options?: OperationOptions,
  ): Promise<Sent> {
    return this.send(dataModelOperations.identifyObject(object, attributes, people, options));
  }

  deleteObject(object: ObjectRef, options?: OperationOptions): Promise<Sent> {
    return this.send(dataModelOperations.deleteObject(object, options));
  }

  relateObject(object: ObjectRef, people: ObjectRelationship[], options?: OperationOptions): Promise<Sent> {
    return this.send(dataModelOperations.relateObject(object, people, options));
  }

  unrelateObject(object: ObjectRef, people: ObjectRelationship[], options?: OperationOptions): Promise<Sent> {
    return this.send(dataModelOperations.unrelateObject(object, people, options));
  }

  addRelationships(person: Person, objects: PersonRelationship[], options?: OperationOptions): Promise<Sent> {
    return this.send(dataModelOperations.addRelationships(person, objects, options));
  }

  deleteRelationships(
    person: Person,
    objects: PersonRelationship[],
    options?: OperationOptions,
  ): Promise<Sent> {
    return this.send(dataModelOperations.deleteRelationships(person, objects, options));
  }

  trackAnonymous(
    anonymousId: string,
    name: string,
    data?: Record<string, unknown>,
    options?: OperationOptions,
  ): Promise<Sent> {
    return this.send(dataModelOperations.anonymousEvent(anonymousId, name, data, options));
  }

  identifyMerging(
    person: Person,
    anonymousId: string,
    attributes?: Record<string, unknown>,
    options?: OperationOptions,
  ): Promise<Sent> {
    return this.send(dataModelOperations.identifyMerging(person, anonymousId, attributes, options));
  }

  page(
    who: Visitor,
    name: string,
    data?: Record<string, unknown>,
    options?: OperationOptions,
  ): Promise<Sent> {
    return this.send(dataModelOperations.page(who, name, data, options));
  }

  screen(
    who: Visitor,
    name: string,
    data?: Record<string, unknown>,
    options?: OperationOptions,
  ): Promise<Sent> {
    return this.send(dataModelOperations.screen(who, name, data, options));
  }

  async updateSubscriptions(change: SubscriptionChange): Promise<Sent[]> {
    const ops = subscriptionOperations(change);
    return ops.length === 0 ? [] : this.sendBatch(ops);
  }

  private prepare<T extends { id?: string }>(
    items: T[],
    what: 'Track operation' | 'transactional send',
    validate: (
      value: unknown,
    ) => { ok: true; value: T } | { ok: false; errors: { pointer: string; message: string }[] },
    keyOf: (item: T) => string,
  ): Prepared<T>[] {
    const errors: ItemError[] = [];
    items.forEach((item, index) => {
      const result = validate(item);
      if (!result.ok) errors.push(...result.errors.map((e) => ({ index, ...e })));
    });
    if (errors.length > 0) throw new InvalidOperationError(what, errors);
    return items.map((item) => {
      const value = (item.id === undefined ? { ...item, id: this.newId() } : item) as T & { id: string };
      return {
        value,
        message: {
          key: keyOf(value),
          value: JSON.stringify(value),
          // the app's active trace (its own OpenTelemetry setup), when there is one
          headers: { 'x-operation-id': value.id, 'x-producer': this.source, ...activeTraceHeaders() },
        },
      };
    });
  }

  private repliesStarted: Promise<void> | undefined;

  private async publishAndWait<T>(
    topic: string,
    prepared: Prepared<T & { id?: string }>[],
    timeoutMs: number,
  ): Promise<WaitResult> {
    const deadline = Date.now() + timeoutMs;
    const ids = prepared.map((p) => p.value.id);
    const { replies } = this.options;
    if (replies) {
      this.repliesStarted ??= replies.start();
      await this.repliesStarted;
    }
    // Registered before publishing: a reply can come back before the acknowledgement.
    const ticket = replies?.begin(ids);
    if (ticket) for (const p of prepared) p.message.headers = { ...p.message.headers, ...ticket.headers };
    try {
      await this.publish(topic, prepared);
    } catch (error) {
      ticket?.wait.cancel();
      throw error;
    }
    if (!ticket) return { complete: false, results: ids.map((id) => ({ id, outcome: 'pending' })) };
    return ticket.wait.done(Math.max(0, deadline - Date.now()));
  }

  private async publish<T>(topic: string, prepared: Prepared<T>[]): Promise<void> {
    const chunks: OutgoingMessage[][] = [];
    for (let i = 0; i < prepared.length; i += this.maxPerPublish) {
      chunks.push(prepared.slice(i, i + this.maxPerPublish).map((p) => p.message));
    }
    try {
      // Queued in order on one publisher, so one person's operations keep their order.
      await Promise.all(chunks.map((chunk) => this.options.publisher.publish(topic, chunk)));
    } catch (error) {
      throw new PublishError(
        `Kafka did not acknowledge ${prepared.length} message(s) on ${topic}: ${(error as Error).message}`,
        prepared.map((p) => p.value),
        { cause: error },
      );
    }
  }
}
