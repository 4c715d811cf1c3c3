import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GENERATED, ROOT, render } from './generate';
import { replaceSection } from './markdown';

jest.setTimeout(30_000);

describe('generated docs', () => {
  it.each(Object.keys(GENERATED))(
    '%s matches the code (run `npm run docs` after changing it)',
    async (file) => {
      expect(readFileSync(join(ROOT, file), 'utf8')).toBe(await render(file));
    },
  );
});

describe('replaceSection', () => {
  const begin = '<!-- generated:x (npm run docs; do not edit by hand) -->';
  it('replaces only what lies between the markers', () => {
    const markdown = `before\n${begin}\nold\n<!-- /generated:x -->\nafter\n`;
    expect(replaceSection(markdown, 'x', 'new', 'a.md')).toBe(
      `before\n${begin}\nnew\n<!-- /generated:x -->\nafter\n`,
    );
  });
  it('names a section whose markers are missing', () => {
    expect(() => replaceSection('no markers', 'x', 'new', 'a.md')).toThrow(
      'a.md: the markers of the generated section "x" are missing',
    );
  });
});

describe('metric sources', () => {
  // Every metric name written in shipped code must come from a factory the metrics table
  // reads; a metric created anywhere else would be missing from docs/metrics.md.
  it('the metrics table lists every metric the services define', () => {
    const { execFileSync } = require('node:child_process') as typeof import('node:child_process');
    const files = execFileSync(
      'git',
      [
        'ls-files',
        'packages/*/src/*.ts',
        'packages/*/src/**/*.ts',
        'services/*/src/*.ts',
        'services/*/src/**/*.ts',
      ],
      {
        cwd: ROOT,
        encoding: 'utf8',
      },
    )
      .split('\n')
      .filter(
        (file) => file && !/\.test\.ts$|\/testing\//.test(file) && !file.startsWith('packages/testkit/'),
      );
    const defined = new Set<string>();
    for (const file of files) {
      for (const match of readFileSync(join(ROOT, file), 'utf8').matchAll(/name: '(cio_bridge_[a-z0-9_]+)'/g))
        defined.add(match[1] as string);
    }
    const documented = readFileSync(join(ROOT, 'docs/metrics.md'), 'utf8');
    const missing = [...defined].filter((name) => !documented.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });
});
