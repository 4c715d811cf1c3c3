import type { TopicKey } from './topics';

/** The group in which producers and SDK publishers share the replies topic, a partition each. */
const REPLY_GROUP = 'customerio.replies.waiters';

/** What one deployable does with the catalog's topics, by role. */
export interface TopicAccess {
  reads: readonly TopicKey[];
  writes: readonly TopicKey[];
  /** the consumer group it joins by default (`KAFKA_GROUP_ID`); absent: it joins none */
  consumerGroup?: string;
}

/**
 * Which service reads or writes which topic role, declared once: each service ensures
 * exactly these topics at start-up, and the ACL table of docs/production.md is
 * generated from it, so a guide-provisioned cluster grants what the services use.
 */
export const TOPIC_ACCESS = {
  // the producer and the SDK read their own partition of the replies topic to answer
  // waiting callers (`Prefer: wait`, `sendAndWait`), in the group of the reply inbox
  producer: {
    reads: ['replies'],
    writes: ['track', 'transactional'],
    consumerGroup: REPLY_GROUP,
  },
  'webhook-handler': { reads: [], writes: ['predictions', 'reporting', 'track', 'quarantine'] },
  'cio-worker': {
    reads: ['track', 'transactional'],
    writes: ['dlq', 'replies'],
    consumerGroup: 'cio-worker',
  },
  'insights-processor': {
    reads: ['predictions', 'reporting'],
    writes: ['predictionsDlq'],
    consumerGroup: 'insights-processor',
  },
  /** an upstream app publishing with @cio-bridge/sdk (its own principal) */
  sdk: { reads: ['replies'], writes: ['track', 'transactional'], consumerGroup: REPLY_GROUP },
  'cio-dlq': {
    // replay sends dead letters back to where they failed; reroute sends quarantined
    // webhooks to the handler's topics. Its state topics are named after the dead-letter
    // topic (`<dlq>.handled`, `<dlq>.audit`), outside the catalog.
    reads: ['dlq', 'quarantine', 'predictionsDlq'],
    writes: ['track', 'transactional', 'predictions', 'reporting'],
  },
} as const satisfies Record<string, TopicAccess>;

export type Deployable = keyof typeof TOPIC_ACCESS;

/** Every topic role a deployable uses (what it ensures at start-up): what it reads, then what it writes. */
export function topicRolesOf(deployable: Deployable): TopicKey[] {
  const access: TopicAccess = TOPIC_ACCESS[deployable];
  const used = new Set<TopicKey>([...access.reads, ...access.writes]);
  return [...used];
}
