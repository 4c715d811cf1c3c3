// Licence and releases: the Apache-2.0 LICENSE and a licence on every package; one
// version for every workspace, kept with changesets, with a changelog each whose first
// entry is that version; images tagged with it (Kubernetes manifests, the image script).
// A real `changeset version` runs on a copy of the manifests and must bump them all,
// write the changelogs and move the image tags along.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Doc, readText, readYaml, readYamlDocuments, repoPath, repoRoot } from './helpers';

jest.setTimeout(120_000);

const workspaceDirs = ['packages', 'services'].flatMap((parent) =>
  readdirSync(repoPath(parent)).map((name) => path.join(parent, name)),
);
const manifest = (dir: string): Doc => JSON.parse(readText(dir, 'package.json'));
const PUBLIC = ['contracts', 'kafka', 'logger', 'schemas', 'sdk', 'tracing'].map(
  (name) => `@cio-bridge/${name}`,
);

describe('licence', () => {
  it('LICENSE at the root is the full Apache License 2.0', () => {
    const text = readText('LICENSE');
    expect(text).toContain('Apache License\n                           Version 2.0, January 2004');
    expect(text).toContain('TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION');
    expect(text).toContain('END OF TERMS AND CONDITIONS');
  });

  it.each(['.', ...workspaceDirs])('%s is licensed Apache-2.0', (dir) => {
    expect(manifest(dir).license).toBe('Apache-2.0');
  });
});

describe('publishable packages', () => {
  it('are exactly the SDK, the schemas, the contracts and what they need at run time', () => {
    const published = workspaceDirs.map(manifest).filter((m) => !m.private);
    expect(published.map((m) => m.name).sort()).toEqual(PUBLIC);
    for (const m of published) {
      const internal = Object.keys(m.dependencies ?? {}).filter((name) => name.startsWith('@cio-bridge/'));
      expect(internal.filter((name) => !PUBLIC.includes(name))).toEqual([]);
    }
  });

  it.each(PUBLIC)(
    '%s has a semver version, engines, typed exports, files, a README and real ranges',
    (name) => {
      const dir = workspaceDirs.find((d) => manifest(d).name === name) as string;
      const m = manifest(dir);
      expect(m.version).toMatch(/^\d+\.\d+\.\d+$/);
      expect(m.engines.node).toMatch(/^>=\d+/);
      expect(m.exports['.']).toEqual({
        types: expect.stringMatching(/\.d\.ts$/),
        default: expect.any(String),
      });
      expect(m.files).toContain('dist');
      expect(readText(dir, 'README.md')).toContain(`# ${name}`);
      for (const [dependency, range] of Object.entries(m.dependencies ?? {})) {
        expect({ dependency, range }).toEqual({
          dependency,
          range: expect.not.stringMatching(/^\*$|^workspace:/),
        });
      }
    },
  );
});

