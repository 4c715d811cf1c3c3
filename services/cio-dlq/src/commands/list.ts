import { Command } from 'commander';
import { type Filter, parseFilter } from '../filter';
import { entryJson, Table } from '../format';
import { buildGuards, candidateOf } from '../guards/build';
import { type CommandContext, note } from './io';
import { type CommandDeps, type SharedOptions, withFilters, withTopic } from './options';
import { openDlq, scan } from './scan';

export interface ListOptions {
  filter: Filter;
  json?: boolean;
  reveal?: boolean;
  all?: boolean;
}

/** One line per matching message, oldest first: a table, or JSON lines with `--json`. */
export async function runList(ctx: CommandContext, options: ListOptions): Promise<number> {
  const reader = await ctx.session.topicReader();
  const state = await openDlq(reader, ctx.dlqTopic, ctx.session.stateTopics(ctx.dlqTopic).state);
  // A pending message the guards would keep from a replay says so (`erased-later`, `stale-identify`).
  const guards = await buildGuards(reader, ctx.dlqTopic, state, options.filter);
  const format = { reveal: options.reveal === true, now: ctx.now };
  const table = new Table({
    ...format,
    withState: options.all === true,
    width: ctx.stdout.isTTY ? ctx.stdout.columns : undefined,
  });
  let shown = 0;
  let hidden = 0;
  if (!options.json) await ctx.out.line(table.header());
  for await (const run of scan(reader, ctx.dlqTopic, state, {
    filter: options.filter,
    includeHandled: options.all,
    onHidden: () => hidden++,
  })) {
    for (const { entry, handled } of run) {
      shown++;
      const verdict = handled ? undefined : guards.history.verdict(candidateOf(entry, guards));
      ctx.out.push(
        options.json
          ? JSON.stringify({ ...entryJson(entry, format, handled), verdict: verdict?.reason ?? null })
          : table.row(entry, handled, verdict ? `[${verdict.reason}] ${table.message(entry)}` : undefined),
      );
    }
    await ctx.out.flushIfFull();
    if (ctx.out.closed) break;
  }
  await ctx.out.flush();
  if (!options.json && ctx.stderr.isTTY) {
    const more = hidden > 0 ? ` (${hidden} replayed or purged not shown; --all shows them)` : '';
    note(ctx, `${shown} message${shown === 1 ? '' : 's'}${more}`);
  }
  return 0;
}

export function listCommand(deps: CommandDeps): Command {
  return withFilters(
    withTopic(
      new Command('list').description(
        'one line per message, oldest first: partition:offset, age, action, event, person, error class, status, message',
      ),
    ),
  )
    .option('--all', 'include replayed and purged messages (with a STATE column)')
    .option('--json', 'JSON lines instead of a table')
    .option('--reveal', 'show email addresses (masked by default)')
    .action(async (options: SharedOptions) => {
      const ctx = deps.context(options);
      deps.exit(
        await runList(ctx, {
          filter: parseFilter(options, ctx.now),
          json: options.json,
          reveal: options.reveal,
          all: options.all,
        }),
      );
    });
}
