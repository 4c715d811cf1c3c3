#!/usr/bin/env node
// Starts one service's compiled main (services/<name>/dist/main.js) with the V8 flags
// that infra/node-flags.json lists for it: the one place those flags live, read by
// `npm start`, each workspace's `npm run start` and the container image alike.
//   node infra/run-service.mjs <service> [arguments...]
// (or CIO_BRIDGE_SERVICE=<service>). The process replaces itself (process.execve: same
// PID, environment and streams, so signals reach the service directly); on a Node
// without execve it runs the service as a child and forwards signals and exit code.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [argService, ...rest] = process.argv.slice(2);
const service = argService ?? process.env.CIO_BRIDGE_SERVICE;
const table = JSON.parse(readFileSync(join(root, 'infra', 'node-flags.json'), 'utf8'));
const flags = service === undefined || service.startsWith('$') ? undefined : table[service];
if (!Array.isArray(flags)) {
  const known = Object.keys(table).filter((name) => !name.startsWith('$'));
  process.stderr.write(`run-service: name a service (${known.join(', ')}); got ${service ?? 'none'}\n`);
  process.exit(2);
}
const args = [...flags, ...process.execArgv, join(root, 'services', service, 'dist', 'main.js'), ...rest];

if (typeof process.execve === 'function') {
  process.execve(process.execPath, [process.execPath, ...args], process.env);
} else {
  const child = spawn(process.execPath, args, { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => (signal ? process.kill(process.pid, signal) : process.exit(code ?? 1)));
}
