import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createTestTopics,
  readMessages,
  testKafka,
  testKafkaBrokers,
  testTopicNames,
} from '@cio-bridge/testkit';
import type { Kafka } from 'kafkajs';

// An app team adopting the SDK and the schemas as a new user would: `npm run pack`
// writes the tarballs, a fresh TypeScript app in a temporary directory outside the
// workspace installs them as files (no links; third-party packages from the npm
// registry or its local cache), compiles against their types, publishes a seed event
// with the SDK to the real broker and validates Track operations with the schemas.
jest.setTimeout(300_000);

const root = join(__dirname, '..');
const npm = (args: string[], cwd: string) =>
  spawnSync('npm', args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_loglevel: 'error' } });

const APP = `
import { CioPublisher } from '@cio-bridge/sdk';
import { validateTrackOperation } from '@cio-bridge/schemas';
import { TRACK_ACTIONS } from '@cio-bridge/contracts';
import { Kafka, logLevel } from 'kafkajs';

async function main(): Promise<void> {
  const [brokers = '', topic = ''] = process.argv.slice(2);
  const kafka = new Kafka({ clientId: 'fresh-app', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const cio = await CioPublisher.connect(kafka, { topics: { track: topic }, timeoutMs: 30_000 });
  const sent = await cio.productScanned('user-123', {
    product_snapshot: {
      identity: { product_id: 45, sku: 'BD-VAPE-1G', product_name: 'Blue Dream 1g Vape' },
      economy: { points_award: 400, msrp: 45.0 },
      taxonomy: { product_form: 'Vape Cartridge', strain_type: 'Sativa' },
    },
    user_snapshot: {
      identity: { user_id: 123, email: 'jane.doe@example.com' },
      economy: { points_balance: 1850, lifetime_points: 6100 },
      status: { rank_key: 'gold', rank_name: 'Gold' },
      profile_data: { custom_strain_preference: 'Sativa' },
    },
  });
  await cio.close();
  const identify = { action: 'identify', identifiers: { id: 'user-123' }, attributes: { first_name: 'Jane' } };
  const tooLong = { ...identify, identifiers: { id: 'x'.repeat(151) } };
  const invalid = validateTrackOperation(tooLong);
  console.log(JSON.stringify({
    sent,
    identifyValid: validateTrackOperation(identify).ok,
    tooLongPointers: invalid.ok ? [] : invalid.errors.map((error) => error.pointer),
    knowsIdentify: TRACK_ACTIONS.includes('identify'),
  }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
`;

describe('the public packages, installed from their tarballs into a fresh app', () => {
  const work = mkdtempSync(join(tmpdir(), 'cio-bridge-pack-'));
  const tarballDir = join(work, 'tarballs');
  const app = join(work, 'app');
  let kafka: Kafka;

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('npm run pack writes one tarball per public package, the SDK, the schemas and the contracts among them', () => {
    const packed = spawnSync(process.execPath, [join(root, 'scripts', 'pack.mjs'), '--out', tarballDir], {
      cwd: root,
      encoding: 'utf8',
    });
    expect({ status: packed.status, stderr: packed.stderr }).toEqual({
      status: 0,
      stderr: expect.any(String),
    });
    const tarballs = readdirSync(tarballDir);
    expect(packed.stdout.trim().split('\n').sort()).toEqual(
      tarballs.map((file) => join(tarballDir, file)).sort(),
    );
    for (const name of ['sdk', 'schemas', 'contracts']) {
      expect(tarballs).toContainEqual(
        expect.stringMatching(new RegExp(`^cio-bridge-${name}-\\d+\\.\\d+\\.\\d+\\.tgz$`)),
      );
    }
    for (const tarball of tarballs) {
      const listing = spawnSync('tar', ['tzf', join(tarballDir, tarball)], { encoding: 'utf8' }).stdout.split(
        '\n',
      );
      expect({ tarball, files: listing }).toEqual({
        tarball,
        files: expect.arrayContaining(['package/LICENSE', 'package/README.md', 'package/dist/index.d.ts']),
      });
      expect(listing.filter((file) => /\.test\.|\/src\//.test(file))).toEqual([]);
    }
    for (const service of [
      'producer',
      'cio-worker',
      'webhook-handler',
      'insights-processor',
      'cio-dlq',
      'testkit',
    ]) {
      expect(tarballs.filter((file) => file.startsWith(`cio-bridge-${service}-`))).toEqual([]);
    }
  });

  it('installs as plain files, compiles against the shipped types, publishes to the broker and validates', async () => {
    const tarballs = readdirSync(tarballDir).map((file) => join(tarballDir, file));
    mkdirSync(join(app, 'src'), { recursive: true });
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({ name: 'fresh-app', private: true, version: '1.0.0' }),
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'es2022',
          module: 'node16',
          moduleResolution: 'node16',
          strict: true,
          outDir: 'dist',
          // Node's own types from the workspace: the app declares no @types/node of its own.
          typeRoots: [join(root, 'node_modules', '@types')],
          types: ['node'],
        },
        include: ['src'],
      }),
    );
    writeFileSync(join(app, 'src', 'app.ts'), APP);

    const install = npm(
      [
        'install',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--install-links',
        'kafkajs@2.2.4',
        ...tarballs,
      ],
      app,
    );
    expect({ status: install.status, stderr: install.stderr }).toEqual({
      status: 0,
      stderr: expect.any(String),
    });
    for (const name of ['sdk', 'schemas', 'contracts']) {
      expect(lstatSync(join(app, 'node_modules', '@cio-bridge', name)).isSymbolicLink()).toBe(false);
    }

    const tsc = spawnSync(
      process.execPath,
      [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app],
      {
        cwd: app,
        encoding: 'utf8',
      },
    );
    expect({ status: tsc.status, output: tsc.stdout }).toEqual({ status: 0, output: '' });

    const brokers = await testKafkaBrokers();
    const topics = testTopicNames('pack');
    kafka = await testKafka('pack-int');
    await createTestTopics(kafka, topics);
    const run = spawnSync(process.execPath, [join(app, 'dist', 'app.js'), brokers.join(','), topics.track], {
      cwd: app,
      encoding: 'utf8',
      timeout: 120_000,
    });
    // stderr may carry kafkajs 2.2.4's own TimeoutNegativeWarning (the workspace patches it, an app does not).
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: expect.any(String) });
    const result = JSON.parse(run.stdout);
    expect(result).toEqual({
      sent: { id: expect.stringMatching(/^[0-9A-HJKMNP-TV-Z]{26}$/), key: 'user-123' },
      identifyValid: true,
      tooLongPointers: ['/identifiers/id'],
      knowsIdentify: true,
    });

    const [message] = await readMessages(kafka, topics.track, { count: 1, timeoutMs: 60_000 });
    expect(message?.key?.toString()).toBe('user-123');
    expect(JSON.parse(String(message?.value))).toMatchObject({
      id: result.sent.id,
      name: 'product_scanned',
      identifiers: { id: 'user-123' },
    });
  });
});
