// The one Dockerfile: `ARG SERVICE` selects the service, a `cli` target builds the
// cio-dlq command line; `turbo prune --docker` splits manifests from sources so the
// dependency installs are cached by manifest; the image runs node through
// infra/run-service.mjs with the V8 flags of infra/node-flags.json, as `npm start`
// does, as a non-root user with a health check. There is no Docker daemon in CI, so
// the file is parsed and checked, and the scripts it runs are exercised for real.
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Doc, readText, repoPath, SERVICE_PORTS, SERVICES } from './helpers';

interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile instructions with continuation lines joined and comments dropped. */
function parseDockerfile(source: string): Instruction[] {
  const lines = source.split('\n').filter((line) => !/^\s*#/.test(line));
  const joined = lines.join('\n').replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [keyword, ...rest] = line.split(/\s+/);
      return { keyword: keyword!.toUpperCase(), args: rest.join(' ') };
    });
}

const KEYWORDS = new Set([
  'ARG',
  'FROM',
  'WORKDIR',
  'ENV',
  'COPY',
  'RUN',
  'USER',
  'EXPOSE',
  'HEALTHCHECK',
  'STOPSIGNAL',
  'CMD',
  'ENTRYPOINT',
  'LABEL',
]);

interface Stage {
  name: string;
  from: string;
  instructions: Instruction[];
}

/** The stages by name (`FROM image AS name`). */
function stages(instructions: Instruction[]): Map<string, Stage> {
  const result = new Map<string, Stage>();
  let current: Stage | undefined;
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const [from, as, name] = instruction.args.split(/\s+/);
      current = {
        name: as?.toUpperCase() === 'AS' ? name! : `#${result.size}`,
        from: from!,
        instructions: [],
      };
      result.set(current.name, current);
    } else current?.instructions.push(instruction);
  }
  return result;
}

/** `${NAME}` as the Dockerfile writes a variable. */
const ref = (name: string) => `$${'{'}${name}}`;

const instructions = parseDockerfile(readText('Dockerfile'));
const byName = stages(instructions);
const stage = (name: string) => {
  const found = byName.get(name);
  if (!found) throw new Error(`no stage ${name}`);
  return found;
};
const args = (name: string, keyword: string) =>
  stage(name)
    .instructions.filter((i) => i.keyword === keyword)
    .map((i) => i.args);
/** A stage and the stages it is built FROM, innermost last. */
const lineage = (name: string): Stage[] => {
  const own = stage(name);
  return byName.has(own.from) ? [own, ...lineage(own.from)] : [own];
};

