import { Command } from 'commander';
import { CommandError, UsageError } from '../errors';
import { describeFilter, type Filter, parseFilter } from '../filter';
import { entryJson, formatCount, Table } from '../format';
import { type AuditRecord, auditMessage, type HandledMark, markRecords, stateTopicsFor } from '../state';
import { type CommandContext, note } from './io';
import { type CommandDeps, type SharedOptions, withFilters, withTopic } from './options';
import { newRunId } from './replay';
import { openDlq, scan } from './scan';

export interface PurgeOptions {
  filter: Filter;
  dryRun?: boolean;
  yes?: boolean;
  json?: boolean;
  reveal?: boolean;
  reason?: string;
}

/**
 * `cio-dlq purge`: marks matching pending messages as handled without replaying
 * them (Kafka cannot delete single messages; the marks hide them from stats, list
 * and replay), and writes one audit record: who, when, which filter, how many.
 */
export async function runPurge(ctx: CommandContext, options: PurgeOptions): Promise<number> {
  if (!options.dryRun && !options.yes && !ctx.interactive) {
    throw new UsageError(
      'purge marks messages as handled: pass --yes when not on a terminal (--dry-run lists them)',
    );
  }
  const reader = await ctx.session.topicReader();
  const topics = stateTopicsFor(ctx.dlqTopic);
  const state = await openDlq(reader, ctx.dlqTopic, topics.state);
  const format = { reveal: options.reveal === true, now: ctx.now };
  const table = new Table(format);
  const entries: Array<{ partition: number; offset: string; operationId?: string; action: string }> = [];
  let alreadyHandled = 0;
  if (options.dryRun && !options.json) await ctx.out.line(table.header());
  for await (const run of scan(reader, ctx.dlqTopic, state, {
    filter: options.filter,
    onHidden: () => alreadyHandled++,
  })) {
    for (const { entry } of run) {
      entries.push({
        partition: entry.partition,
        offset: entry.offset,
        operationId: entry.operation.id,
        action: entry.operation.action,
      });
      if (options.dryRun)
        ctx.out.push(options.json ? JSON.stringify(entryJson(entry, format)) : table.row(entry));
    }
    await ctx.out.flushIfFull();
  }
  const count = entries.length;
  const what = `${formatCount(count)} message${count === 1 ? '' : 's'}`;
  const handledNote = alreadyHandled > 0 ? `; ${formatCount(alreadyHandled)} already replayed or purged` : '';

  if (options.dryRun) {
    const summary = `dry run: would purge ${what} from ${ctx.dlqTopic}${handledNote}. Nothing was changed.`;
    if (options.json) note(ctx, summary);
    else await ctx.out.line(summary);
    await ctx.out.flush();
    return 0;
  }
  if (count === 0) {
    await ctx.out.line(`nothing to purge in ${ctx.dlqTopic}${handledNote}`);
    await ctx.out.flush();
    return 0;
  }
  if (!options.yes) {
    const ok = await ctx.confirm(
      `Purge ${what} from ${ctx.dlqTopic}? They will not be replayed and no longer show in stats and list.`,
    );
    if (!ok) {
      note(ctx, 'aborted: nothing was purged');
      return 1;
    }
  }

  await ctx.session.ensureStateTopics(ctx.dlqTopic);
  const publisher = await ctx.session.publisher();
  const run = newRunId(ctx.now);
  const by = ctx.session.operator();
  const at = new Date(ctx.now).toISOString();
  const marks = markRecords(
    entries.map(
      (e): HandledMark => ({
        status: 'purged',
        dlqTopic: ctx.dlqTopic,
        partition: e.partition,
        offset: e.offset,
        run,
        by,
        at,
        operationId: e.operationId,
        action: e.action,
      }),
    ),
  );
  const audit: AuditRecord = {
    type: 'purge',
    run,
    who: by,
    when: at,
    dlqTopic: ctx.dlqTopic,
    filter: describeFilter(options.filter),
    count,
    skipped: {},
    reason: options.reason,
  };
  try {
    for (let i = 0; i < marks.length; i += 50) {
      await publisher.publish(topics.state, marks.slice(i, i + 50));
    }
    await publisher.publish(topics.audit, [auditMessage(audit)]);
  } catch (error) {
    throw new CommandError(
      `purge failed: ${(error as Error).message}; some messages may be marked, run the same command again to finish`,
    );
  }
  if (options.json)
    await ctx.out.line(JSON.stringify({ run, purged: count, alreadyHandled, auditTopic: topics.audit }));
  else
    await ctx.out.line(
      `purged ${what} from ${ctx.dlqTopic}${handledNote} (run ${run}; audit record in ${topics.audit})`,
    );
  await ctx.out.flush();
  return 0;
}

export function purgeCommand(deps: CommandDeps): Command {
  return withFilters(
    withTopic(
      new Command('purge').description(
        'mark matching pending messages as handled without replaying them, with an audit record (who, when, filter, count)',
      ),
    ),
  )
    .option('--dry-run', 'list what would be purged, and change nothing')
    .option('-y, --yes', 'do not ask for confirmation (needed when not on a terminal)')
    .option('--reason <text>', 'why, for the audit record')
    .option('--json', 'JSON output (dry run: JSON lines)')
    .option('--reveal', 'dry run: show email addresses')
    .action(async (options: SharedOptions & { dryRun?: boolean; yes?: boolean; reason?: string }) => {
      const ctx = deps.context(options);
      deps.exit(
        await runPurge(ctx, {
          filter: parseFilter(options, ctx.now),
          dryRun: options.dryRun,
          yes: options.yes,
          json: options.json,
          reveal: options.reveal,
          reason: options.reason,
        }),
      );
    });
}
