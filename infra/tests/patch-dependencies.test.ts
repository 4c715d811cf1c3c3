// scripts/patch-dependencies.mjs (the root postinstall): applies the kafkajs fix to an
// unpatched copy, is idempotent, and refuses a kafkajs version it was not written for.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoPath } from './helpers';

const target = 'src/network/requestQueue/index.js';
const installed = readFileSync(repoPath('node_modules', 'kafkajs', target), 'utf8');
const unpatched = installed.replace(
  /\}, Math\.max\(1, scheduleAt\)\) \/\/ cio-bridge patch: tulios\/kafkajs#1751/,
  '}, scheduleAt)',
);

// The second patch: TLS certificate refusals are not retried.
const connection = 'src/network/connection.js';
const installedConnection = readFileSync(repoPath('node_modules', 'kafkajs', connection), 'utf8');
const tlsPatch = / {8}\/\/ cio-bridge patch: a refused TLS certificate is not retried\n[\s\S]*?\n {8}\}\n/;
const unpatchedConnection = installedConnection.replace(tlsPatch, '');

let modules: string;
beforeEach(() => {
  modules = mkdtempSync(path.join(tmpdir(), 'patch-deps-'));
  mkdirSync(path.join(modules, 'kafkajs', path.dirname(target)), { recursive: true });
  writeFileSync(path.join(modules, 'kafkajs', connection), unpatchedConnection);
});
afterEach(() => rmSync(modules, { recursive: true, force: true }));

const install = (version: string, source: string) => {
  writeFileSync(path.join(modules, 'kafkajs', 'package.json'), JSON.stringify({ name: 'kafkajs', version }));
  writeFileSync(path.join(modules, 'kafkajs', target), source);
};
const run = () =>
  spawnSync(process.execPath, [repoPath('scripts', 'patch-dependencies.mjs'), modules], { encoding: 'utf8' });
const patched = () => readFileSync(path.join(modules, 'kafkajs', target), 'utf8');

it('the installed kafkajs is patched (npm ci ran the postinstall)', () => {
  expect(installed).toContain('Math.max(1, scheduleAt)');
  expect(unpatched).not.toContain('Math.max(1, scheduleAt)');
  expect(installedConnection).toMatch(tlsPatch);
  expect(unpatchedConnection).not.toContain('cio-bridge patch');
});

it('makes a refused TLS certificate a non-retriable connection error, once', () => {
  install('2.2.4', unpatched);
  expect(run().status).toBe(0);
  expect(run().status).toBe(0);
  const source = readFileSync(path.join(modules, 'kafkajs', connection), 'utf8');
  expect(source.match(/cio-bridge patch: a refused TLS certificate/g)).toHaveLength(1);
  expect(source).toContain('error.retriable = false');
});

it('clamps the pending-request timer of kafkajs 2.2.4, once', () => {
  install('2.2.4', unpatched);
  const first = run();
  expect(first.status).toBe(0);
  expect(first.stdout).toContain('applied');
  expect(patched()).toContain('}, Math.max(1, scheduleAt)) // cio-bridge patch: tulios/kafkajs#1751');
  const second = run();
  expect(second.status).toBe(0);
  expect(second.stdout).toContain('already applied');
  expect(patched().match(/Math\.max\(1, scheduleAt\)/g)).toHaveLength(1);
});

it('fails loudly for another kafkajs version or changed code', () => {
  install('2.3.0', unpatched);
  const otherVersion = run();
  expect(otherVersion.status).toBe(1);
  expect(otherVersion.stderr).toContain('written for kafkajs@2.2.4, found 2.3.0');
  install('2.2.4', 'module.exports = {}');
  const changed = run();
  expect(changed.status).toBe(1);
  expect(changed.stderr).toContain('does not contain the expected code');
});
