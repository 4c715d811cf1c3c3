/** What the worker answered about one operation (its reply, as a waiting caller sees it). */
export interface KnownOutcome {
  id: string;
  outcome: 'delivered' | 'dead_lettered';
  /** Customer.io's HTTP status for the request that settled it; null when none answered */
  status: number | null;
  /** why it was dead-lettered (the x-dlq-error-class) */
  error_class?: string;
  /** a transactional send's App API `delivery_id` */
  delivery_id?: string;
}

/** Not known when the wait ran out: it is still delivered (or dead-lettered) later. */
export interface PendingOutcome {
  id: string;
  outcome: 'pending';
}

export type OperationOutcome = KnownOutcome | PendingOutcome;

export interface WaitAnswer {
  /** every operation has its outcome */
  complete: boolean;
  /** in the order of the ids waited for */
  results: OperationOutcome[];
}

/** One request's wait: its ids in order, what is known of them so far. */
export interface Wait {
  /** operations waited for */
  readonly size: number;
  /** Resolves once every outcome is known or after `timeoutMs`; frees the places either way. */
  done(timeoutMs: number): Promise<WaitAnswer>;
  /** Gives the places back without an answer (the request failed before it waited). */
  cancel(): void;
}

class RequestWait implements Wait {
  readonly known: (KnownOutcome | undefined)[];
  missing: number;
  private finish?: () => void;
  private finished = false;

  constructor(
    readonly ids: readonly string[],
    private readonly release: (wait: RequestWait) => void,
  ) {
    this.known = new Array(ids.length);
    this.missing = ids.length;
  }

  get size(): number {
    return this.ids.length;
  }

  settle(index: number, outcome: KnownOutcome): void {
    if (this.known[index] !== undefined) return;
    this.known[index] = outcome;
    this.missing--;
    if (this.missing === 0) this.finish?.();
  }

  async done(timeoutMs: number): Promise<WaitAnswer> {
    if (this.missing > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.finish = resolve;
        timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
    }
    this.cancel();
    return {
      complete: this.missing === 0,
      results: this.ids.map((id, index) => this.known[index] ?? { id, outcome: 'pending' }),
    };
  }

  cancel(): void {
    if (this.finished) return;
    this.finished = true;
    this.release(this);
  }
}

/**
 * The operations this instance waits for, by id, bounded (`PRODUCER_MAX_WAITERS`): a
 * reply settles every request waiting for its id; one for an id nobody waits for (any
 * more) is dropped. Memory is a few objects per operation waited for.
 */
export class Waiters {
  private readonly byId = new Map<string, { wait: RequestWait; index: number }[]>();
  private waiting = 0;

  constructor(private readonly maxWaiting: number) {}

  /** operations waited for right now */
  get size(): number {
    return this.waiting;
  }

  /** Starts waiting for these ids, or undefined when that would pass the bound. */
  add(ids: readonly string[]): Wait | undefined {
    if (this.waiting + ids.length > this.maxWaiting) return undefined;
    const wait = new RequestWait(ids, (finished) => this.remove(finished));
    ids.forEach((id, index) => {
      const list = this.byId.get(id);
      if (list) list.push({ wait, index });
      else this.byId.set(id, [{ wait, index }]);
    });
    this.waiting += ids.length;
    return wait;
  }

  /** Hands an outcome to whoever waits for its id; false when nobody does (a late reply). */
  settle(outcome: KnownOutcome): boolean {
    const list = this.byId.get(outcome.id);
    if (!list) return false;
    for (const { wait, index } of [...list]) wait.settle(index, outcome);
    return true;
  }

  private remove(wait: RequestWait): void {
    wait.ids.forEach((id) => {
      const list = this.byId.get(id);
      if (!list) return;
      const rest = list.filter((entry) => entry.wait !== wait);
      if (rest.length === 0) this.byId.delete(id);
      else this.byId.set(id, rest);
    });
    this.waiting -= wait.ids.length;
  }
}
