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

type ColumnType = Uint8ArrayConstructor | Int32ArrayConstructor | Float64ArrayConstructor;
type Column = Uint8Array | Int32Array | Float64Array;

/** Typed columns, one row per index; all of them double when a row past their end is made room for. */
class Columns<K extends string> {
  readonly of = {} as Record<K, Column>;
  private capacity = 1_024;

  constructor(types: Record<K, ColumnType>) {
    for (const name in types) this.of[name] = new types[name](this.capacity);
  }

  /** Makes room for row `i`. */
  fit(i: number): void {
    if (i < this.capacity) return;
    this.capacity *= 2;
    for (const name in this.of) {
      const old = this.of[name];
      const next = new (old.constructor as new (size: number) => Column)(this.capacity);
      next.set(old);
      this.of[name] = next;
    }
  }
}

/** Per person, the indexes of their rows in the order added, as a chain. */
class Chains {
  /** `tail` is kept on a person's first row: the index of their last */
  private readonly links = new Columns({ next: Int32Array, tail: Int32Array });
  private readonly first = new Map<string, number>();

  /** Appends row `i` (the next row number) to the person's chain. */
  link(key: string, i: number): void {
    this.links.fit(i);
    const { next, tail } = this.links.of;
    next[i] = -1;
    const head = this.first.get(key);
    if (head === undefined) {
      this.first.set(key, i);
      tail[i] = i;
    } else {
      next[tail[head]!] = i;
      tail[head] = i;
    }
  }

  /** The person's first row, or -1. */
  head(key: string): number {
    return this.first.get(key) ?? -1;
  }

  /** The row after `i` in its chain, or -1. */
  after(i: number): number {
    return this.links.of.next[i]!;
  }
}

/** Per person, original positions only: 20 bytes each (unknown positions are not kept). */
class PositionChains {
  private count = 0;
  private readonly rows = new Columns({ topic: Int32Array, partition: Int32Array, offset: Float64Array });
  private readonly chains = new Chains();

  add(key: string, position: Position): void {
    if (position.topic < 0) return;
    const i = this.count++;
    this.rows.fit(i);
    const { topic, partition, offset } = this.rows.of;
    topic[i] = position.topic;
    partition[i] = position.partition;
    offset[i] = position.offset;
    this.chains.link(key, i);
  }

  has(key: string, position: Position): boolean {
    const { topic, partition, offset } = this.rows.of;
    for (let i = this.chains.head(key); i >= 0; i = this.chains.after(i)) {
      if (offset[i] === position.offset && partition[i] === position.partition && topic[i] === position.topic)
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
  private readonly rows = new Columns({
    flags: Uint8Array,
    action: Uint8Array,
    topic: Int32Array,
    partition: Int32Array,
    offset: Float64Array,
    recordTime: Float64Array,
    opTime: Float64Array,
    replayedAt: Float64Array,
    wherePartition: Int32Array,
    whereOffset: Float64Array,
  });
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
    this.rows.fit(i);
    const row = this.rows.of;
    let action = this.actions.indexOf(fact.action);
    if (action < 0) action = this.actions.push(fact.action) - 1;
    const where = fact.where;
    row.flags[i] =
      (fact.kind === 'erase' ? ERASE : 0) |
      (fact.delivered ? DELIVERED : 0) |
      (typeof where === 'string' ? TEXT_WHERE : where.replayed ? REPLAYED_DEAD_LETTER : 0);
    row.action[i] = action;
    row.topic[i] = fact.position.topic;
    row.partition[i] = fact.position.partition;
    row.offset[i] = fact.position.offset;
    row.recordTime[i] = fact.position.recordTime;
    row.opTime[i] = fact.opTime;
    row.replayedAt[i] = fact.replayedAt;
    if (typeof where === 'string') this.texts.set(i, where);
    else {
      row.wherePartition[i] = where.partition;
      row.whereOffset[i] = Number(where.offset);
    }
    this.operationIds[i] = fact.operationId;
    this.chains.link(key, i);
  }

  /** Whether the person has a fact at this original position (a copy of it is the same operation). */
  has(key: string, position: Position): boolean {
    return position.topic >= 0 && this.seen.has(key, position);
  }

  private positionOf(i: number): Position {
    const row = this.rows.of;
    return {
      topic: row.topic[i]!,
      partition: row.partition[i]!,
      offset: row.offset[i]!,
      recordTime: row.recordTime[i]!,
    };
  }

  private whereOf(i: number): string {
    const row = this.rows.of;
    if ((row.flags[i]! & TEXT_WHERE) !== 0) return this.texts.get(i)!;
    const replayed = (row.flags[i]! & REPLAYED_DEAD_LETTER) !== 0;
    return `${this.positions.dlqTopic} ${row.wherePartition[i]}:${row.whereOffset[i]} (dead letter${replayed ? ', replayed' : ''})`;
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
    const { flags, replayedAt, opTime } = this.rows.of;
    for (let i = head; i >= 0; i = this.chains.after(i)) {
      if ((flags[i]! & ERASE) === 0 || same(i)) continue;
      const later =
        (position !== undefined && enteredAfter(this.positionOf(i), position)) ||
        replayedAt[i]! > candidate.deadLetteredAt;
      if (later) {
        return {
          reason: 'erased-later',
          detail: `later ${this.actions[this.rows.of.action[i]!]}${this.named(i)} (--force replays it)`,
        };
      }
    }
    if (candidate.action !== 'identify') return undefined;
    for (let i = head; i >= 0; i = this.chains.after(i)) {
      if ((flags[i]! & ERASE) !== 0 || (flags[i]! & DELIVERED) === 0 || same(i)) continue;
      const time = opTime[i]!;
      const newer =
        !Number.isNaN(time) && candidate.opTime !== undefined
          ? time > candidate.opTime
          : position !== undefined && enteredAfter(this.positionOf(i), position);
      if (newer) {
        return { reason: 'stale-identify', detail: `newer identify${this.named(i)} (--force replays it)` };
      }
    }
    return undefined;
  }
}
