import type { Command } from 'commander';
import { ERROR_CLASSES } from '../dlq-entry';
import { UsageError } from '../errors';
import type { FilterOptions } from '../filter';
import { ACTIONS } from '../operation';
import type { CommandContext } from './io';

const TOPIC_PATTERN = /^[a-zA-Z0-9._-]{1,249}$/;

/** A Kafka topic name as typed; a UsageError naming the option otherwise. */
export function topicName(option: string, value: string): string {
  if (!TOPIC_PATTERN.test(value))
    throw new UsageError(`${option} must be a Kafka topic name; got "${value}"`);
  return value;
}

/** The options every command that reads the dead-letter topic takes. */
export interface TopicOptions {
  dlqTopic?: string;
}

export interface SharedOptions extends TopicOptions, FilterOptions {
  json?: boolean;
  reveal?: boolean;
  all?: boolean;
}

/** What each command's factory gets from cli.ts: its context, and where its exit code goes. */
export interface CommandDeps {
  context(options: TopicOptions): CommandContext;
  exit(code: number): void;
}

export const withTopic = (command: Command) =>
  command.option(
    '--dlq-topic <topic>',
    'the dead-letter topic (default: $KAFKA_TOPIC_DLQ, else customerio.dlq); any topic of dead-letter-shaped messages',
  );

export const withFilters = (command: Command) =>
  command
    .option('--action <actions>', `only these actions, comma-separated (${ACTIONS.join(', ')})`)
    .option('--entity <entities>', 'only operations on these: person, object, anonymous; comma-separated')
    .option('--event <names>', 'only events with these names, comma-separated')
    .option(
      '--error-class <classes>',
      `only these error classes, comma-separated (${ERROR_CLASSES.join(', ')})`,
    )
    .option(
      '--status <statuses>',
      'only these HTTP statuses: 400, a class such as 5xx, or none; comma-separated',
    )
    .option('--customer <identifier>', 'only this person: the message key or an id, email or cio_id')
    .option('--since <time>', 'dead-lettered at or after: an ISO time, or a duration ago such as 30m, 2h, 7d')
    .option('--until <time>', 'dead-lettered before: an ISO time, or a duration ago')
    .option('--limit <n>', 'at most n messages (the oldest first)');
