import { ERASING_ACTIONS } from '@cio-bridge/contracts';
import { enteredAfter, type Position, type PositionTable } from './positions';

/** What the guards remember of one identify, delete or suppress of a person. */
export interface Fact {
  kind: 'identify' | 'erase';
  /** `delete` or `suppress` for erasures */
  action: string;
  position: Position;
  /** the operation's own `timestamp`, ms; NaN when it has none */
  opTime: number;
  operationId?: string;
  /** reached Customer.io as far as cio-dlq knows: delivered from the original topic, or replayed */
  delivered: boolean;
  /** when cio-dlq replayed it, ms; NaN when it did not */
  replayedAt: number;
  /** where it is, to name it in a skip reason: a dead letter of the topic (named when needed), or a text */
  where: string | DeadLetterAt;
}

/** A dead letter of the topic the history is of. */
export interface DeadLetterAt {
  partition: number;
  offset: string;
  replayed: boolean;
}

/** Why a message must not be replayed without --force. */
export interface GuardVerdict {
  reason: 'erased-later' | 'stale-identify';
  detail: string;
}

/** What a guard needs of the message it judges. */
export interface Candidate {
  key: string | null;
  action: string;
  operationId?: string;
  opTime?: number;
  position?: Position;
  /** when it was dead-lettered, ms */
  deadLetteredAt: number;
}

const erasing: ReadonlySet<string> = new Set(ERASING_ACTIONS);

export const guardedKind = (action: string): Fact['kind'] | undefined =>
  action === 'identify' ? 'identify' : erasing.has(action) ? 'erase' : undefined;

const ERASE = 1;
const DELIVERED = 2;
const REPLAYED_DEAD_LETTER = 4;
const TEXT_WHERE = 8;

type Column = Uint8Array | Int32Array | Float64Array;
const grown = <T extends Column>(column: T, size: number): T => {
  const next = new (column.constructor as new (n: number) => T)(size);
  next.set(column);
  return next;
};

/** Per person, the indexes of their rows in the order added, as a chain. */
class Chains {
  private next = new Int32Array(1_024);
  private tail = new Int32Array(1_024);
  private readonly first = new Map<string, number>();

  /** Appends row `i` (the next row number) to the person's chain. */
  link(key: string, i: number): void {
    if (i >= this.next.length) {
      this.next = grown(this.next, this.next.length * 2);
      this.tail = grown(this.tail, this.tail.length * 2);
    }
    this.next[i] = -1;
    const head = this.first.get(key);
    if (head === undefined) {
      this.first.set(key, i);
      this.tail[i] = i;
    } else {
      this.next[this.tail[head]!] = i;
      this.tail[head] = i;
    }
  }

  /** The person's first row, or -1. */
  head(key: string): number {
    return this.first.get(key) ?? -1;
  }

  /** The row after `i` in its chain, or -1. */
  after(i: number): number {
    return this.next[i]!;
  }
}

/** Per person, original positions only: 20 bytes each (unknown positions are not kept). */
class PositionChains {
  private count = 0;
  private topic = new Int32Array(1_024);
  private partition = new Int32Array(1_024);
  private offset = new Float64Array(1_024);
  private readonly chains = new Chains();

  add(key: string, position: Position): void {
    if (position.topic < 0) return;
    const i = this.count++;
    if (i >= this.topic.length) {
      const size = this.topic.length * 2;
      this.topic = grown(this.topic, size);
      this.partition = grown(this.partition, size);
      this.offset = grown(this.offset, size);
    }
    this.topic[i] = position.topic;
    this.partition[i] = position.partition;
    this.offset[i] = position.offset;
    this.chains.link(key, i);
  }

  has(key: string, position: Position): boolean {
    for (let i = this.chains.head(key); i >= 0; i = this.chains.after(i)) {
      if (
        this.offset[i] === position.offset &&
        this.partition[i] === position.partition &&
        this.topic[i] === position.topic
      )
        return true;
    }
    return false;
  }
}

/**
 * Per person (message key), the identifies, deletes and suppresses the guards
 * compare against, in typed columns chained per person; nothing else about a
 * message is kept. (As objects, a dry run over a million dead-lettered identifies
 * took four times the memory.)
 */
export class PersonHistory {
  private count = 0;
  private flags = new Uint8Array(1_024);
  private actionIndex = new Uint8Array(1_024);
  private topic = new Int32Array(1_024);
  private partition = new Int32Array(1_024);
  private offset = new Float64Array(1_024);
  private recordTime = new Float64Array(1_024);
  private opTime = new Float64Array(1_024);
  private replayedAt = new Float64Array(1_024);
  private wherePartition = new Int32Array(1_024);
  private whereOffset = new Float64Array(1_024);
  private readonly chains = new Chains();
  private readonly operationIds: (string | undefined)[] = [];
  private readonly texts = new Map<number, string>();
  private readonly actions: string[] = [];
  /** every fact's original position, so a copy of it in the original topic is not counted again */
  private readonly seen = new PositionChains();