describe('versions and changelogs', () => {
  const config = JSON.parse(readText('.changeset', 'config.json'));
  const version = manifest('packages/sdk').version;

  it('changesets keeps every workspace at one version; services are versioned but never published', () => {
    expect(config.fixed).toEqual([['@cio-bridge/*']]);
    expect(config.privatePackages).toEqual({ version: true, tag: false });
    expect(config.ignore).toEqual([]);
    for (const dir of workspaceDirs) {
      expect({ dir, version: manifest(dir).version }).toEqual({ dir, version });
      if (dir.startsWith('services/'))
        expect({ dir, private: manifest(dir).private }).toEqual({ dir, private: true });
    }
  });

  it.each(workspaceDirs)('%s has a CHANGELOG.md whose first entry is its version', (dir) => {
    const changelog = readText(dir, 'CHANGELOG.md');
    expect(changelog.startsWith(`# ${manifest(dir).name}\n`)).toBe(true);
    const [first] = changelog.match(/^## .+$/m) ?? [];
    expect(first).toBe(`## ${manifest(dir).version}`);
    const entry = changelog.split(/^## .+$/m)[1] ?? '';
    expect(entry).toMatch(/^- \S/m);
  });

  it('the README says how a release is cut', () => {
    const readme = readText('README.md');
    expect(readme).toContain('## Releases');
    expect(readme).toContain('npm run changeset');
    expect(readme).toContain('npm run release:version');
    expect(readme).toContain('npm run release:publish');
    expect(readme).toContain('npm run release:images');
  });
});

describe('images are tagged with the version', () => {
  const version = manifest('services/producer').version;
  const kustomization = readYaml('infra', 'k8s', 'kustomization.yaml');

  it('in the Kubernetes manifests', () => {
    for (const image of kustomization.images) expect(image).toEqual({ name: image.name, newTag: version });
    const deployments = (kustomization.resources as string[])
      .flatMap((file) => readYamlDocuments('infra', 'k8s', file))
      .filter((doc) => doc.kind === 'Deployment');
    expect(deployments.length).toBeGreaterThan(3);
    for (const deployment of deployments) {
      expect(deployment.spec.template.spec.containers[0].image).toMatch(new RegExp(`:${version}$`));
    }
  });

  it('by npm run release:images, built with the version as a label', () => {
    const bin = mkdtempSync(path.join(tmpdir(), 'fake-docker-'));
    try {
      // A docker that records its arguments: the script's commands, without an engine.
      writeFileSync(path.join(bin, 'docker'), `#!/bin/sh\necho "$@" >> "${bin}/calls"\n`);
      chmodSync(path.join(bin, 'docker'), 0o755);
      const result = spawnSync('bash', [repoPath('scripts', 'images.sh'), '--push'], {
        cwd: repoRoot,
        encoding: 'utf8',
        env: {
          ...process.env,
          PATH: `${bin}:${process.env.PATH}`,
          REGISTRY: 'registry.example.com/cio-bridge',
        },
      });
      expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
      const calls = readFileSync(path.join(bin, 'calls'), 'utf8').trim().split('\n');
      for (const service of ['producer', 'webhook-handler', 'insights-processor', 'cio-worker', 'cio-dlq']) {
        const tag = `registry.example.com/cio-bridge/${service}:${version}`;
        expect(calls).toContainEqual(
          expect.stringMatching(new RegExp(`^build .*--build-arg VERSION=${version} .*-t ${tag} \\.$`)),
        );
        expect(calls).toContain(`push ${tag}`);
      }
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
    expect(readText('Dockerfile')).toMatch(/org\.opencontainers\.image\.version="\$\{VERSION\}"/);
  });
});

describe('a release cut with changesets, on a copy of the manifests', () => {
  let copy: string;
  beforeAll(() => {
    copy = mkdtempSync(path.join(tmpdir(), 'release-'));
    // The lock file tells changesets the workspaces are npm's.
    for (const file of [
      'package.json',
      'package-lock.json',
      '.changeset',
      'scripts/release.mjs',
      'infra/k8s',
      'infra/k8s-overlays',
    ]) {
      cpSync(repoPath(file), path.join(copy, file), { recursive: true });
    }
    for (const dir of workspaceDirs) {
      mkdirSync(path.join(copy, dir), { recursive: true });
      for (const file of ['package.json', 'CHANGELOG.md'])
        cpSync(repoPath(dir, file), path.join(copy, dir, file));
    }
    symlinkSync(repoPath('node_modules'), path.join(copy, 'node_modules'));
    const git = (...args: string[]) => spawnSync('git', args, { cwd: copy, encoding: 'utf8' });
    git('init', '-q', '-b', 'main');
    git('add', '-A');
    git('-c', 'user.name=test', '-c', 'user.email=test@example.com', 'commit', '-qm', 'copy');
  });
  afterAll(() => rmSync(copy, { recursive: true, force: true }));

  it('bumps every workspace together, prepends the changelogs and retags the images', () => {
    const before = manifest('packages/schemas').version as string;
    const [major, minor, patch] = before.split('.').map(Number);
    const next = `${major}.${minor}.${(patch ?? 0) + 1}`;
    writeFileSync(
      path.join(copy, '.changeset', 'fix-schemas.md'),
      '---\n"@cio-bridge/schemas": patch\n---\n\nA byte limit now counts UTF-8 bytes.\n',
    );
    const changeset = spawnSync(
      process.execPath,
      [path.join(copy, 'node_modules', '@changesets', 'cli', 'bin.js'), 'version'],
      { cwd: copy, encoding: 'utf8' },
    );
    expect({ status: changeset.status, stderr: changeset.stderr }).toEqual({
      status: 0,
      stderr: expect.any(String),
    });
    const retag = spawnSync(process.execPath, [path.join(copy, 'scripts', 'release.mjs'), 'retag'], {
      cwd: copy,
      encoding: 'utf8',
    });
    expect({ status: retag.status, stderr: retag.stderr }).toEqual({ status: 0, stderr: '' });

    const copied = (...parts: string[]) => readFileSync(path.join(copy, ...parts), 'utf8');
    for (const dir of workspaceDirs) {
      expect({ dir, version: JSON.parse(copied(dir, 'package.json')).version }).toEqual({
        dir,
        version: next,
      });
    }
    const schemasLog = copied('packages', 'schemas', 'CHANGELOG.md');
    expect(schemasLog.indexOf(`## ${next}`)).toBeLessThan(schemasLog.indexOf(`## ${before}`));
    expect(schemasLog).toContain('A byte limit now counts UTF-8 bytes.');
    const sdk = JSON.parse(copied('packages', 'sdk', 'package.json'));
    expect(sdk.dependencies['@cio-bridge/schemas']).toBe(`^${next}`);
    const kustomization = copied('infra', 'k8s', 'kustomization.yaml');
    expect(kustomization).toContain(`newTag: ${next}`);
    expect(kustomization).not.toContain(`newTag: ${before}`);
    expect(copied('infra', 'k8s', 'producer.yaml')).toContain(`image: cio-bridge/producer:${next}`);
    const overlay = copied('infra', 'k8s-overlays', 'production', 'kustomization.yaml');
    expect(overlay).toContain(`newTag: ${next}`);
    expect(overlay).not.toContain(`newTag: ${before}`);
  });
});
