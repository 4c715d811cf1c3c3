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
