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
  /** `topic partition:offset` to name it in a skip reason */
  where: string;
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

/**
 * Per person (message key), the identifies, deletes and suppresses the guards
 * compare against, in compact form; nothing else about a message is kept.
 */
export class PersonHistory {
  private readonly facts = new Map<string, Fact[]>();
  /** positions already recorded (from the dead-letter topic), so a copy of one is not counted twice */
  private readonly known = new Map<string, Set<number>>();

  constructor(readonly positions: PositionTable) {}

  add(key: string, fact: Fact): void {
    const list = this.facts.get(key);
    if (list) list.push(fact);
    else this.facts.set(key, [fact]);
    if (fact.position.topic < 0) return;
    const id = `${fact.position.topic}:${fact.position.partition}`;
    const set = this.known.get(id) ?? new Set<number>();
    set.add(fact.position.offset);
    this.known.set(id, set);
  }

  has(position: Position): boolean {
    return this.known.get(`${position.topic}:${position.partition}`)?.has(position.offset) ?? false;
  }

  /** How many facts are kept (for tests and the benchmark's curiosity). */
  get size(): number {
    let n = 0;
    for (const list of this.facts.values()) n += list.length;
    return n;
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
    const facts = this.facts.get(candidate.key);
    if (!facts) return undefined;
    const same = (f: Fact) => f.operationId !== undefined && f.operationId === candidate.operationId;
    const position = candidate.position;
    for (const f of facts) {
      if (f.kind !== 'erase' || same(f)) continue;
      const later =
        (position !== undefined && enteredAfter(f.position, position)) ||
        f.replayedAt > candidate.deadLetteredAt;
      if (later) {
        return {
          reason: 'erased-later',
          detail: `later ${f.action}${f.operationId ? ` ${f.operationId}` : ''} at ${f.where} (--force replays it)`,
        };
      }
    }
    if (candidate.action !== 'identify') return undefined;
    for (const f of facts) {
      if (f.kind !== 'identify' || !f.delivered || same(f)) continue;
      const newer =
        !Number.isNaN(f.opTime) && candidate.opTime !== undefined
          ? f.opTime > candidate.opTime
          : position !== undefined && enteredAfter(f.position, position);
      if (newer) {
        return {
          reason: 'stale-identify',
          detail: `newer identify${f.operationId ? ` ${f.operationId}` : ''} at ${f.where} (--force replays it)`,
        };
      }
    }
    return undefined;
  }
}
