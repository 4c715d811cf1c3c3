import type { DlqEntry } from '../dlq-entry';
import { readEntry } from '../dlq-entry';
import { type Filter, matches } from '../filter';
import type { ReadOptions, TopicSource } from '../kafka/topic-source';
import { type Handled, type HandledState, readHandledState } from '../state';

export interface Scanned {
  entry: DlqEntry;
  handled?: Handled;
}

export interface ScanOptions {
  filter: Filter;
  /** include replayed and purged messages (default: only pending ones) */
  includeHandled?: boolean;
  /** called for matching messages left out because they were handled */
  onHidden?: (scanned: Scanned) => void;
  read?: ReadOptions;
}

/**
 * The dead-letter topic's messages that pass the filter, oldest first, up to
 * `filter.limit`, in runs (a large topic is read in fetch-sized pieces).
 */
export async function* scan(
  reader: TopicSource,
  dlqTopic: string,
  state: HandledState,
  options: ScanOptions,
): AsyncGenerator<Scanned[]> {
  let count = 0;
  const limit = options.filter.limit ?? Number.POSITIVE_INFINITY;
  if (limit <= 0) return;
  for await (const run of reader.readRuns(dlqTopic, options.read)) {
    const out: Scanned[] = [];
    for (const raw of run) {
      const entry = readEntry(raw);
      if (!matches(options.filter, entry)) continue;
      const handled = state.get(entry.partition, entry.offset);
      if (handled && !options.includeHandled) {
        options.onHidden?.({ entry, handled });
        continue;
      }
      out.push({ entry, handled });
      if (++count >= limit) break;
    }
    if (out.length > 0) yield out;
    if (count >= limit) return;
  }
}

/** Checks the dead-letter topic exists (a clear error otherwise) and reads the marks. */
export async function openDlq(
  reader: TopicSource,
  dlqTopic: string,
  stateTopic: string,
): Promise<HandledState> {
  await reader.ranges(dlqTopic);
  return readHandledState(reader, stateTopic, dlqTopic);
}

/** One at a time, for commands where the count of messages is small or speed does not matter. */
export async function* flatten<T>(runs: AsyncIterable<T[]>): AsyncGenerator<T> {
  for await (const run of runs) yield* run;
}
