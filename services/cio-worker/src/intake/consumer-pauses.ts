import type { Logger } from '@cio-bridge/logger';
import type { Consumer } from 'kafkajs';
import type { FaultKind } from '../health/faults';

/** Why one partition stops being consumed: a person over their bound, or too much uncommitted behind one message. */
export type PartitionPauseReason = 'hot_person' | 'uncommitted';

/** Why a whole topic stops being consumed: a configuration fault of its API. */
export type TopicPauseReason = FaultKind;

/**
 * The one owner of what the consumer fetches. A topic is paused while any configuration
 * fault holds; a partition is paused while a person it carries holds more than their
 * bound. kafkajs keeps a topic pause and partition pauses in one state, and a topic
 * resume clears the partition pauses, so every change re-applies the whole picture.
 */
export class ConsumerPauses {
  private readonly topics = new Map<string, Set<TopicPauseReason>>();
  /** topic -> partition -> why it is paused */
  private readonly partitions = new Map<string, Map<number, PartitionPauseReason>>();
  private consumer: Consumer | undefined;

  constructor(private readonly logger: Logger) {}

  attach(consumer: Consumer): void {
    this.consumer = consumer;
  }

  topicPaused(topic: string): boolean {
    return (this.topics.get(topic)?.size ?? 0) > 0;
  }

  reasons(topic: string): TopicPauseReason[] {
    return [...(this.topics.get(topic) ?? [])];
  }

  partitionPaused(topic: string, partition: number): boolean {
    return this.partitions.get(topic)?.has(partition) ?? false;
  }

  /** Partitions paused for `reason` (never the person: it may be an email). */
  pausedPartitions(reason: PartitionPauseReason): { topic: string; partition: number }[] {
    return [...this.partitions].flatMap(([topic, byPartition]) =>
      [...byPartition].filter(([, why]) => why === reason).map(([partition]) => ({ topic, partition })),
    );
  }

  hotPartitions(): { topic: string; partition: number }[] {
    return this.pausedPartitions('hot_person');
  }

  pauseTopic(topic: string, reason: TopicPauseReason): void {
    const reasons = this.topics.get(topic) ?? new Set();
    if (reasons.has(reason)) return;
    reasons.add(reason);
    this.topics.set(topic, reasons);
    this.apply(topic);
  }

  resumeTopic(topic: string, reason: TopicPauseReason): void {
    if (!this.topics.get(topic)?.delete(reason)) return;
    this.apply(topic);
  }

  pausePartition(topic: string, partition: number, reason: PartitionPauseReason): void {
    const byPartition = this.partitions.get(topic) ?? new Map<number, PartitionPauseReason>();
    byPartition.set(partition, reason);
    this.partitions.set(topic, byPartition);
    this.apply(topic);
  }

  resumePartition(topic: string, partition: number, reason: PartitionPauseReason): void {
    if (this.partitions.get(topic)?.get(partition) !== reason) return;
    this.partitions.get(topic)?.delete(partition);
    this.apply(topic);
  }

  /** A new generation: partition pauses belonged to the old assignment; topic pauses stay. */
  rejoined(): void {
    const topics = [...this.partitions.keys()];
    this.partitions.clear();
    for (const topic of new Set([...topics, ...this.topics.keys()])) this.apply(topic);
  }

  private apply(topic: string): void {
    const consumer = this.consumer;
    if (!consumer) return;
    try {
      if (this.topicPaused(topic)) {
        consumer.pause([{ topic }]);
        return;
      }
      consumer.resume([{ topic }]);
      const partitions = [...(this.partitions.get(topic)?.keys() ?? [])];
      if (partitions.length > 0) consumer.pause([{ topic, partitions }]);
    } catch (error) {
      // Not running yet: the pauses are applied again at the next change or group join.
      this.logger.warn({ err: error, topic }, 'could not change what is consumed');
    }
  }
}
