// One naming scheme for every metric the services register (docs/metrics.md):
// cio_bridge_<component>_<what>_<base unit>, `_total` for counters and only for them,
// base units, and no label that repeats what Prometheus's target labels already say.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { repoPath } from './helpers';

const COMPONENTS = ['producer', 'worker', 'webhook', 'insights', 'dlq', 'http'];
const TARGET_LABELS = ['service', 'job', 'instance', 'namespace', 'app', 'pod', 'component'];

interface Registered {
  file: string;
  type: string;
  name: string;
  labels: string[];
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory())
      return entry === 'node_modules' || entry === 'dist' ? [] : sources(full);
    return entry.endsWith('.ts') && !entry.endsWith('.test.ts') ? [full] : [];
  });
}

const registered: Registered[] = ['packages', 'services']
  .flatMap((group) => readdirSync(repoPath(group)).map((name) => repoPath(group, name, 'src')))
  .flatMap((dir) => {
    try {
      return sources(dir);
    } catch {
      return [];
    }
  })
  .flatMap((file) =>
    [
      ...readFileSync(file, 'utf8').matchAll(
        /new\s+(Counter|Gauge|Histogram|Summary)\s*(?:<[^>]*>)?\s*\(\s*\{([^}]*?)\}\s*\)/gs,
      ),
    ].map((match) => {
      const body = match[2] ?? '';
      const labels = /labelNames:\s*\[([^\]]*)\]/.exec(body)?.[1] ?? '';
      return {
        file: path.relative(repoPath(), file),
        type: match[1] ?? '',
        name: /name:\s*'([^']+)'/.exec(body)?.[1] ?? '',
        labels: [...labels.matchAll(/'([^']+)'/g)].map((m) => m[1] ?? ''),
      };
    }),
  );

describe('metric names', () => {
  it('finds the metrics of every service', () => {
    const components = new Set(registered.map((m) => m.name.split('_')[2]));
    expect([...components].sort()).toEqual(
      expect.arrayContaining(['http', 'insights', 'producer', 'webhook', 'worker']),
    );
    expect(registered.every((m) => m.name !== '')).toBe(true);
  });

  it.each(registered.map((m) => [m.name, m] as const))(
    '%s follows cio_bridge_<component>_<what>_<unit>',
    (_name, m) => {
      expect(m.name).toMatch(new RegExp(`^cio_bridge_(${COMPONENTS.join('|')})_[a-z][a-z0-9_]*[a-z0-9]$`));
      if (m.type === 'Counter') expect(m.name).toMatch(/_total$/);
      else expect(m.name).not.toMatch(/_total$/);
      // base units only: seconds and bytes, never milliseconds, kilobytes, minutes
      expect(m.name).not.toMatch(
        /_(ms|milliseconds|microseconds|minutes|hours|kb|kilobytes|mb|megabytes|percent)(_|$)/,
      );
      if (m.type === 'Histogram' && /duration|latency|wait|time/.test(m.name))
        expect(m.name).toMatch(/_seconds$/);
    },
  );

  it.each(registered.map((m) => [m.name, m] as const))(
    '%s has no label that repeats a target label',
    (_name, m) => {
      expect(m.labels.filter((label) => TARGET_LABELS.includes(label))).toEqual([]);
    },
  );

  it('are unique', () => {
    const names = registered.map((m) => m.name);
    expect(names.length).toBe(new Set(names).size);
  });

  it('the registry adds no default labels', () => {
    expect(readFileSync(repoPath('packages', 'http', 'src', 'metrics.ts'), 'utf8')).not.toMatch(
      /setDefaultLabels/,
    );
  });
});
