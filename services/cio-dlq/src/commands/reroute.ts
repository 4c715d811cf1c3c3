import { createHash } from 'node:crypto';
import { headerString, type OutgoingMessage } from '@cio-bridge/kafka';
import type { RouteTopics } from '@cio-bridge/webhook-handler/route';
import { Command } from 'commander';
import { CommandError, UsageError } from '../errors';
import { positiveInteger } from '../filter';
import { TopicNotFoundError } from '../kafka/topic-reader';
import type { CommandContext } from './io';
import type { CommandDeps } from './options';

// The webhook-handler's routing brings its JSON schemas (and ajv): loaded only when
// reroute runs, so the other commands stay small.
type Route = typeof import('@cio-bridge/webhook-handler/route');
const loadRoute = (): Promise<Route> => import('@cio-bridge/webhook-handler/route');

export interface RerouteOptions {
  dryRun?: boolean;
  yes?: boolean;
  limit?: number;
  json?: boolean;
}

type Decision =
  | { coordinate: string; outcome: 'routed'; messages: { topic: string; message: OutgoingMessage }[] }
  | { coordinate: string; outcome: 'still_invalid'; reason: string };

/**
 * What the webhook-handler deployed with today's schemas makes of one quarantined
 * webhook: the handler's own routing (`routeWebhook`), so classification has one owner.
 * The message holds the body as received and the signed X-CIO-Timestamp, which is the
 * prediction's as_of. Suppress operations are not derived again (the handler's
 * WEBHOOK_SUPPRESS_ON_BOUNCE decides those, for bodies it could read).
 */
function decide(
  message: {
    partition: number;
    offset: string;
    timestamp: string;
    key: Buffer | null;
    value: Buffer | null;
    headers: Parameters<typeof headerString>[0];
  },
  topics: RouteTopics,
  { parseBody, QUARANTINE_HEADERS, routeWebhook }: Route,
): Decision {
  const coordinate = `${message.partition}:${message.offset}`;
  const raw = message.value ?? Buffer.alloc(0);
  const timestampHeader = headerString(message.headers, QUARANTINE_HEADERS.timestamp) ?? '';
  const timestamp = Number(timestampHeader);
  if (!/^\d+$/.test(timestampHeader))
    return { coordinate, outcome: 'still_invalid', reason: `no ${QUARANTINE_HEADERS.timestamp} header` };
  const receivedAt = Date.parse(headerString(message.headers, QUARANTINE_HEADERS.receivedAt) ?? '');
  const body = parseBody(raw);
  if (body === undefined) return { coordinate, outcome: 'still_invalid', reason: 'the body is not JSON' };
  const { classification, messages } = routeWebhook(
    {
      raw,
      id: message.key?.toString() || createHash('sha256').update(raw).digest('hex'),
      timestamp,
      headers: {
        timestamp: timestampHeader,
        signature: headerString(message.headers, QUARANTINE_HEADERS.signature) ?? '',
      },
      receivedAtMs: Number.isFinite(receivedAt) ? receivedAt : Number(message.timestamp),
    },
    body,
    topics,
  );
  if (classification.kind === 'quarantine')
    return { coordinate, outcome: 'still_invalid', reason: classification.reason };
  return {
    coordinate,
    outcome: 'routed',
    messages: messages.map(({ topic, message: m }) => ({ topic, message: m })),
  };
}

/**
 * `cio-dlq reroute`: pushes quarantined webhooks through the webhook-handler's
 * classification again, once the schema that refused them is fixed and deployed. What
 * now passes goes to its topic (customerio.predictions, customerio.reporting); what
 * still fails stays, with its reason. Running it twice is harmless: predictions merge
 * idempotently and reporting events are stored once per event id. Purge what was
 * re-routed with `cio-dlq purge --dlq-topic <quarantine topic>`.
 */
export async function runReroute(
  ctx: CommandContext,
  topic: string,
  options: RerouteOptions,
): Promise<number> {
  if (!options.dryRun && !options.yes && !ctx.interactive)
    throw new UsageError(
      'reroute publishes webhooks again: pass --yes when not on a terminal (--dry-run shows them)',
    );
  const reader = await ctx.session.topicReader();
  if (!(await reader.exists(topic))) throw new TopicNotFoundError(topic);
  const topics = ctx.session.config.topics;
  const route = await loadRoute();
  const decisions: Decision[] = [];
  for await (const message of reader.read(topic)) {
    decisions.push(decide(message, topics, route));
    if (options.limit !== undefined && decisions.length >= options.limit) break;
  }
  const routed = decisions.filter((d) => d.outcome === 'routed');
  const invalid = decisions.length - routed.length;
  for (const d of decisions) {
    const line =
      d.outcome === 'routed'
        ? { coordinate: d.coordinate, outcome: d.outcome, topics: d.messages.map((m) => m.topic) }
        : { coordinate: d.coordinate, outcome: d.outcome, reason: d.reason };
    ctx.out.push(
      options.json
        ? JSON.stringify(line)
        : `${line.coordinate}\t${d.outcome === 'routed' ? `-> ${line.topics?.join(', ')}` : `still invalid: ${line.reason}`}`,
    );
    await ctx.out.flushIfFull();
  }
  await ctx.out.flush();
  const summary = `${routed.length} of ${decisions.length} quarantined webhook${decisions.length === 1 ? '' : 's'} in ${topic} pass validation now; ${invalid} still fail`;
  if (options.dryRun || routed.length === 0) {
    ctx.stderr.write(`${options.dryRun ? 'dry run: ' : ''}${summary}. Nothing was published.\n`);
    return 0;
  }
  if (!options.yes && !(await ctx.confirm(`${summary}. Publish the ${routed.length} to their topics?`)))
    throw new CommandError('reroute declined: nothing was published');
  const publisher = await ctx.session.publisher();
  const byTopic = new Map<string, OutgoingMessage[]>();
  for (const d of routed)
    for (const { topic: target, message } of d.messages)
      byTopic.set(target, [...(byTopic.get(target) ?? []), message]);
  await Promise.all([...byTopic].map(([target, messages]) => publisher.publish(target, messages)));
  ctx.stderr.write(
    `re-routed ${routed.length} webhook${routed.length === 1 ? '' : 's'}; ${invalid} still fail validation and stay in ${topic}\n`,
  );
  return 0;
}

/** `cio-dlq reroute`; the topic defaults to the quarantine topic (KAFKA_TOPIC_QUARANTINE). */
export function rerouteCommand(deps: CommandDeps): Command {
  return new Command('reroute')
    .description(
      "push quarantined webhooks through the webhook-handler's validation again and publish those that pass to their topics",
    )
    .option(
      '--dlq-topic <topic>',
      'the quarantine topic (default: $KAFKA_TOPIC_QUARANTINE, else customerio.webhooks.quarantine)',
    )
    .option('--dry-run', 'show where each would go, and publish nothing')
    .option('--limit <n>', 'at most n messages (the oldest first)')
    .option('-y, --yes', 'do not ask for confirmation (needed when not on a terminal)')
    .option('--json', 'JSON lines')
    .action(async (options: RerouteOptions & { dlqTopic?: string; limit?: string }) => {
      const ctx = deps.context(options);
      const topic = options.dlqTopic ?? ctx.session.config.topics.quarantine;
      deps.exit(
        await runReroute(ctx, topic, {
          dryRun: options.dryRun,
          yes: options.yes,
          json: options.json,
          limit:
            options.limit === undefined ? undefined : positiveInteger('--limit', options.limit, 1_000_000),
        }),
      );
    });
}
