#!/usr/bin/env node
// npm run pack -- --out DIR
// Builds the public workspaces (those without "private": true: the SDK, the schemas,
// the contracts and the libraries they need at run time) and writes one installable
// tarball per package into DIR, the files `npm publish` would upload (each carries the
// repository's LICENSE, lent by the package's prepack script). Prints one path per line.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');

function fail(message) {
  console.error(`pack: ${message}`);
  process.exit(1);
}

function outDir(argv) {
  const at = argv.indexOf('--out');
  const dir = at === -1 ? undefined : argv[at + 1];
  if (!dir || dir.startsWith('--')) fail('--out DIR is required (where to write the tarballs)');
  return resolve(dir);
}

/** Every workspace's directory and manifest. */
export function workspaces() {
  const { workspaces: globs } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  return globs.flatMap((glob) => {
    const parent = join(root, glob.replace(/\/\*$/, ''));
    return readdirSync(parent)
      .map((name) => join(parent, name))
      .filter((dir) => existsSync(join(dir, 'package.json')))
      .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) }));
  });
}

/** The public workspaces; fails when one needs a private one at run time. */
export function publicWorkspaces() {
  const all = workspaces();
  const privateNames = new Set(all.filter((w) => w.manifest.private).map((w) => w.manifest.name));
  const published = all.filter((w) => !w.manifest.private);
  for (const { manifest } of published) {
    const needed = Object.keys(manifest.dependencies ?? {}).filter((name) => privateNames.has(name));
    if (needed.length > 0)
      fail(`${manifest.name} is public but needs private ${needed.join(', ')} at run time`);
  }
  return published;
}

function run(command, args, cwd) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (result.status !== 0) fail(`${command} ${args.join(' ')} failed in ${cwd}`);
  return result.stdout;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = outDir(process.argv.slice(2));
  const packages = publicWorkspaces();
  const turbo = join(root, 'node_modules', '.bin', 'turbo');
  const filters = packages.map((p) => `--filter=${p.manifest.name}`);
  run(turbo, ['run', 'build', '--output-logs=errors-only', ...filters], root);
  mkdirSync(out, { recursive: true });
  for (const { dir } of packages) {
    // Each package's prepack/postpack lends it the root LICENSE (also for npm publish).
    const [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', out], dir));
    console.log(join(out, packed.filename));
  }
}