  constructor(readonly positions: PositionTable) {}

  add(key: string, fact: Fact): void {
    this.seen.add(key, fact.position);
    // An identify that did not reach Customer.io (a pending dead letter, usually the
    // bulk) judges nothing: its position is all that is kept.
    if (fact.kind === 'identify' && !fact.delivered) return;
    const i = this.count++;
    if (i >= this.flags.length) this.grow();
    let action = this.actions.indexOf(fact.action);
    if (action < 0) action = this.actions.push(fact.action) - 1;
    const where = fact.where;
    this.flags[i] =
      (fact.kind === 'erase' ? ERASE : 0) |
      (fact.delivered ? DELIVERED : 0) |
      (typeof where === 'string' ? TEXT_WHERE : where.replayed ? REPLAYED_DEAD_LETTER : 0);
    this.actionIndex[i] = action;
    this.topic[i] = fact.position.topic;
    this.partition[i] = fact.position.partition;
    this.offset[i] = fact.position.offset;
    this.recordTime[i] = fact.position.recordTime;
    this.opTime[i] = fact.opTime;
    this.replayedAt[i] = fact.replayedAt;
    if (typeof where === 'string') this.texts.set(i, where);
    else {
      this.wherePartition[i] = where.partition;
      this.whereOffset[i] = Number(where.offset);
    }
    this.operationIds[i] = fact.operationId;
    this.chains.link(key, i);
  }

  private grow(): void {
    const size = this.flags.length * 2;
    this.flags = grown(this.flags, size);
    this.actionIndex = grown(this.actionIndex, size);
    this.topic = grown(this.topic, size);
    this.partition = grown(this.partition, size);
    this.offset = grown(this.offset, size);
    this.recordTime = grown(this.recordTime, size);
    this.opTime = grown(this.opTime, size);
    this.replayedAt = grown(this.replayedAt, size);
    this.wherePartition = grown(this.wherePartition, size);
    this.whereOffset = grown(this.whereOffset, size);
  }

  /** Whether the person has a fact at this original position (a copy of it is the same operation). */
  has(key: string, position: Position): boolean {
    return position.topic >= 0 && this.seen.has(key, position);
  }

  private positionOf(i: number): Position {
    return {
      topic: this.topic[i]!,
      partition: this.partition[i]!,
      offset: this.offset[i]!,
      recordTime: this.recordTime[i]!,
    };
  }

  private whereOf(i: number): string {
    if ((this.flags[i]! & TEXT_WHERE) !== 0) return this.texts.get(i)!;
    const replayed = (this.flags[i]! & REPLAYED_DEAD_LETTER) !== 0;
    return `${this.positions.dlqTopic} ${this.wherePartition[i]}:${this.whereOffset[i]} (dead letter${replayed ? ', replayed' : ''})`;
  }

  private named(i: number): string {
    const id = this.operationIds[i];
    return `${id ? ` ${id}` : ''} at ${this.whereOf(i)}`;
  }

  /**
   * Erasure wins: anything but a delete is skipped when the person has a delete
   * or suppress that entered the pipeline after it, or that cio-dlq replayed after
   * it was dead-lettered. Dead-lettered erasures count too: the person asked.
   * Then the stale-identify guard: an identify is skipped when a newer identify
   * of the person reached Customer.io. Newer compares the operations' timestamps
   * when both have one, else their original positions (a replayed copy counts at
   * its original's position).
   */
  verdict(candidate: Candidate): GuardVerdict | undefined {
    if (candidate.key === null || candidate.action === 'delete') return undefined;
    const head = this.chains.head(candidate.key);
    if (head < 0) return undefined;
    const same = (i: number) =>
      this.operationIds[i] !== undefined && this.operationIds[i] === candidate.operationId;
    const position = candidate.position;
    for (let i = head; i >= 0; i = this.chains.after(i)) {
      if ((this.flags[i]! & ERASE) === 0 || same(i)) continue;
      const later =
        (position !== undefined && enteredAfter(this.positionOf(i), position)) ||
        this.replayedAt[i]! > candidate.deadLetteredAt;
      if (later) {
        return {
          reason: 'erased-later',
          detail: `later ${this.actions[this.actionIndex[i]!]}${this.named(i)} (--force replays it)`,
        };
      }
    }
    if (candidate.action !== 'identify') return undefined;
    for (let i = head; i >= 0; i = this.chains.after(i)) {
      if ((this.flags[i]! & ERASE) !== 0 || (this.flags[i]! & DELIVERED) === 0 || same(i)) continue;
      const opTime = this.opTime[i]!;
      const newer =
        !Number.isNaN(opTime) && candidate.opTime !== undefined
          ? opTime > candidate.opTime
          : position !== undefined && enteredAfter(this.positionOf(i), position);
      if (newer) {
        return { reason: 'stale-identify', detail: `newer identify${this.named(i)} (--force replays it)` };
      }
    }
    return undefined;
  }
}
