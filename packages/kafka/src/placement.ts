import type { ICustomPartitioner, Message, RecordMetadata } from 'kafkajs';

/** Where Kafka put a message: its partition and offset. */
export interface Placement {
  partition: number;
  offset: number;
}

/**
 * Learns which partition the producer's partitioner chose for each message (kafkajs
 * passes the message objects it was given to the partitioner), so a publisher can tell
 * each caller the partition and offset of its messages once the broker acknowledged
 * them: the offset is the partition's base offset in the answer plus the message's
 * position among that partition's messages of the produce request.
 */
export class MessagePlacement {
  private readonly partitions = new WeakMap<Message, number>();

  /** The producer's `createPartitioner`: `partitioner` unchanged, recording its choices. */
  partitioner(create: ICustomPartitioner): ICustomPartitioner {
    return () => {
      const choose = create();
      return (args) => {
        const partition = choose(args);
        this.partitions.set(args.message, partition);
        return partition;
      };
    };
  }

  /** The placement of each message of one produce request's topic, in order. */
  place(topic: string, messages: Message[], answer: RecordMetadata[]): (Placement | undefined)[] {
    const seen = new Map<number, number>();
    return messages.map((message) => {
      const partition = this.partitions.get(message);
      const base = answer.find((record) => record.topicName === topic && record.partition === partition);
      if (partition === undefined || base?.baseOffset === undefined) return undefined;
      const position = seen.get(partition) ?? 0;
      seen.set(partition, position + 1);
      return { partition, offset: Number(base.baseOffset) + position };
    });
  }
}
