// The project documents itself: every Markdown file in the repository links only to
// files that exist inside it, and none points at anything outside the repository.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { readText, repoRoot } from './helpers';

const markdownFiles = execFileSync(
  'git',
  ['ls-files', '--cached', '--others', '--exclude-standard', '*.md'],
  {
    cwd: repoRoot,
    encoding: 'utf8',
  },
)
  .split('\n')
  .filter((file) => file !== '' && !file.includes('node_modules/') && existsSync(path.join(repoRoot, file)));

/** Relative link targets of a Markdown text (`[text](target)`), without anchors. */
function relativeLinks(markdown: string): string[] {
  const links: string[] = [];
  for (const match of markdown.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    const target = match[1] ?? '';
    if (/^[a-z]+:/i.test(target) || target.startsWith('#')) continue;
    links.push(target.split('#')[0] ?? '');
  }
  return links.filter(Boolean);
}

describe('documentation', () => {
  it('finds the Markdown files, docs/ among them', () => {
    expect(markdownFiles).toContain('README.md');
    expect(markdownFiles).toEqual(
      expect.arrayContaining(['docs/architecture.md', 'docs/contracts.md', 'docs/production.md']),
    );
  });

  it('reads links the way a Markdown renderer does', () => {
    expect(relativeLinks('[a](docs/x.md) [b](https://e.com) [c](#h) [d](../y.md#z "t")')).toEqual([
      'docs/x.md',
      '../y.md',
    ]);
  });

  it.each(markdownFiles)('%s mentions nothing outside the repository', (file) => {
    expect(readText(file)).not.toMatch(/\.\.\/shared|\/work\/|shared\/design/);
  });

  it.each(markdownFiles)('%s links only to files inside the repository that exist', (file) => {
    const broken = relativeLinks(readText(file)).filter((target) => {
      const resolved = path.resolve(repoRoot, path.dirname(file), target);
      return !resolved.startsWith(`${repoRoot}${path.sep}`) || !existsSync(resolved);
    });
    expect(broken).toEqual([]);
  });

  it('the README and every service README link to docs/', () => {
    const readmes = markdownFiles.filter(
      (file) => file === 'README.md' || /^services\/[^/]+\/README\.md$/.test(file),
    );
    const withoutDocs = readmes.filter((file) => !/\(((\.\.\/)*)docs\//.test(readText(file)));
    expect(withoutDocs).toEqual([]);
  });
});
