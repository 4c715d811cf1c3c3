import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';

const NAME = 'CioBridgeReplyPartitionAssigner';
const VERSION = 1;

/** The partition a member says it owns now (its group metadata); undefined: none or unreadable. */
export function claimOf(metadata: Buffer): number | undefined {
  try {
    const { userData } = AssignerProtocol.MemberMetadata.decode(metadata) ?? {};
    const claim = userData ? (JSON.parse(userData.toString('utf8')) as { claim?: unknown }).claim : undefined;
    return typeof claim === 'number' && Number.isInteger(claim) && claim >= 0 ? claim : undefined;
  } catch {
    return undefined;
  }
}

/**
 * At most one partition per member, sticky: a member keeps the partition it owns (the
 * first in member order wins a contested one), the others get the lowest free ones,
 * and members past the partition count get none (they cannot wait).
 */
export function assignReplyPartitions(
  members: { memberId: string; memberMetadata: Buffer }[],
  partitions: number,
): Map<string, number> {
  const sorted = [...members].sort((a, b) => a.memberId.localeCompare(b.memberId));
  const assigned = new Map<string, number>();
  const taken = new Set<number>();
  for (const { memberId, memberMetadata } of sorted) {
    const claim = claimOf(memberMetadata);
    if (claim === undefined || claim >= partitions || taken.has(claim)) continue;
    assigned.set(memberId, claim);
    taken.add(claim);
  }
  let free = 0;
  for (const { memberId } of sorted) {
    if (assigned.has(memberId)) continue;
    while (taken.has(free)) free++;
    if (free >= partitions) break;
    assigned.set(memberId, free);
    taken.add(free);
  }
  return assigned;
}

/**
 * The replies group's assigner: each producer instance (or SDK publisher) reads one
 * partition of the replies topic, its reply address, and keeps it across rebalances.
 * `currentClaim` is the partition this member owns now, sent along when it rejoins.
 */
export function replyPartitionAssigner(currentClaim: () => number | undefined): PartitionAssigner {
  return ({ cluster }) => ({
    name: NAME,
    version: VERSION,
    async assign({ members, topics }) {
      const [topic] = topics;
      if (topic === undefined) return [];
      const partitions = cluster.findTopicPartitionMetadata(topic).length;
      const assigned = assignReplyPartitions(members, partitions);
      return members.map(({ memberId }) => {
        const partition = assigned.get(memberId);
        return {
          memberId,
          memberAssignment: AssignerProtocol.MemberAssignment.encode({
            version: VERSION,
            assignment: partition === undefined ? {} : { [topic]: [partition] },
            userData: Buffer.alloc(0),
          }),
        };
      });
    },
    protocol({ topics }) {
      return {
        name: NAME,
        metadata: AssignerProtocol.MemberMetadata.encode({
          version: VERSION,
          topics,
          userData: Buffer.from(JSON.stringify({ claim: currentClaim() ?? null })),
        }),
      };
    },
  });
}
