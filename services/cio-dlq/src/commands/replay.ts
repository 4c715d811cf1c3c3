import { randomBytes } from 'node:crypto';
import { Presets, SingleBar } from 'cli-progress';
import { Command, Option } from 'commander';
import { CommandError, UsageError } from '../errors';
import { describeFilter, type Filter, parseFilter, positiveInteger } from '../filter';
import { buildGuards, type Guards } from '../guards/build';
import type { TopicSource } from '../kafka/topic-source';
import { executeReplay } from '../replay/execute';
import { emptyTally, type PlanOptions, type PlanTally, planReplay } from '../replay/plan';
import { confirmQuestion, DryRunRenderer, nothingToReplay, summaryOf } from '../replay/render';
import { type AuditRecord, auditMessage, type HandledState, stateTopicsFor } from '../state';
import { type CommandContext, note } from './io';
import { type CommandDeps, type SharedOptions, topicName, withFilters, withTopic } from './options';
import { openDlq } from './scan';

export interface ReplayOptions extends PlanOptions {
  dryRun?: boolean;
  /** messages per second */
  rate?: number;
  yes?: boolean;
  json?: boolean;
  reveal?: boolean;
  /** why, for the audit record */
  reason?: string;
}

export const newRunId = (now: number) =>
  `${new Date(now).toISOString().replace(/[-:]/g, '').slice(0, 15)}-${randomBytes(3).toString('hex')}`;

interface Opened {
  source: TopicSource;
  state: HandledState;
  guards: Guards;
}

/** Reads the marks and the guards' facts, and checks every topic replay would write to exists. */
async function open(ctx: CommandContext, options: ReplayOptions): Promise<Opened> {
  const source = await ctx.session.topicReader();
  const state = await openDlq(source, ctx.dlqTopic, stateTopicsFor(ctx.dlqTopic).state);
  if (options.to !== undefined && !(await source.exists(options.to))) {
    throw new CommandError(`--to topic ${options.to} does not exist on the cluster`);
  }
  const guards = await buildGuards(source, ctx.dlqTopic, state, options.filter);
  if (options.to === undefined && !options.dryRun) {
    for (const target of guards.originalTopics) {
      if (!(await source.exists(target))) {
        throw new CommandError(
          `topic ${target} (the messages' original topic) does not exist; use --to <topic>`,
        );
      }
    }
  }
  return { source, state, guards };
}

const plan = (ctx: CommandContext, opened: Opened, options: ReplayOptions, tally: PlanTally) =>
  planReplay(opened.source, ctx.dlqTopic, opened.state, opened.guards, options, tally);

async function dryRun(ctx: CommandContext, opened: Opened, options: ReplayOptions): Promise<number> {
  const render = new DryRunRenderer(
    { reveal: options.reveal === true, now: ctx.now },
    options.json === true,
    ctx.stdout.isTTY ? ctx.stdout.columns : undefined,
  );
  const header = render.header();
  if (header !== undefined) await ctx.out.line(header);
  const tally = emptyTally();
  for await (const run of plan(ctx, opened, options, tally)) {
    for (const item of run) ctx.out.push(render.row(item));
    await ctx.out.flushIfFull();
  }
  await ctx.out.flush();
  if (options.json) note(ctx, render.summary(tally));
  else {
    await ctx.out.line(render.summary(tally));
    await ctx.out.flush();
  }
  return 0;
}

