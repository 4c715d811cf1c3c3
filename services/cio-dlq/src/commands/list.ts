import type { Filter } from '../filter';
import { entryJson, Table } from '../format';
import { type CommandContext, note } from './io';
import { openDlq, scan } from './scan';

export interface ListOptions {
  filter: Filter;
  json?: boolean;
  reveal?: boolean;
  all?: boolean;
}

/** One line per matching message, oldest first: a table, or JSON lines with `--json`. */
export async function listCommand(ctx: CommandContext, options: ListOptions): Promise<number> {
  const reader = await ctx.session.topicReader();
  const state = await openDlq(reader, ctx.dlqTopic, ctx.session.stateTopics(ctx.dlqTopic).state);
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
      ctx.out.push(
        options.json ? JSON.stringify(entryJson(entry, format, handled)) : table.row(entry, handled),
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
