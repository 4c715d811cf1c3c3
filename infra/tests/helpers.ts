// Shared by the infrastructure checks in infra/tests: paths, YAML, external tools,
// the services' facts (ports), and the metric names the services really export.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

export const repoRoot = path.resolve(__dirname, '../..');
export const repoPath = (...parts: string[]) => path.join(repoRoot, ...parts);
export const readText = (...parts: string[]) => readFileSync(repoPath(...parts), 'utf8');

/** The long-running services and their default ports (design: "Default ports"). */
export const SERVICE_PORTS = {
  producer: 8081,
  'webhook-handler': 8082,
  'insights-processor': 8083,
  'cio-worker': 8084,
  'cio-sandbox': 8090,
} as const;
export type ServiceName = keyof typeof SERVICE_PORTS;
export const SERVICES = Object.keys(SERVICE_PORTS) as ServiceName[];
/** Services whose images run in production (the sandbox is for development only). */
export const PRODUCTION_SERVICES: ServiceName[] = SERVICES.filter((name) => name !== 'cio-sandbox');

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML and JSON are untyped until checked
export type Doc = any;

export function readYaml(...parts: string[]): Doc {
  return parseYaml(readText(...parts));
}

/** Every document of a multi-document YAML file; a syntax error names the file. */
export function readYamlDocuments(...parts: string[]): Doc[] {
  const file = path.join(...parts);
  return parseAllDocuments(readText(...parts))
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]?.message}`);
      return doc.toJS();
    })
    .filter((doc) => doc !== null && doc !== undefined);
}

export interface ToolResult {
  status: number;
  stdout: string;
  stderr: string;
  output: string;
}

/**
 * Runs an external tool that CI installs from Debian's packages. A missing tool fails
 * the test with the command that installs it: these checks must never be skipped.
 */
export function runTool(
  command: string,
  args: string[],
  { cwd = repoRoot, env, input }: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {},
): ToolResult {
  const result = spawnSync(command, args, { cwd, env, input, encoding: 'utf8', timeout: 60_000 });
  if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error(
      `${command} is not installed. CI installs it with: apt-get update && apt-get install -y --no-install-recommends ${DEBIAN_PACKAGES[command] ?? command}`,
    );
  }
  if (result.error) throw result.error;
  const stdout = result.stdout ?? '';
  const stderr = result.stderr ?? '';
  return { status: result.status ?? -1, stdout, stderr, output: `${stdout}${stderr}` };
}

const DEBIAN_PACKAGES: Record<string, string> = {
  promtool: 'prometheus',
  'docker-compose': 'docker-compose',
};

/** A minimal environment for tools, so that the caller's variables cannot change what they see. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8', ...extra };
}

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((entry) => {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) return entry === 'node_modules' ? [] : sourceFiles(full);
    return entry.endsWith('.ts') && !entry.endsWith('.test.ts') ? [full] : [];
  });
}

export interface MetricCatalog {
  /** every series name a scrape can return: counters as named, histograms with _bucket/_sum/_count */
  names: Set<string>;
  has(name: string): boolean;
}

/**
 * The metric names the services and packages register with prom-client, read from their
 * sources (`new Counter({ name: '...' })` and the like), plus prom-client's default
 * process and Node.js metrics and Prometheus's own `up`.
 */
export function metricCatalog(): MetricCatalog {
  const names = new Set<string>(['up']);
  const roots = ['packages', 'services'].flatMap((group) =>
    readdirSync(repoPath(group)).map((name) => repoPath(group, name, 'src')),
  );
  const pattern =
    /new\s+(Counter|Gauge|Histogram|Summary)\s*(?:<[^>]*>)?\s*\(\s*\{[^}]*?name:\s*'([a-zA-Z_:][a-zA-Z0-9_:]*)'/gs;
  for (const file of roots.flatMap(sourceFiles)) {
    for (const match of readFileSync(file, 'utf8').matchAll(pattern)) {
      const [, type, name] = match as unknown as [string, string, string];
      names.add(name);
      if (type === 'Histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
      if (type === 'Summary') for (const suffix of ['_sum', '_count']) names.add(name + suffix);
    }
  }
  const defaults = /^(process_|nodejs_)/;
  return { names, has: (name) => names.has(name) || defaults.test(name) };
}

const PROMQL_WORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'offset',
  'bool',
  'inf',
  'nan',
]);

/** The metric names a PromQL expression reads (functions, labels and keywords left out). */
export function metricsInPromql(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const found = new Set<string>();
  for (const match of stripped.matchAll(/(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const [, name, call] = match as unknown as [string, string, string | undefined];
    if (call || PROMQL_WORDS.has(name.toLowerCase())) continue;
    found.add(name);
  }
  return [...found];
}
