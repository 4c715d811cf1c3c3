import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

// The worker's modules as a graph of their relative imports (type-only ones too: a cycle
// of types is still two modules that cannot be read one without the other).
const root = __dirname;

function shippedFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'testing' ? [] : shippedFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

function importsOf(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  return [...source.matchAll(/from\s+'(\.{1,2}\/[^']+)'/g)].map((match) =>
    relative(root, join(dirname(file), `${match[1]}.ts`)),
  );
}

const graph = new Map(shippedFiles(root).map((file) => [relative(root, file), importsOf(file)]));

/** Every cycle found by a depth-first walk, as the files along it. */
function cycles(): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') found.push([...path.slice(path.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return found;
}

describe("cio-worker's module structure", () => {
  it('has no import cycle', () => {
    expect(graph.size).toBeGreaterThan(20);
    expect(cycles()).toEqual([]);
  });

  it('never imports test support from shipped code', () => {
    const offenders = [...graph].filter(([, imports]) => imports.some((path) => path.startsWith('testing/')));
    expect(offenders.map(([file]) => file)).toEqual([]);
  });

  it('keeps only the composition root and shared vocabulary outside the concept folders', () => {
    const loose = [...graph.keys()].filter((file) => !file.includes('/')).sort();
    expect(loose).toEqual([
      'config.ts',
      'errors.ts',
      'heap-settings.ts',
      'index.ts',
      'main.ts',
      'metrics.ts',
      'settings.ts',
      'worker.ts',
    ]);
  });
});