/** `cio-dlq replay`: publish matching messages back while reading them, resumably, with the guards. */
export async function runReplay(ctx: CommandContext, options: ReplayOptions): Promise<number> {
  if (!options.dryRun && !options.yes && !ctx.interactive) {
    throw new UsageError(
      'replay publishes messages: pass --yes when not on a terminal (--dry-run shows what it would do)',
    );
  }
  const opened = await open(ctx, options);
  if (options.dryRun) return dryRun(ctx, opened, options);

  // Asking needs the counts first: one more read, without publishing.
  let expected: number | undefined;
  if (!options.yes) {
    const counted = emptyTally();
    for await (const _ of plan(ctx, opened, options, counted));
    if (counted.toReplay === 0) {
      await ctx.out.line(nothingToReplay(ctx.dlqTopic, counted));
      await ctx.out.flush();
      return 0;
    }
    if (counted.toReplay < counted.items) note(ctx, summaryOf('will replay', counted));
    if (!(await ctx.confirm(confirmQuestion(ctx.dlqTopic, counted)))) {
      note(ctx, 'aborted: nothing was replayed');
      return 1;
    }
    expected = counted.toReplay;
  }

  const run = newRunId(ctx.now);
  const by = ctx.session.operator();
  const topics = stateTopicsFor(ctx.dlqTopic);
  const progress =
    ctx.stderr.isTTY && !options.json
      ? new SingleBar(
          {
            stream: ctx.stderr as unknown as NodeJS.WritableStream,
            format:
              expected === undefined
                ? 'replaying {value} messages'
                : 'replaying [{bar}] {value}/{total} {percentage}% | eta {eta_formatted}',
            hideCursor: true,
          },
          Presets.shades_classic,
        )
      : undefined;
  progress?.start(expected ?? 0, 0);
  let interrupted = false;
  const stopListening = ctx.onInterrupt(() => {
    interrupted = true;
    note(ctx, '\nstopping: finishing the messages in flight (Ctrl-C again to quit at once)');
  });
  const tally = emptyTally();
  let stateTopicsReady = false;
  const result = await executeReplay(plan(ctx, opened, options, tally), {
    dlqTopic: ctx.dlqTopic,
    stateTopic: topics.state,
    run,
    by,
    now: ctx.now,
    clock: ctx.clock,
    rate: options.rate,
    guards: opened.guards,
    stopped: () => interrupted,
    onProgress: (n) => progress?.update(n),
    publisher: async () => {
      if (!stateTopicsReady) {
        await ctx.session.ensureStateTopics(ctx.dlqTopic);
        stateTopicsReady = true;
      }
      return ctx.session.publisher();
    },
  });
  stopListening();
  progress?.stop();
  let failure = result.failure;

  if (result.replayed === 0 && !failure && !interrupted) {
    await ctx.out.line(nothingToReplay(ctx.dlqTopic, tally));
    await ctx.out.flush();
    return 0;
  }
  const audit: AuditRecord = {
    type: 'replay',
    run,
    who: by,
    when: new Date(ctx.now).toISOString(),
    dlqTopic: ctx.dlqTopic,
    filter: describeFilter(options.filter),
    count: result.replayed,
    skipped: tally.skipped,
    to: [...tally.targets].join(','),
    reason: options.reason,
    options: {
      maxReplays: options.maxReplays,
      force: options.force === true,
      // what --force replayed that the guards would have skipped
      ...(options.force ? { forced: tally.forced } : {}),
      rate: options.rate ?? null,
      ...(failure ? { error: failure.message } : {}),
      ...(interrupted ? { interrupted: true } : {}),
    },
  };
  try {
    // Interrupted before the first chunk: the audit topic may not exist yet.
    if (!stateTopicsReady) await ctx.session.ensureStateTopics(ctx.dlqTopic);
    const publisher = await ctx.session.publisher();
    await publisher.publish(topics.audit, [auditMessage(audit)]);
  } catch (error) {
    failure ??= error as Error;
  }

  const of = expected === undefined ? '' : ` of ${expected.toLocaleString('en-US')}`;
  if (interrupted && !failure) {
    throw new CommandError(
      `interrupted after ${result.replayed.toLocaleString('en-US')}${of} messages (run ${run}); ` +
        'run the same command again to replay the rest',
    );
  }
  if (failure) {
    throw new CommandError(
      `replay stopped after ${result.replayed.toLocaleString('en-US')}${of} messages: ${failure.message}; ` +
        'run the same command again to replay the rest',
    );
  }
  if (options.json) {
    await ctx.out.line(
      JSON.stringify({
        run,
        replayed: result.replayed,
        skipped: tally.skipped,
        forced: tally.forced,
        alreadyHandled: tally.handled,
        to: [...tally.targets],
        seconds: result.seconds,
      }),
    );
  } else {
    await ctx.out.line(
      `${summaryOf('replayed', tally, result.replayed)} in ${result.seconds.toFixed(1)} s (run ${run})`,
    );
  }
  await ctx.out.flush();
  return 0;
}

interface ReplayFlags extends SharedOptions {
  to?: string;
  dryRun?: boolean;
  rate?: string;
  maxReplays: string;
  force?: boolean;
  yes?: boolean;
  reason?: string;
}

export const replayOptionsFrom = (flags: ReplayFlags, now: number): ReplayOptions & { filter: Filter } => ({
  filter: parseFilter(flags, now),
  to: flags.to === undefined ? undefined : topicName('--to', flags.to),
  dryRun: flags.dryRun,
  rate: flags.rate === undefined ? undefined : positiveInteger('--rate', flags.rate, 1_000_000),
  maxReplays: positiveInteger('--max-replays', flags.maxReplays, 1_000),
  force: flags.force,
  yes: flags.yes,
  json: flags.json,
  reveal: flags.reveal,
  reason: flags.reason,
});

export function replayCommand(deps: CommandDeps): Command {
  return withFilters(
    withTopic(
      new Command('replay').description(
        'publish matching pending messages back to their original topic, operation id unchanged; resumable',
      ),
    ),
  )
    .option('--to <topic>', "publish to this topic instead of each message's original topic")
    .option('--dry-run', 'show what would be replayed or skipped, and change nothing')
    .option('--rate <n>', 'at most n messages per second (default: as fast as the broker takes them)')
    .addOption(
      new Option(
        '--max-replays <n>',
        'refuse to replay an operation that would be replayed more than n times',
      ).default('3'),
    )
    .option(
      '--force',
      'also replay what the guards skip: operations of a person erased later, identifies older than one delivered since',
    )
    .option('-y, --yes', 'do not ask for confirmation (needed when not on a terminal)')
    .option('--reason <text>', 'why, for the audit record')
    .option('--json', 'JSON output (dry run: JSON lines)')
    .option('--reveal', 'dry run: show email addresses')
    .action(async (flags: ReplayFlags) => {
      const ctx = deps.context(flags);
      deps.exit(await runReplay(ctx, replayOptionsFrom(flags, ctx.now)));
    });
}
