import type { EntrySummary } from './dlq-entry';
import { maskEmails } from './mask';
import type { Handled } from './state';
import { formatAge } from './time';

export interface FormatOptions {
  reveal: boolean;
  now: number;
}

const show = (value: string | undefined, reveal: boolean) =>
  value === undefined ? undefined : reveal ? value : maskEmails(value);

/** One message as a JSON object for `--json` (emails masked unless `reveal`). */
export function entryJson(
  entry: EntrySummary,
  options: FormatOptions,
  handled?: Handled,
): Record<string, unknown> {
  const { operation: op, failure: f } = entry;
  return {
    coordinate: entry.coordinate,
    partition: entry.partition,
    offset: entry.offset,
    deadLetteredAt: new Date(entry.time).toISOString(),
    ageSeconds: Math.max(0, Math.floor((options.now - entry.time) / 1000)),
    action: op.action,
    event: op.eventName ?? null,
    person: show(op.person, options.reveal) ?? null,
    key: entry.key === null ? null : show(entry.key, options.reveal),
    operationId: op.id ?? null,
    errorClass: f.errorClass,
    httpStatus: f.httpStatus ?? null,
    errorMessage: show(f.errorMessage, options.reveal),
    attempts: f.attempts ?? null,
    originalTopic: f.originalTopic ?? null,
    originalPartition: f.originalPartition ?? null,
    originalOffset: f.originalOffset ?? null,
    replayCount: entry.replayCount,
    state: handled?.status ?? 'pending',
  };
}

interface Column {
  title: string;
  width: number;
}

const baseColumns: Column[] = [
  { title: 'PARTITION:OFFSET', width: 16 },
  { title: 'AGE', width: 6 },
  { title: 'ACTION', width: 13 },
  { title: 'EVENT', width: 22 },
  { title: 'PERSON', width: 24 },
  { title: 'ERROR', width: 12 },
  { title: 'STATUS', width: 6 },
];

const fit = (text: string, width: number) =>
  text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text.padEnd(width);

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();

/**
 * The table `list` prints: fixed columns (so rows stream without reading
 * everything first) and the error message last, cut at the terminal's width.
 */
export class Table {
  private readonly columns: Column[];

  constructor(
    private readonly options: FormatOptions & { withState?: boolean; extra?: string; width?: number },
  ) {
    this.columns = options.withState
      ? [baseColumns[0]!, { title: 'STATE', width: 8 }, ...baseColumns.slice(1)]
      : baseColumns;
  }

  private line(cells: string[], last: string): string {
    const text = `${cells.map((cell, i) => fit(cell, this.columns[i]!.width)).join(' ')} ${last}`;
    const width = this.options.width;
    return width && text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text.trimEnd();
  }

  header(): string {
    return this.line(
      this.columns.map((c) => c.title),
      this.options.extra ?? 'MESSAGE',
    );
  }

  row(entry: EntrySummary, handled?: Handled, last?: string): string {
    const { operation: op, failure: f } = entry;
    const cells = [
      entry.coordinate,
      formatAge(this.options.now - entry.time),
      op.action,
      op.eventName ?? '-',
      show(op.person ?? entry.key ?? '-', this.options.reveal)!,
      f.errorClass,
      f.httpStatus === undefined ? '-' : String(f.httpStatus),
    ];
    if (this.options.withState) cells.splice(1, 0, handled?.status ?? 'pending');
    return this.line(cells, last ?? this.message(entry));
  }

  /** The error message as the last column shows it. */
  message(entry: EntrySummary): string {
    return oneLine(show(entry.failure.errorMessage, this.options.reveal) ?? '');
  }
}

export const formatCount = (n: number) => n.toLocaleString('en-US');
