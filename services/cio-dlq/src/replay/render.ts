import { entryJson, type FormatOptions, formatCount, Table } from '../format';
import type { PlanItem, PlanTally, SkipReason } from './plan';

const skipText: Record<SkipReason, string> = {
  'erased-later': 'erased later (a later delete or suppress; --force replays them)',
  'stale-identify': 'stale identify (--force replays them)',
  'max-replays': 'over --max-replays',
  'no-target': 'without x-dlq-original-topic (use --to)',
  'no-value': 'without a value',
  'no-key': 'without a key',
};

export const describeSkipped = (counts: Record<string, number>) =>
  Object.entries(counts)
    .map(([reason, n]) => `${formatCount(n)} ${skipText[reason as SkipReason] ?? reason}`)
    .join(', ');

const plural = (n: number) => `${formatCount(n)} message${n === 1 ? '' : 's'}`;

/** "replayed 3 messages to t; skipped 1: ...; 2 already replayed or purged" */
export function summaryOf(verb: string, tally: PlanTally, replayed = tally.toReplay): string {
  const targets = [...tally.targets];
  const skipped = tally.items - tally.toReplay;
  const forced = Object.values(tally.forced).reduce((a, b) => a + b, 0);
  return (
    `${verb} ${plural(replayed)}${targets.length > 0 ? ` to ${targets.join(', ')}` : ''}` +
    (forced > 0 ? ` (--force: ${describeForced(tally.forced)})` : '') +
    (skipped > 0 ? `; skipped ${formatCount(skipped)}: ${describeSkipped(tally.skipped)}` : '') +
    (tally.handled > 0 ? `; ${formatCount(tally.handled)} already replayed or purged` : '')
  );
}

const describeForced = (counts: Record<string, number>) =>
  Object.entries(counts)
    .map(([reason, n]) => `${formatCount(n)} ${reason}`)
    .join(', ');

export function nothingToReplay(dlqTopic: string, tally: PlanTally): string {
  const why = [
    tally.items > 0 ? `skipped ${formatCount(tally.items)}: ${describeSkipped(tally.skipped)}` : '',
    tally.handled > 0 ? `${formatCount(tally.handled)} already replayed or purged` : '',
  ].filter(Boolean);
  return `nothing to replay in ${dlqTopic}${why.length > 0 ? ` (${why.join('; ')})` : ''}`;
}

export const confirmQuestion = (dlqTopic: string, tally: PlanTally) =>
  `Replay ${plural(tally.toReplay)} from ${dlqTopic} to ${[...tally.targets].join(', ')}?`;

/** The dry run's lines: a table with a WOULD column, or JSON lines. */
export class DryRunRenderer {
  private readonly table: Table;

  constructor(
    private readonly format: FormatOptions,
    private readonly json: boolean,
    width?: number,
  ) {
    this.table = new Table({ ...format, extra: 'WOULD', width });
  }

  header(): string | undefined {
    return this.json ? undefined : this.table.header();
  }

  row(item: PlanItem): string {
    const verdict = item.skip
      ? `skip: ${item.detail ?? skipText[item.skip]}`
      : `replay to ${item.target} (x-replay-count ${item.replayCount})${item.forced ? ` despite ${item.forced.reason}: ${item.forced.detail.replace(/ \(--force replays it\)$/, '')}` : ''}`;
    if (!this.json) return this.table.row(item.entry, undefined, verdict);
    return JSON.stringify({
      ...entryJson(item.entry, this.format),
      verdict: item.skip ? 'skip' : 'replay',
      reason: item.skip ?? null,
      detail: item.detail ?? null,
      forced: item.forced?.reason ?? null,
      to: item.skip ? null : item.target,
    });
  }

  summary(tally: PlanTally): string {
    return `dry run: ${summaryOf('would replay', tally)}. Nothing was changed.`;
  }
}
