import { Command } from 'commander';
import { type Filter, parseFilter } from '../filter';
import { formatCount } from '../format';
import { buildGuards, candidateOf } from '../guards/build';
import { formatAge } from '../time';
import type { CommandContext } from './io';
import { type CommandDeps, type SharedOptions, withFilters, withTopic } from './options';
import { flatten, openDlq, scan } from './scan';

export interface StatsOptions {
  filter: Filter;
  json?: boolean;
  all?: boolean;
}

export interface Stats {
  topic: string;
  total: number;
  byState: Record<string, number>;
  byErrorClass: Record<string, number>;
  byHttpStatus: Record<string, number>;
  byAction: Record<string, number>;
  byEvent: Record<string, number>;
  /** pending messages a replay would skip without --force, by guard (`erased-later`, `stale-identify`) */
  byVerdict: Record<string, number>;
  oldest: string | null;
  newest: string | null;
  oldestAgeSeconds: number | null;
  newestAgeSeconds: number | null;
}

const bump = (counts: Record<string, number>, key: string) => {
  counts[key] = (counts[key] ?? 0) + 1;
};

const sorted = (counts: Record<string, number>) =>
  Object.fromEntries(Object.entries(counts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));

/** Counts by error class, HTTP status, action and event name, and the oldest and newest message. */
export async function runStats(ctx: CommandContext, options: StatsOptions): Promise<number> {
  const reader = await ctx.session.topicReader();
  const state = await openDlq(reader, ctx.dlqTopic, ctx.session.stateTopics(ctx.dlqTopic).state);
  const guards = await buildGuards(reader, ctx.dlqTopic, state, options.filter);
  const stats: Stats = {
    topic: ctx.dlqTopic,
    total: 0,
    byState: { pending: 0 },
    byErrorClass: {},
    byHttpStatus: {},
    byAction: {},
    byEvent: {},
    byVerdict: {},
    oldest: null,
    newest: null,
    oldestAgeSeconds: null,
    newestAgeSeconds: null,
  };
  let oldest = Number.POSITIVE_INFINITY;
  let newest = Number.NEGATIVE_INFINITY;
  const runs = scan(reader, ctx.dlqTopic, state, {
    filter: options.filter,
    includeHandled: options.all,
    onHidden: ({ handled }) => bump(stats.byState, handled!.status),
  });
  for await (const { entry, handled } of flatten(runs)) {
    stats.total++;
    bump(stats.byState, handled?.status ?? 'pending');
    bump(stats.byErrorClass, entry.failure.errorClass);
    bump(
      stats.byHttpStatus,
      entry.failure.httpStatus === undefined ? 'none' : String(entry.failure.httpStatus),
    );
    bump(stats.byAction, entry.operation.action);
    if (entry.operation.eventName !== undefined) bump(stats.byEvent, entry.operation.eventName);
    const verdict = handled ? undefined : guards.history.verdict(candidateOf(entry, guards));
    if (verdict) bump(stats.byVerdict, verdict.reason);
    if (entry.time < oldest) oldest = entry.time;
    if (entry.time > newest) newest = entry.time;
  }
  if (stats.total > 0) {
    stats.oldest = new Date(oldest).toISOString();
    stats.newest = new Date(newest).toISOString();
    stats.oldestAgeSeconds = Math.max(0, Math.floor((ctx.now - oldest) / 1000));
    stats.newestAgeSeconds = Math.max(0, Math.floor((ctx.now - newest) / 1000));
  }
  if (stats.byState.pending === 0 && Object.keys(stats.byState).length > 1) delete stats.byState.pending;
  for (const key of [
    'byErrorClass',
    'byHttpStatus',
    'byAction',
    'byEvent',
    'byState',
    'byVerdict',
  ] as const) {
    stats[key] = sorted(stats[key]);
  }

  if (options.json) {
    await ctx.out.line(JSON.stringify(stats));
    await ctx.out.flush();
    return 0;
  }
  const handledHidden = options.all
    ? ''
    : Object.entries(stats.byState)
        .filter(([status, n]) => status !== 'pending' && n > 0)
        .map(([status, n]) => `${status} ${formatCount(n)}`)
        .join(', ');
  await ctx.out.line(
    `${ctx.dlqTopic}: ${formatCount(stats.total)} ${options.all ? '' : 'pending '}message${stats.total === 1 ? '' : 's'}` +
      (handledHidden ? ` (not counted: ${handledHidden}; --all counts them)` : ''),
  );
  if (stats.total > 0) {
    await ctx.out.line(`oldest: ${formatAge(ctx.now - oldest)} ago (${stats.oldest})`);
    await ctx.out.line(`newest: ${formatAge(ctx.now - newest)} ago (${stats.newest})`);
    const sections: Array<[string, Record<string, number>]> = [
      ['error class', stats.byErrorClass],
      ['http status', stats.byHttpStatus],
      ['action', stats.byAction],
      ['event name', stats.byEvent],
      ['replay would skip', stats.byVerdict],
    ];
    if (options.all) sections.unshift(['state', stats.byState]);
    for (const [title, counts] of sections) {
      const entries = Object.entries(counts);
      if (entries.length === 0) continue;
      const width = Math.max(title.length, ...entries.map(([k]) => k.length));
      await ctx.out.line('');
      await ctx.out.line(`${title.toUpperCase().padEnd(width)}  COUNT`);
      for (const [key, n] of entries)
        await ctx.out.line(`${key.padEnd(width)}  ${formatCount(n).padStart(5)}`);
    }
  }
  await ctx.out.flush();
  return 0;
}

export function statsCommand(deps: CommandDeps): Command {
  return withFilters(
    withTopic(
      new Command('stats').description(
        'counts by error class, HTTP status, action and event name; the oldest and newest message',
      ),
    ),
  )
    .option('--all', 'count replayed and purged messages too')
    .option('--json', 'one JSON object')
    .action(async (options: SharedOptions) => {
      const ctx = deps.context(options);
      deps.exit(
        await runStats(ctx, { filter: parseFilter(options, ctx.now), json: options.json, all: options.all }),
      );
    });
}
