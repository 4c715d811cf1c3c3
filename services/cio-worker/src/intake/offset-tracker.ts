/**
 * The offsets of one partition that the worker took and has not finished yet.
 *
 * Messages are added in offset order as they are fetched and finish in any order
 * (other people go on while one is retried). The offset that may be committed is
 * the lowest one not yet finished, or, when everything is finished, the one after
 * the last added: committing it never skips a message that is still pending, so a
 * crash or a rebalance loses nothing.
 */
export class OffsetTracker {
  /** offsets in the order added; `done[i]` tells whether `offsets[i]` finished */
  private offsets: bigint[] = [];
  private done: boolean[] = [];
  /** index of the first entry not yet dropped from the front */
  private head = 0;
  private lastAdded: bigint | undefined;
  private lastCommitted: bigint | undefined;
  private pendingCount = 0;
  /** set when the partition was taken away by a rebalance: nothing of it is committed any more */
  revoked = false;
  /** the partition's high watermark at the last fetch (for the lag metric) */
  highWatermark: string | undefined;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  /** Registers a fetched message; offsets must increase. */
  add(offset: string): void {
    const value = BigInt(offset);
    if (this.lastAdded !== undefined && value <= this.lastAdded) {
      throw new Error(
        `offset ${offset} of ${this.topic}/${this.partition} added after ${this.lastAdded}: offsets must increase`,
      );
    }
    this.offsets.push(value);
    this.done.push(false);
    this.lastAdded = value;
    this.pendingCount++;
  }

  /** Marks a message delivered or dead-lettered. Finishing it twice changes nothing. */
  finish(offset: string): void {
    const value = BigInt(offset);
    const index = this.indexOf(value);
    if (index < 0 || this.done[index]) return;
    this.done[index] = true;
    this.pendingCount--;
    this.compact();
  }

  /** Entries held: from the lowest unfinished message to the last added (what a stuck message makes grow). */
  get size(): number {
    return this.offsets.length - this.head;
  }

  /** Messages added and not finished. */
  get pending(): number {
    return this.pendingCount;
  }

  /** The offset to commit: the lowest not finished, or the last added plus one; undefined before any message. */
  committable(): string | undefined {
    if (this.head < this.offsets.length) return String(this.offsets[this.head]);
    return this.lastAdded === undefined ? undefined : String(this.lastAdded + 1n);
  }

  /** The committable offset when it moved since the last `markCommitted`, else undefined. */
  toCommit(): string | undefined {
    const offset = this.committable();
    if (offset === undefined || this.revoked) return undefined;
    return this.lastCommitted !== undefined && BigInt(offset) <= this.lastCommitted ? undefined : offset;
  }

  markCommitted(offset: string): void {
    const value = BigInt(offset);
    if (this.lastCommitted === undefined || value > this.lastCommitted) this.lastCommitted = value;
  }

  /** Drops the finished prefix so memory stays proportional to what is pending. */
  private compact(): void {
    while (this.head < this.offsets.length && this.done[this.head]) this.head++;
    if (this.head > 1024 && this.head * 2 > this.offsets.length) {
      this.offsets = this.offsets.slice(this.head);
      this.done = this.done.slice(this.head);
      this.head = 0;
    }
  }

  /** Binary search: offsets are sorted. */
  private indexOf(value: bigint): number {
    let low = this.head;
    let high = this.offsets.length - 1;
    while (low <= high) {
      const mid = (low + high) >> 1;
      const at = this.offsets[mid]!;
      if (at === value) return mid;
      if (at < value) low = mid + 1;
      else high = mid - 1;
    }
    return -1;
  }
}
