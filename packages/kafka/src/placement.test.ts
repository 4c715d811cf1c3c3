import type { Message, PartitionMetadata, RecordMetadata } from 'kafkajs';
import { MessagePlacement } from './placement';

const partitionMetadata = [] as PartitionMetadata[];
const answer = (partition: number, baseOffset: string): RecordMetadata => ({
  topicName: 't',
  partition,
  errorCode: 0,
  baseOffset,
});

describe('MessagePlacement', () => {
  it("gives each message its partition's base offset plus its position in that partition", () => {
    const placement = new MessagePlacement();
    // a partitioner that puts keys starting with "a" on partition 0, others on 1
    const choose = placement.partitioner(
      () =>
        ({ message }) =>
          String(message.key).startsWith('a') ? 0 : 1,
    )();
    const messages: Message[] = ['a1', 'b1', 'a2', 'b2', 'a3'].map((key) => ({ key, value: key }));
    for (const message of messages) choose({ topic: 't', partitionMetadata, message });
    expect(placement.place('t', messages, [answer(0, '40'), answer(1, '7')])).toEqual([
      { partition: 0, offset: 40 },
      { partition: 1, offset: 7 },
      { partition: 0, offset: 41 },
      { partition: 1, offset: 8 },
      { partition: 0, offset: 42 },
    ]);
  });

  it('knows nothing of a message the partitioner never saw, or of a partition missing from the answer', () => {
    const placement = new MessagePlacement();
    const choose = placement.partitioner(() => () => 3)();
    const seen: Message = { key: 'k', value: 'v' };
    choose({ topic: 't', partitionMetadata, message: seen });
    expect(placement.place('t', [{ key: 'x', value: 'y' }, seen], [answer(0, '1')])).toEqual([
      undefined,
      undefined,
    ]);
  });
});
