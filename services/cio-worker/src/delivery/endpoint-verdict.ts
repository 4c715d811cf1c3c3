import type { DeliveryError } from '../errors';

export interface VerdictOptions<T> {
  /** the person an item belongs to */
  personOf: (item: T) => string;
  /** the same status for this many different people, no success between: the endpoint's fault */
  people?: number;
  /** without a verdict after this long, the held items are their messages' own fault */
  timeoutMs?: number;
  /** held items that turned out to be their messages' own fault */
  messagesAtFault: (held: { item: T; error: DeliveryError }[]) => void;
  /** the endpoint (or the account) refuses everything: the held items were not at fault */
  endpointAtFault: (error: DeliveryError, people: number, held: T[]) => void;
}

/**
 * Decides whether permanent failures of operations sent alone belong to the messages
 * or to the endpoint. Each is held until another request succeeds (the messages' own
 * fault), the same status comes for several people with no success in between (404 or
 * 405 for two, anything else for `people`: the endpoint's fault), or `timeoutMs` passes.
 */
export class EndpointVerdict<T> {
  private held: { item: T; error: DeliveryError }[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: VerdictOptions<T>) {}

  hold(item: T, error: DeliveryError): void {
    this.held.push({ item, error });
    const people = new Set(
      this.held
        .filter((held) => held.error.status === error.status)
        .map((held) => this.options.personOf(held.item)),
    );
    const routeMissing = error.status === 404 || error.status === 405;
    if (people.size >= (this.options.people ?? 3) || (routeMissing && people.size >= 2)) {
      const held = this.take();
      this.options.endpointAtFault(
        error,
        people.size,
        held.map((entry) => entry.item),
      );
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.options.messagesAtFault(this.take());
    }, this.options.timeoutMs ?? 30_000);
  }

  /** A request succeeded: what is held was the messages' own fault. */
  succeeded(): void {
    if (this.held.length > 0) this.options.messagesAtFault(this.take());
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private take(): { item: T; error: DeliveryError }[] {
    this.stop();
    const held = this.held;
    this.held = [];
    return held;
  }
}
