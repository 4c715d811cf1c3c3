import { headersToStrings } from '@cio-bridge/kafka';
import { Command } from 'commander';
import { readEntry } from '../dlq-entry';
import { CommandError, UsageError } from '../errors';
import { maskEmails, maskValue } from '../mask';
import { formatAge } from '../time';
import type { CommandContext } from './io';
import { type CommandDeps, type SharedOptions, withTopic } from './options';
import { openDlq } from './scan';

export interface ShowOptions {
  json?: boolean;
  reveal?: boolean;
}

/** `<partition>:<offset>` as typed; a UsageError otherwise. */
export function parseCoordinate(value: string): { partition: number; offset: string } {
  const match = /^(\d{1,9}):(\d{1,19})$/.exec(value.trim());
  if (!match) throw new UsageError(`message must be <partition>:<offset>, such as 2:1045; got "${value}"`);
  return { partition: Number(match[1]), offset: BigInt(match[2]!).toString() };
}

/** The whole message: key, every header, the value, and what cio-dlq did with it. */
export async function runShow(
  ctx: CommandContext,
  coordinate: string,
  options: ShowOptions,
): Promise<number> {
  const { partition, offset } = parseCoordinate(coordinate);
  const reader = await ctx.session.topicReader();
  const state = await openDlq(reader, ctx.dlqTopic, ctx.session.stateTopics(ctx.dlqTopic).state);
  const raw = await reader.readOne(ctx.dlqTopic, partition, offset);
  if (!raw) {
    const range = (await reader.ranges(ctx.dlqTopic)).find((r) => r.partition === partition);
    const where = !range
      ? `the topic has no partition ${partition}`
      : range.low === range.high
        ? `partition ${partition} is empty`
        : `partition ${partition} holds offsets ${range.low} to ${BigInt(range.high) - 1n}`;
    throw new CommandError(`no message ${partition}:${offset} in ${ctx.dlqTopic} (${where})`);
  }
  const entry = readEntry(raw);
  const handled = state.get(entry.partition, entry.offset);
  const reveal = options.reveal === true;
  const text = (value: string) => (reveal ? value : maskEmails(value));
  const headers = Object.fromEntries(
    Object.entries(headersToStrings(raw.headers)).map(([k, v]) => [k, text(v)]),
  );
  const valueText = raw.value === null ? null : raw.value.toString('utf8');
  const value =
    entry.operation.json !== undefined
      ? reveal
        ? entry.operation.json
        : maskValue(entry.operation.json)
      : valueText === null
        ? null
        : text(valueText);
  const stateText = handled
    ? `${handled.status} by ${handled.last.by} at ${handled.last.at} (run ${handled.last.run}${handled.last.to ? `, to ${handled.last.to}` : ''})`
    : 'pending';

  if (options.json) {
    await ctx.out.line(
      JSON.stringify({
        topic: ctx.dlqTopic,
        partition,
        offset,
        timestamp: new Date(entry.time).toISOString(),
        key: entry.key === null ? null : text(entry.key),
        headers,
        value,
        state: handled
          ? {
              status: handled.status,
              replays: handled.replays,
              by: handled.last.by,
              at: handled.last.at,
              run: handled.last.run,
              to: handled.last.to ?? null,
            }
          : { status: 'pending' },
      }),
    );
  } else {
    await ctx.out.line(`message:       ${ctx.dlqTopic} ${entry.coordinate}`);
    await ctx.out.line(
      `dead-lettered: ${new Date(entry.time).toISOString()} (${formatAge(ctx.now - entry.time)} ago)`,
    );
    await ctx.out.line(`state:         ${stateText}`);
    await ctx.out.line(`key:           ${entry.key === null ? '(none)' : text(entry.key)}`);
    await ctx.out.line('headers:');
    const width = Math.max(0, ...Object.keys(headers).map((k) => k.length));
    for (const [name, v] of Object.entries(headers)) await ctx.out.line(`  ${name.padEnd(width)}  ${v}`);
    await ctx.out.line('value:');
    await ctx.out.line(
      typeof value === 'string' || value === null ? String(value) : JSON.stringify(value, null, 2),
    );
    if (entry.operation.problem) await ctx.out.line(`note: ${entry.operation.problem}`);
  }
  await ctx.out.flush();
  return 0;
}

export function showCommand(deps: CommandDeps): Command {
  return withTopic(
    new Command('show')
      .description('one message with its key, every header and its value')
      .argument('<partition:offset>', 'the message, as list prints it, such as 2:1045'),
  )
    .option('--json', 'one JSON object')
    .option('--reveal', 'show email addresses and personal attributes (masked by default)')
    .action(async (coordinate: string, options: SharedOptions) => {
      const ctx = deps.context(options);
      deps.exit(await runShow(ctx, coordinate, { json: options.json, reveal: options.reveal }));
    });
}
