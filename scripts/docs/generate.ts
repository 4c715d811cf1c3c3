// `npm run docs`: rewrites every generated section of the docs from the code that owns
// it. docs.test.ts fails when a committed section differs from what this produces.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cliEnvSchema } from '@cio-bridge/cio-dlq/context';
import { workerEnv } from '@cio-bridge/cio-worker/config';
import { insightsEnv } from '@cio-bridge/insights-processor/config';
import { producerEnv } from '@cio-bridge/producer/config';
import { webhookEnv } from '@cio-bridge/webhook-handler/config';
import type { z } from 'zod';
import { cliCommandsTable } from './cli';
import { actionsLine, errorClassesLine } from './contracts';
import { serviceEnvTable, sharedEnvTable } from './env';
import { replaceSection } from './markdown';
import { metricsTable } from './metrics';
import { aclTable, contractsTable, provisioningTable } from './topics';

export const ROOT = resolve(__dirname, '../..');

type Sections = Record<string, () => string | Promise<string>>;

const SERVICE_SCHEMAS: Record<string, z.ZodObject> = {
  producer: producerEnv,
  'cio-worker': workerEnv,
  'webhook-handler': webhookEnv,
  'insights-processor': insightsEnv,
  'cio-dlq': cliEnvSchema,
};

const serviceEnv = (service: string) => () => serviceEnvTable(ROOT, service, SERVICE_SCHEMAS[service]!);

/** Each file and its generated sections (by marker name). */
export const GENERATED: Record<string, Sections> = {
  'README.md': { shared: () => sharedEnvTable(ROOT) },
  'docs/metrics.md': { metrics: metricsTable },
  'docs/production.md': { topics: provisioningTable, acl: aclTable },
  'docs/contracts.md': { topics: contractsTable, 'error-classes': errorClassesLine, actions: actionsLine },
  'docs/commands.md': { 'cio-dlq': cliCommandsTable },
  'docs/configuration.md': {
    shared: () => sharedEnvTable(ROOT),
    ...Object.fromEntries(Object.keys(SERVICE_SCHEMAS).map((service) => [service, serviceEnv(service)])),
  },
  ...Object.fromEntries(
    Object.keys(SERVICE_SCHEMAS).map((service) => [
      `services/${service}/README.md`,
      { env: serviceEnv(service) },
    ]),
  ),
};

/** A file's content with every generated section as the code has it now. */
export async function render(file: string): Promise<string> {
  let markdown = readFileSync(join(ROOT, file), 'utf8');
  for (const [name, section] of Object.entries(GENERATED[file]!))
    markdown = replaceSection(markdown, name, await section(), file);
  return markdown;
}

export async function main(): Promise<void> {
  for (const file of Object.keys(GENERATED)) {
    const markdown = await render(file);
    if (markdown !== readFileSync(join(ROOT, file), 'utf8')) {
      writeFileSync(join(ROOT, file), markdown);
      process.stdout.write(`updated ${file}\n`);
    }
  }
}
