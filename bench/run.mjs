// The benchmark suite: runs every scenario in bench/scenarios (or --only one)
// against the real broker and database, prints a table (figure, baseline, ratio,
// goal) and writes the figures as JSON to --out.
//   npm run bench -- --out bench-results.json [--only worker-fast] [--duration 5000] [--repeats 3]
import { readdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { deleteBenchTopics, root } from './lib.mjs';

const { values: args } = parseArgs({
  options: {
    out: { type: 'string' },
    only: { type: 'string' },
    duration: { type: 'string', default: '5000' },
    repeats: { type: 'string', default: '3' },
  },
});

const scenarioDir = join(root, 'bench/scenarios');
const available = readdirSync(scenarioDir)
  .filter((file) => file.endsWith('.mjs'))
  .map((file) => file.replace(/\.mjs$/, ''))
  .sort();
const selected = args.only ? args.only.split(',') : available;
for (const name of selected) {
  if (!available.includes(name)) {
    console.error(`bench: unknown scenario ${name}; available: ${available.join(', ')}`);
    process.exit(2);
  }
}

const log = (message) => process.stderr.write(`bench: ${message}\n`);
const context = { durationMs: Number(args.duration), repeats: Number(args.repeats), log };
const results = [];
const started = Date.now();
for (const name of selected) {
  log(`${name}: running`);
  const t0 = Date.now();
  try {
    const { default: run } = await import(join(scenarioDir, `${name}.mjs`));
    for (const row of await run(context)) results.push({ scenario: name, ...row });
    log(`${name}: done in ${Math.round((Date.now() - t0) / 1000)} s`);
  } catch (error) {
    log(`${name}: failed: ${error.stack ?? error}`);
    results.push({
      scenario: name,
      figure: 'error',
      value: null,
      error: String(error.message ?? error),
      met: false,
    });
  }
  await deleteBenchTopics().catch((error) => log(`could not delete the bench- topics: ${error.message}`));
}

const fmt = (n) =>
  n === null || n === undefined
    ? '-'
    : Number.isInteger(n)
      ? n.toLocaleString('en-US')
      : Number(n).toLocaleString('en-US', { maximumFractionDigits: 2 });
const rows = results.map((r) => [
  r.scenario,
  r.figure,
  `${fmt(r.value)}${r.unit ? ` ${r.unit}` : ''}`,
  r.baseline === null || r.baseline === undefined
    ? '-'
    : `${fmt(r.baseline)} (${r.baselineName ?? 'baseline'})`,
  r.baseline ? fmt(r.value / r.baseline) : '-',
  r.goal ?? '-',
  r.met === undefined ? '-' : r.met ? 'yes' : 'NO',
]);
const header = ['scenario', 'figure', 'value', 'baseline', 'ratio', 'goal', 'met'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => String(row[i]).length)));
const line = (cells) => cells.map((cell, i) => String(cell).padEnd(widths[i])).join('  ');
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const row of rows) console.log(line(row));

const report = {
  date: new Date().toISOString(),
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  },
  durationMs: context.durationMs,
  repeats: context.repeats,
  elapsedSeconds: Math.round((Date.now() - started) / 1000),
  results,
};
if (args.out) {
  writeFileSync(args.out, `${JSON.stringify(report, null, 2)}\n`);
  log(`figures written to ${args.out}`);
}
