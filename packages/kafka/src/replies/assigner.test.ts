import { AssignerProtocol } from 'kafkajs';
import { assignReplyPartitions, claimOf } from './assigner';

const member = (memberId: string, claim?: number) => ({
  memberId,
  memberMetadata: AssignerProtocol.MemberMetadata.encode({
    version: 1,
    topics: ['replies'],
    userData: Buffer.from(JSON.stringify({ claim: claim ?? null })),
  }),
});

describe('reply partition assignment', () => {
  it('gives every member one partition of its own', () => {
    const assigned = assignReplyPartitions([member('b'), member('a'), member('c')], 4);
    expect([...assigned.values()].sort()).toEqual([0, 1, 2]);
    expect(new Set(assigned.values()).size).toBe(3);
  });

  it('keeps the partitions members already own, so their waits survive a rebalance', () => {
    const assigned = assignReplyPartitions([member('a', 3), member('b'), member('c', 0)], 4);
    expect(assigned.get('a')).toBe(3);
    expect(assigned.get('c')).toBe(0);
    expect(assigned.get('b')).toBe(1);
  });

  it('settles a contested claim for one member, and gives none past the partition count', () => {
    const assigned = assignReplyPartitions([member('a', 1), member('b', 1), member('c'), member('d')], 3);
    expect(assigned.get('a')).toBe(1);
    expect(new Set(assigned.values()).size).toBe(3);
    expect(assigned.size).toBe(3);
  });

  it('ignores a claim beyond the partitions (the topic was recreated smaller)', () => {
    const assigned = assignReplyPartitions([member('a', 9)], 2);
    expect(assigned.get('a')).toBe(0);
  });

  it('reads a claim back from member metadata', () => {
    expect(claimOf(member('a', 5).memberMetadata)).toBe(5);
    expect(claimOf(member('a').memberMetadata)).toBeUndefined();
    expect(claimOf(Buffer.from('garbage'))).toBeUndefined();
  });
});