describe('the Dockerfile', () => {
  it('is the only one: no service keeps its own', () => {
    const own = [...readdirSync(repoPath('services')), ...readdirSync(repoPath('packages'))].filter(
      (name) =>
        existsSync(repoPath('services', name, 'Dockerfile')) ||
        existsSync(repoPath('packages', name, 'Dockerfile')),
    );
    expect(own).toEqual([]);
  });

  it('uses only known instructions', () => {
    expect(instructions.map((i) => i.keyword).filter((k) => !KEYWORDS.has(k))).toEqual([]);
  });

  it('builds every stage from a Node 24 image or an earlier stage', () => {
    const nodeImage = /ARG NODE_IMAGE=node:24-[a-z]+-slim/.test(readText('Dockerfile'));
    expect(nodeImage).toBe(true);
    for (const { name, from } of byName.values())
      expect({ name, from }).toEqual({ name, from: expect.stringMatching(/^\$\{NODE_IMAGE\}$|^[a-z-]+$/) });
    for (const { from } of byName.values())
      if (from !== `${ref('NODE_IMAGE')}`) expect(byName.has(from)).toBe(true);
  });

  it('takes the service as ARG SERVICE and has a target for the CLI and one for services', () => {
    for (const name of ['prune', 'build', 'runtime-tree', 'service'])
      expect(args(name, 'ARG').join(' ')).toMatch(/\bSERVICE\b/);
    expect(args('cli', 'ENTRYPOINT')).toEqual(['["node", "infra/run-service.mjs", "cio-dlq"]']);
    expect(args('service', 'ENV')).toContain(`CIO_BRIDGE_SERVICE=${ref('SERVICE')}`);
    expect(args('service', 'CMD')).toEqual(['["node", "infra/run-service.mjs"]']);
    // the default target (the last stage) is a service, and refuses to build without one
    expect([...byName.keys()].at(-1)).toBe('service');
    expect(args('service', 'RUN').join(' ')).toMatch(/test -n "\$\{SERVICE\}"/);
  });

  it('prunes the monorepo with turbo prune --docker, at the locked turbo version', () => {
    expect(args('prune', 'RUN').join(' ')).toContain(
      `turbo prune "@cio-bridge/${ref('SERVICE')}" --docker --out-dir /pruned`,
    );
    const lock = JSON.parse(readText('package-lock.json'));
    const turbo = /ARG TURBO_VERSION=(\S+)/.exec(readText('Dockerfile'))?.[1];
    expect(turbo).toBe(lock.packages['node_modules/turbo'].version);
  });

  it.each(['deps', 'runtime-tree'])(
    '%s installs from the manifests and the lock only, before any source',
    (name) => {
      const own = stage(name).instructions;
      const install = own.findIndex((i) => i.keyword === 'RUN' && i.args.includes('npm ci'));
      expect(install).toBeGreaterThan(-1);
      const before = own.slice(0, install).filter((i) => i.keyword === 'COPY');
      expect(before.map((i) => i.args)).toEqual(
        expect.arrayContaining(['--from=prune /pruned/json/ ./', 'scripts/patch-dependencies.mjs scripts/']),
      );
      // nothing but manifests, the lock and the two small scripts reaches the install layer
      for (const copy of before)
        expect(copy.args).toMatch(
          /^--from=prune \/pruned\/json\/ \.\/$|^scripts\/patch-dependencies\.mjs |^infra\/docker\/drop-dev-dependencies\.mjs /,
        );
      expect(own[install]!.args).toContain('--ignore-scripts');
      expect(own[install]!.args).toContain('node scripts/patch-dependencies.mjs');
    },
  );

  it('compiles the sources after the install, with turbo, for the service and its workspaces', () => {
    const copies = args('build', 'COPY');
    expect(copies).toContain('--from=prune /pruned/full/ ./');
    expect(stage('build').from).toBe('deps');
    expect(args('build', 'RUN').join(' ')).toContain(
      `turbo run build --filter="@cio-bridge/${ref('SERVICE')}..."`,
    );
  });

  it("installs only the service's production dependencies in the runtime tree", () => {
    const run = args('runtime-tree', 'RUN').join(' ');
    expect(run).toContain(`node infra/docker/drop-dev-dependencies.mjs "services/${ref('SERVICE')}"`);
    expect(run).toContain('npm ci --omit=dev');
    expect(run).toContain(`--workspace "services/${ref('SERVICE')}"`);
  });

  it('runs as the unprivileged node user, from files of earlier stages only', () => {
    const runtime = stage('runtime').instructions;
    expect(runtime.filter((i) => i.keyword === 'COPY').every((i) => i.args.startsWith('--from='))).toBe(true);
    expect(runtime.filter((i) => i.keyword === 'USER').map((i) => i.args)).toEqual(['node']);
    expect(lineage('service').map((s) => s.name)).toEqual(['service', 'runtime']);
    expect(lineage('cli').map((s) => s.name)).toEqual(['cli', 'runtime']);
  });

  it('checks /healthz of a service on its port with node (the image has no curl); the CLI has no health check', () => {
    const check = args('service', 'HEALTHCHECK').join(' ');
    expect(check).toContain('/healthz');
    expect(check).toContain('process.env.PORT');
    for (const [name, port] of Object.entries(SERVICE_PORTS))
      expect(check).toContain(`'${name}': ${port}`.replace(`'producer'`, 'producer'));
    expect(args('cli', 'HEALTHCHECK')).toEqual(['NONE']);
  });
});

