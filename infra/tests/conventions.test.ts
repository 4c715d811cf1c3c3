// The conventions every workspace follows, checked on the sources so that a new file
// cannot drift from them unnoticed:
// - test support lives in `src/testing/` of its package, which the build leaves out and
//   shipped code never imports;
// - metrics are defined by `createXMetrics(registry)` in a `metrics.ts`, with the type
//   `XMetrics = ReturnType<typeof createXMetrics>`;
// - ULIDs come from the `ulid` package, sleeps from `node:timers/promises`;
// - a service's main.ts leaves configuration, logger, tracing, the Kafka client and its
//   topics to the shared start-up (`runService` of @cio-bridge/service-main).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { repoPath } from './helpers';

const WORKSPACES = ['packages', 'services']
  .flatMap((group) => readdirSync(repoPath(group)).map((name) => `${group}/${name}`))
  .filter((dir) => existsSync(repoPath(dir, 'package.json')));

function filesUnder(dir: string, extensions: string[]): string[] {
  if (!existsSync(repoPath(dir))) return [];
  return readdirSync(repoPath(dir)).flatMap((entry) => {
    const relative = `${dir}/${entry}`;
    if (statSync(repoPath(relative)).isDirectory())
      return ['node_modules', 'dist', '.cache'].includes(entry) ? [] : filesUnder(relative, extensions);
    return extensions.some((extension) => entry.endsWith(extension)) ? [relative] : [];
  });
}

const isTest = (file: string) => /\.test\.ts$/.test(file);
const isTestSupport = (file: string) => /\/src\/testing\//.test(file);
/** Source files that are built and shipped: neither tests nor test support. */
const shippedSources = WORKSPACES.flatMap((dir) => filesUnder(`${dir}/src`, ['.ts'])).filter(
  (file) => !isTest(file) && !isTestSupport(file),
);
/** Every script the project runs, its tests and benchmarks included. */
const everyScript = [...WORKSPACES.map((dir) => `${dir}/src`), 'scripts', 'bench', 'infra'].flatMap((dir) =>
  filesUnder(dir, ['.ts', '.mjs', '.js']),
);

const read = (file: string) => readFileSync(repoPath(file), 'utf8');
const importsOf = (file: string) =>
  [...read(file).matchAll(/(?:from|import|require)\s*\(?\s*'([^']+)'/g)].map((m) => m[1] ?? '');

describe('test support', () => {
  it.each(WORKSPACES)('%s leaves tests and src/testing/ out of its build', (dir) => {
    const build = JSON.parse(read(`${dir}/tsconfig.build.json`)) as { exclude?: string[] };
    expect(build.exclude).toEqual(expect.arrayContaining(['src/**/*.test.ts', 'src/testing/**']));
  });

  it('is imported by no shipped source', () => {
    const offenders = shippedSources.filter((file) =>
      importsOf(file).some((spec) => /(^|\/)testing(\/|$)/.test(spec) || spec === '@cio-bridge/testkit'),
    );
    expect(offenders).toEqual([]);
  });

  it('lives in src/testing/: no shipped source is made of test fakes or harnesses', () => {
    const looksLikeTestSupport = shippedSources.filter(
      (file) =>
        /(test-helpers|test-support|integration-harness|harness)/.test(file) ||
        /For unit tests|for tests only/i.test(read(file)),
    );
    expect(looksLikeTestSupport).toEqual([]);
  });
});

describe('metrics', () => {
  const defining = shippedSources.filter(
    (file) =>
      importsOf(file).includes('prom-client') && /new\s+(Counter|Gauge|Histogram|Summary)\b/.test(read(file)),
  );

  it('are found', () => {
    expect(defining.length).toBeGreaterThan(2);
  });

  it.each(defining)('%s defines them as createXMetrics(registry) with its XMetrics type', (file) => {
    expect(path.basename(file)).toBe('metrics.ts');
    const text = read(file);
    const factory = /export function create(\w+)Metrics\(registry: Registry\)/.exec(text);
    expect(factory).not.toBeNull();
    const name = factory?.[1] ?? '';
    expect(text).toContain(`export type ${name}Metrics = ReturnType<typeof create${name}Metrics>;`);
  });
});

describe('one implementation', () => {
  it('of ULIDs: the ulid package (no hand-written Crockford base32)', () => {
    const alphabet = ['0123456789', 'ABCDEFGHJKMNPQRSTVWXYZ'].join(''); // split: not to find itself
    expect(everyScript.filter((file) => read(file).includes(alphabet))).toEqual([]);
  });

  it('of sleeps: setTimeout of node:timers/promises (no promise around a timer)', () => {
    const handWritten = everyScript.filter((file) =>
      /new Promise\s*(<[^>]*>)?\(\s*\(?\s*(\w+)\s*\)?\s*=>\s*\(?\s*(\w+\s*=\s*)?setTimeout\(\s*\2\s*,/.test(
        read(file),
      ),
    );
    expect(handWritten).toEqual([]);
  });
});

describe('start-up', () => {
  // The services that talk to Kafka (cio-dlq is a command line, the sandbox has no Kafka).
  const mains = [
    'services/producer',
    'services/webhook-handler',
    'services/insights-processor',
    'services/cio-worker',
  ]
    .filter((dir) => WORKSPACES.includes(dir))
    .map((dir) => `${dir}/src/main.ts`);

  it.each(mains)('%s leaves config, logger, tracing, Kafka client and topics to runService', (file) => {
    const text = read(file);
    expect(text).toContain('runService(');
    for (const repeated of [
      'loadConfig(',
      'createLogger(',
      'startTracing(',
      'createKafka(',
      'ensureTopics(',
    ]) {
      expect(text).not.toContain(repeated);
    }
  });
});
