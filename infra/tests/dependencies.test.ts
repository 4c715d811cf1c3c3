// Dependencies on their current majors, the same kafkajs everywhere (the project patches
// exactly that version, scripts/patch-dependencies.mjs), and what is installed matches.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { type Doc, readText, repoPath } from './helpers';

const manifests: Doc[] = ['packages', 'services'].flatMap((parent) =>
  readdirSync(repoPath(parent)).map((name) => JSON.parse(readText(parent, name, 'package.json'))),
);
const rangesOf = (dependency: string) =>
  manifests.flatMap((m) => {
    const range = m.dependencies?.[dependency] ?? m.devDependencies?.[dependency];
    return range === undefined ? [] : [{ workspace: m.name, range }];
  });
const installed = (dependency: string) =>
  JSON.parse(readText(path.join('node_modules', dependency, 'package.json'))).version as string;

describe('dependencies', () => {
  it('pin kafkajs exactly to 2.2.4 in every workspace', () => {
    const ranges = rangesOf('kafkajs');
    expect(ranges.length).toBeGreaterThan(5);
    for (const entry of ranges) expect(entry).toEqual({ workspace: entry.workspace, range: '2.2.4' });
  });

  it.each([
    ['commander', 15],
    ['testcontainers', 12],
  ])('use %s %i, installed', (dependency, major) => {
    const ranges = rangesOf(dependency);
    expect(ranges.length).toBeGreaterThan(0);
    for (const entry of ranges) {
      expect(entry).toEqual({
        workspace: entry.workspace,
        range: expect.stringMatching(new RegExp(`^\\^${major}\\.`)),
      });
    }
    expect(installed(dependency).split('.')[0]).toBe(String(major));
  });
});
