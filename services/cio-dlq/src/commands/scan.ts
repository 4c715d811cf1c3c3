import type { DlqEntry } from '../dlq-entry';
import { readEntry } from '../dlq-entry';
import { type Filter, matches } from '../filter';
import type { ReadOptions, TopicReader } from '../kafka/topic-reader';
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

/** The dead-letter topic's messages that pass the filter, oldest first, up to `filter.limit`. */
export async function* scan(
  reader: TopicReader,
  dlqTopic: string,
  state: HandledState,
  options: ScanOptions,
): AsyncGenerator<Scanned> {
  let count = 0;
  const limit = options.filter.limit ?? Number.POSITIVE_INFINITY;
  if (limit <= 0) return;
  for await (const raw of reader.read(dlqTopic, options.read)) {
    const entry = readEntry(raw);
    if (!matches(options.filter, entry)) continue;
    const handled = state.byCoordinate.get(entry.coordinate);
    if (handled && !options.includeHandled) {
      options.onHidden?.({ entry, handled });
      continue;
    }
    yield { entry, handled };
    if (++count >= limit) return;
  }
}

/** Checks the dead-letter topic exists (a clear error otherwise) and reads the marks. */
export async function openDlq(
  reader: TopicReader,
  dlqTopic: string,
  stateTopic: string,
): Promise<HandledState> {
  await reader.ranges(dlqTopic);
  return readHandledState(reader, stateTopic, dlqTopic);
}
