import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

// The built CLI as an SRE runs it: what loading it pulls in is memory every command pays.
const cli = join(__dirname, '../dist/cli.js');

/** The packages loading the CLI requires, by name. */
function packagesLoaded(): string[] {
  const script = `require(${JSON.stringify(cli)});
    const names = new Set(Object.keys(require.cache).map((file) =>
      /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(file)?.[1] ?? /(services|packages)\\/([^/]+)\\//.exec(file)?.[2]));
    process.stdout.write(JSON.stringify([...names].filter(Boolean)));`;
  const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
  if (result.status !== 0) throw new Error(`loading the CLI failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as string[];
}

describe('cio-dlq footprint', () => {
  it('loads without the schema validator; only reroute, which classifies webhooks, needs it', () => {
    const loaded = packagesLoaded();
    expect(loaded).toEqual(expect.arrayContaining(['kafkajs', 'commander', 'contracts']));
    expect(loaded).not.toContain('ajv');
    expect(loaded).not.toContain('schemas');
    expect(loaded).not.toContain('webhook-handler');
  });
});