describe('V8 flags in one place (infra/node-flags.json)', () => {
  const flags = JSON.parse(readText('infra', 'node-flags.json'));

  it('lists every service and the CLI', () => {
    expect(
      Object.keys(flags)
        .filter((k) => !k.startsWith('$'))
        .sort(),
    ).toEqual([...SERVICES, 'cio-dlq'].sort());
    for (const name of Object.keys(flags).filter((k) => !k.startsWith('$')))
      for (const flag of flags[name]) expect(flag).toMatch(/^--[a-z-]+=\d+$/);
  });

  it("is what each workspace's start script and npm start run", () => {
    for (const name of SERVICES) {
      const manifest = JSON.parse(readText('services', name, 'package.json'));
      expect(manifest.scripts.start).toBe(`node ../../infra/run-service.mjs ${name}`);
    }
    expect(readText('scripts', 'start.mjs')).toContain("join(root, 'infra/run-service.mjs'), service.name");
  });

  it('infra/run-service.mjs starts the compiled main with them, and refuses an unknown service', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cio-run-service-'));
    try {
      mkdirSync(path.join(dir, 'infra'));
      mkdirSync(path.join(dir, 'services', 'producer', 'dist'), { recursive: true });
      copyFileSync(repoPath('infra', 'run-service.mjs'), path.join(dir, 'infra', 'run-service.mjs'));
      copyFileSync(repoPath('infra', 'node-flags.json'), path.join(dir, 'infra', 'node-flags.json'));
      writeFileSync(
        path.join(dir, 'services', 'producer', 'dist', 'main.js'),
        'process.stdout.write(JSON.stringify({ execArgv: process.execArgv, argv: process.argv.slice(2), pid: process.pid }))',
      );
      const run = (argv: string[], env: NodeJS.ProcessEnv = {}) =>
        spawnSync(process.execPath, [path.join(dir, 'infra', 'run-service.mjs'), ...argv], {
          encoding: 'utf8',
          env: { PATH: process.env.PATH, ...env },
        });
      const byArg = run(['producer', '--x']);
      expect(byArg.stderr).toBe('');
      expect(JSON.parse(byArg.stdout)).toMatchObject({ execArgv: flags.producer, argv: ['--x'] });
      const byEnv = run([], { CIO_BRIDGE_SERVICE: 'producer' });
      expect(JSON.parse(byEnv.stdout)).toMatchObject({ execArgv: flags.producer });
      const unknown = run(['nope']);
      expect(unknown.status).toBe(2);
      expect(unknown.stderr).toContain('run-service: name a service');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('.dockerignore', () => {
  const patterns = readText('.dockerignore')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));

  it('keeps local state, build output and dependencies out of the build context', () => {
    expect(patterns).toEqual(expect.arrayContaining(['.git', '**/node_modules', '**/dist', '.cache']));
  });

  it('keeps what the Dockerfile needs', () => {
    const needed = [
      'package.json',
      'package-lock.json',
      'turbo.json',
      'tsconfig.base.json',
      'infra/docker',
      'infra/run-service.mjs',
      'infra/node-flags.json',
      'scripts/patch-dependencies.mjs',
    ];
    const excluded = needed.filter((file) =>
      patterns.some(
        (pattern) => !pattern.startsWith('!') && (pattern === file || file.startsWith(`${pattern}/`)),
      ),
    );
    expect(excluded).toEqual([]);
    expect(patterns).not.toContain('infra');
    expect(patterns.some((pattern) => /^\*+(\/\*+)?\.json$/.test(pattern))).toBe(false);
  });
});

describe('infra/docker/drop-dev-dependencies.mjs', () => {
  const script = repoPath('infra', 'docker', 'drop-dev-dependencies.mjs');
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'cio-docker-'));
    mkdirSync(path.join(dir, 'services', 'producer'), { recursive: true });
    copyFileSync(repoPath('package-lock.json'), path.join(dir, 'package-lock.json'));
    copyFileSync(
      repoPath('services', 'producer', 'package.json'),
      path.join(dir, 'services/producer/package.json'),
    );
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const run = (workspace: string) =>
    spawnSync(process.execPath, [script, workspace], { cwd: dir, encoding: 'utf8' });
  const readJson = (file: string): Doc => JSON.parse(readFileSync(path.join(dir, file), 'utf8'));

  it('drops the devDependencies from the workspace manifest and its lock entry, and nothing else', () => {
    const before = {
      manifest: readJson('services/producer/package.json'),
      lock: readJson('package-lock.json'),
    };
    expect(before.manifest.devDependencies).toBeDefined();
    expect(before.lock.packages['services/producer'].devDependencies).toBeDefined();

    const result = run('services/producer');
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);

    const after = {
      manifest: readJson('services/producer/package.json'),
      lock: readJson('package-lock.json'),
    };
    expect(after.manifest.devDependencies).toBeUndefined();
    expect(after.manifest.dependencies).toEqual(before.manifest.dependencies);
    expect(after.lock.packages['services/producer'].devDependencies).toBeUndefined();
    expect(after.lock.packages['services/producer'].dependencies).toEqual(
      before.lock.packages['services/producer'].dependencies,
    );
    const { 'services/producer': _changed, ...untouched } = after.lock.packages;
    const { 'services/producer': _original, ...original } = before.lock.packages;
    expect(untouched).toEqual(original);
  });

  it('refuses a directory that is not a workspace of the lock', () => {
    writeFileSync(path.join(dir, 'untouched.txt'), 'x');
    const result = run('services/nope');
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('package-lock.json has no workspace "services/nope"');
  });
});
