// Topic, contract and ACL tables, from the topic catalog and the declared topic access.
import { stateTopicSpecs, stateTopicsFor } from '@cio-bridge/cio-dlq/state';
import {
  type Deployable,
  TOPIC_ACCESS,
  TOPIC_CONTENTS,
  TOPICS,
  type TopicAccess,
  type TopicKey,
  type TopicSpec,
} from '@cio-bridge/kafka';
import { code, codeList, table } from './markdown';

const DAY_MS = 24 * 60 * 60 * 1000;
const ROLES = Object.keys(TOPICS) as TopicKey[];
const DEPLOYABLES = Object.keys(TOPIC_ACCESS) as Deployable[];
const access = (deployable: Deployable): TopicAccess => TOPIC_ACCESS[deployable];

const principal = (deployable: Deployable): string =>
  deployable === 'sdk' ? 'an app with `@cio-bridge/sdk`' : deployable;

const retention = (spec: TopicSpec): string => `${spec.retentionMs / DAY_MS} days (${spec.retentionMs})`;

const usersOf = (role: TopicKey, side: 'reads' | 'writes'): Deployable[] =>
  DEPLOYABLES.filter((deployable) => access(deployable)[side].includes(role));

/** cio-dlq's own topics, named after the catalog's dead-letter topic. */
const dlqStateSpecs = (): TopicSpec[] => stateTopicSpecs(stateTopicsFor(TOPICS.dlq.name));

/** docs/production.md: what to provision. */
export function provisioningTable(): string {
  const rows = ROLES.map((role) => {
    const spec: TopicSpec = TOPICS[role];
    const users = new Set([...usersOf(role, 'writes'), ...usersOf(role, 'reads')]);
    return [code(spec.name), String(spec.partitions), retention(spec), [...users].map(principal).join(', ')];
  });
  for (const spec of dlqStateSpecs())
    rows.push([code(spec.name), String(spec.partitions), retention(spec), 'cio-dlq (its state and audit)']);
  return table(['topic', 'partitions', 'retention (`retention.ms`)', 'used by'], rows);
}

/** docs/contracts.md: what each topic carries and who writes and reads it. */
export function contractsTable(): string {
  const rows = ROLES.map((role) => {
    const spec: TopicSpec = TOPICS[role];
    return [
      code(spec.name),
      String(spec.partitions),
      `${spec.retentionMs / DAY_MS} days`,
      TOPIC_CONTENTS[role].key,
      TOPIC_CONTENTS[role].value,
      usersOf(role, 'writes').map(principal).join(', '),
      usersOf(role, 'reads').map(principal).join(', '),
    ];
  });
  return table(['topic', 'partitions', 'retention', 'key', 'value', 'written by', 'read by'], rows);
}

/** docs/production.md: one principal per deployable. */
export function aclTable(): string {
  const names = (roles: readonly TopicKey[], extra: string[] = []) =>
    codeList([...roles.map((role) => TOPICS[role].name), ...extra]);
  const rows = DEPLOYABLES.map((deployable) => {
    const { reads, writes, consumerGroup } = access(deployable);
    const state = deployable === 'cio-dlq' ? dlqStateSpecs().map((spec) => spec.name) : [];
    return [
      principal(deployable),
      names(reads, state),
      names(writes, state),
      consumerGroup ? `${code(consumerGroup)} (\`KAFKA_GROUP_ID\`)` : 'none',
    ];
  });
  return table(['principal', 'topics: Read', 'topics: Write', 'consumer group (Read)'], rows);
}
