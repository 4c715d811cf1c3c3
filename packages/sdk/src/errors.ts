import type { FieldError } from '@cio-bridge/schemas';

/** A problem with one item of a send: which item (0 for a single send), where in it, and why. */
export interface ItemError extends FieldError {
  index: number;
}

/** The input does not satisfy the schema; sending it again will not help. */
export class InvalidOperationError extends Error {
  override name = 'InvalidOperationError';
  readonly retriable = false;

  constructor(
    readonly what: 'Track operation' | 'transactional send',
    readonly errors: ItemError[],
  ) {
    const shown = errors
      .slice(0, 5)
      .map((e) => `item ${e.index} ${e.pointer || '(whole)'} ${e.message}`)
      .join('; ');
    const more = errors.length > 5 ? `; and ${errors.length - 5} more` : '';
    super(`invalid ${what}: ${shown}${more}`);
  }
}

/**
 * Kafka did not take the messages. `operations` are the prepared messages' values
 * with their ids: sending them again (same ids) is safe, Customer.io drops duplicates.
 */
export class PublishError<T = unknown> extends Error {
  override name = 'PublishError';
  readonly retriable: boolean;

  constructor(
    message: string,
    readonly operations: T[],
    options: { cause: unknown },
  ) {
    super(message, options);
    const cause = options.cause as { retriable?: unknown } | undefined;
    this.retriable = typeof cause?.retriable === 'boolean' ? cause.retriable : true;
  }
}
