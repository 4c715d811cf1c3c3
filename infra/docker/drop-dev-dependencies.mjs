// Used by the Dockerfile: removes one workspace's devDependencies from its
// package.json AND from package-lock.json, so that
//   npm ci --omit=dev --workspace <dir>
// installs exactly that workspace's production closure. (npm otherwise follows
// devDependency links to other workspaces, e.g. @cio-bridge/testkit, and installs
// their dependencies too.) The lock stays in sync with package.json, so npm ci
// still installs the locked versions.
//   node infra/docker/drop-dev-dependencies.mjs services/producer
import { readFileSync, writeFileSync } from 'node:fs';

const workspace = process.argv[2]?.replace(/\/+$/, '');
if (!workspace) {
  console.error('usage: node infra/docker/drop-dev-dependencies.mjs <workspace directory>');
  process.exit(2);
}
const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));
const writeJson = (file, value) => writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);

const lock = readJson('package-lock.json');
const locked = lock.packages?.[workspace];
if (!locked) {
  console.error(`package-lock.json has no workspace "${workspace}"`);
  process.exit(1);
}
const manifestFile = `${workspace}/package.json`;
const manifest = readJson(manifestFile);
delete manifest.devDependencies;
delete locked.devDependencies;
writeJson(manifestFile, manifest);
writeJson('package-lock.json', lock);
console.log(`${manifest.name}: devDependencies dropped for the production install`);
