// Environment variable tables, from the configuration schemas: names and defaults from
// the zod schemas themselves, meanings from the doc comment on each schema field.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { httpEnv, kafkaEnv } from '@cio-bridge/config';
import { TOPICS, type TopicKey, topicEnvVariable } from '@cio-bridge/kafka';
import ts from 'typescript';
import type { z } from 'zod';
import { code, table } from './markdown';

type Shape = Record<string, z.ZodType>;

/** `/** ... *\/` comments on UPPER_CASE properties of the .ts files under a folder (tests left out). */
export function fieldComments(folder: string): Map<string, string> {
  const comments = new Map<string, string>();
  for (const file of readdirSync(folder, { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.ts') || file.endsWith('.test.ts') || file.startsWith('testing/')) continue;
    const source = ts.createSourceFile(
      file,
      readFileSync(join(folder, file), 'utf8'),
      ts.ScriptTarget.ES2022,
      true,
    );
    const visit = (node: ts.Node): void => {
      if (
        ts.isPropertyAssignment(node) &&
        ts.isIdentifier(node.name) &&
        /^[A-Z][A-Z0-9_]*$/.test(node.name.text)
      ) {
        const text = ts
          .getJSDocCommentsAndTags(node)
          .map((doc) => ts.getTextOfJSDocComment(doc.comment) ?? '')
          .join(' ')
          .replace(/\s+/g, ' ')
          .trim();
        if (text && !comments.has(node.name.text)) comments.set(node.name.text, text);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return comments;
}

/** The value a variable takes when unset, as written in the environment; undefined: none. */
export function defaultOf(schema: z.ZodType): string | undefined {
  const def = (schema as unknown as { _zod: { def: Record<string, unknown> & { type: string } } })._zod.def;
  if (def.type === 'default' || def.type === 'prefault') {
    const value = def.defaultValue;
    return Array.isArray(value) ? value.join(',') : String(value);
  }
  if (def.type === 'pipe') return defaultOf(def.in as z.ZodType);
  return undefined;
}

const describeDefault = (schema: z.ZodType): string => {
  const value = defaultOf(schema);
  if (value !== undefined) return code(value);
  return schema.safeParse(undefined).success ? 'unset' : 'required';
};

/**
 * variable | default | meaning, for the given variables of a schema's shape. A variable
 * without a doc comment on its field is an error naming it and where to add one.
 */
export function envTable(
  shape: Shape,
  names: string[],
  comments: Map<string, string>[],
  where: string,
): string {
  const meaningOf = (name: string) => comments.map((map) => map.get(name)).find((text) => text !== undefined);
  const undescribed = names.filter((name) => meaningOf(name) === undefined);
  if (undescribed.length > 0)
    throw new Error(
      `${undescribed.join(', ')}: no description; add a /** comment */ on each field in ${where}`,
    );
  const rows = names.map((name) => [code(name), describeDefault(shape[name]!), meaningOf(name)!]);
  return table(['variable', 'default', 'meaning'], rows);
}

/** Variables every service (and cio-dlq) shares: Kafka, HTTP, topic names. */
export const SHARED_VARIABLES = [...Object.keys(kafkaEnv), ...Object.keys(httpEnv)];

export function sharedEnvTable(root: string): string {
  const comments = [fieldComments(join(root, 'packages/config/src'))];
  const shape = { ...kafkaEnv, ...httpEnv } as Shape;
  const topics = (Object.keys(TOPICS) as TopicKey[]).map((role) => [
    code(topicEnvVariable(role)),
    code(TOPICS[role].name),
    "this topic's name, e.g. for several environments on one cluster",
  ]);
  const base = envTable(shape, SHARED_VARIABLES, comments, 'packages/config/src');
  return `${base}\n${topics.map((row) => `| ${row.join(' | ')} |`).join('\n')}`;
}

/**
 * One service's own variables (those not shared), from its schema; meanings from the
 * service's sources first, then packages/config's.
 */
export function serviceEnvTable(root: string, service: string, schema: z.ZodObject): string {
  const shape = schema.shape as Shape;
  const comments = [
    fieldComments(join(root, 'services', service, 'src')),
    fieldComments(join(root, 'packages/config/src')),
  ];
  const own = Object.keys(shape).filter((name) => !SHARED_VARIABLES.includes(name));
  return envTable(shape, own, comments, `services/${service}/src (or packages/config/src)`);
}
