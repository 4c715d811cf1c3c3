#!/usr/bin/env node
// The release version: every workspace shares one (the changesets `fixed` group), and
// it is the tag of the images.
//   node scripts/release.mjs version   prints it (fails when the workspaces disagree)
//   node scripts/release.mjs retag     points the Kubernetes manifests (infra/k8s and
//                                      infra/k8s-overlays) at the images of
//                                      that version (npm run release:version runs it
//                                      after `changeset version`)
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');

function fail(message) {
  console.error(`release: ${message}`);
  process.exit(1);
}

/** The one version of every workspace. */
export function releaseVersion() {
  const versions = new Map();
  for (const parent of ['packages', 'services']) {
    for (const name of readdirSync(join(root, parent))) {
      const manifest = JSON.parse(readFileSync(join(root, parent, name, 'package.json'), 'utf8'));
      versions.set(manifest.name, manifest.version);
    }
  }
  const distinct = [...new Set(versions.values())];
  if (distinct.length !== 1) {
    fail(`the workspaces disagree on the version: ${[...versions].map(([n, v]) => `${n}@${v}`).join(', ')}`);
  }
  return distinct[0];
}

/** The YAML files under a directory, at any depth. */
function yamlFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return yamlFiles(path);
    return entry.name.endsWith('.yaml') ? [path] : [];
  });
}

/** Sets the tag of every cio-bridge image in infra/k8s and its overlays to `version`. */
function retag(version) {
  const dirs = ['k8s', 'k8s-overlays'].map((name) => join(root, 'infra', name));
  for (const path of dirs.flatMap(yamlFiles)) {
    const text = readFileSync(path, 'utf8');
    const next = text
      .replace(/^(\s+image: cio-bridge\/[a-z-]+):[^\s]+$/gm, `$1:${version}`)
      .replace(/^(\s+newTag:) .+$/gm, `$1 ${version}`);
    if (next !== text) writeFileSync(path, next);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const command = process.argv[2];
  if (command === 'version') console.log(releaseVersion());
  else if (command === 'retag') retag(releaseVersion());
  else fail('usage: node scripts/release.mjs version|retag');
}
