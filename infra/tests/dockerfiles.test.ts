// The services' Dockerfiles: multi-stage builds on Node 24 that install only the one
// workspace's production dependencies and run it as a non-root user with a health
// check; .dockerignore keeps local state out of the build context. There is no Docker
// daemon in CI, so the files are parsed and checked, and the helper script they run is
// exercised for real.
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Doc, readText, repoPath, SERVICE_PORTS, SERVICES, type ServiceName } from './helpers';

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

/** The instructions of each stage, the global ARGs before the first FROM as stage -1. */
function stages(instructions: Instruction[]): Instruction[][] {
  const result: Instruction[][] = [[]];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') result.push([]);
    result[result.length - 1]!.push(instruction);
  }
  return result.slice(1);
}

const IMAGES = [...SERVICES, 'cio-dlq'] as const;

describe.each(IMAGES)('services/%s/Dockerfile', (name) => {
  const file = path.join('services', name, 'Dockerfile');
  const instructions = parseDockerfile(readText(file));
  const all = stages(instructions);
  const final = all[all.length - 1]!;
  const text = (keyword: string, stage = instructions) =>
    stage
      .filter((i) => i.keyword === keyword)
      .map((i) => i.args)
      .join('\n');

  it('uses only known instructions', () => {
    expect(instructions.map((i) => i.keyword).filter((k) => !KEYWORDS.has(k))).toEqual([]);
  });

  it('builds in several stages, all from a Node 24 image', () => {
    expect(all.length).toBeGreaterThanOrEqual(3);
    expect(text('ARG')).toMatch(/^NODE_IMAGE=node:24(-[a-z]+)*-slim$/m);
    for (const stage of all) expect(stage[0]!.args).toMatch(/^\$\{NODE_IMAGE\}/);
  });

  it('compiles the workspace and its dependencies with a locked install', () => {
    const run = text('RUN');
    expect(run).toContain('npm ci ');
    expect(run).toContain(`turbo run build --filter=@cio-bridge/${name}...`);
  });

  it("installs only this workspace's production dependencies", () => {
    const run = text('RUN');
    expect(run).toContain(`node infra/docker/drop-dev-dependencies.mjs services/${name}`);
    expect(run).toMatch(new RegExp(`npm ci --omit=dev .*--workspace services/${name}\\b`));
  });

  it('runs as the unprivileged node user, from files of earlier stages only', () => {
    const users = final.filter((i) => i.keyword === 'USER').map((i) => i.args);
    expect(users).toEqual(['node']);
    const copies = final.filter((i) => i.keyword === 'COPY');
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) expect(copy.args).toMatch(/^--from=/);
    expect(text('ENV', final)).toContain('NODE_ENV=production');
  });

  if (name === 'cio-dlq') {
    it('is a command-line tool image without a health check', () => {
      expect(text('HEALTHCHECK', final)).toBe('NONE');
      expect(JSON.parse(text('ENTRYPOINT', final))).toEqual(['node', 'services/cio-dlq/dist/main.js']);
      expect(existsSync(repoPath('services', 'cio-dlq', 'src', 'main.ts'))).toBe(true);
    });
  } else {
    const port = SERVICE_PORTS[name as ServiceName];

    it(`listens on ${port} and checks /healthz with node (the image has no curl)`, () => {
      expect(text('EXPOSE', final)).toBe(String(port));
      expect(text('ENV', final)).toContain(`PORT=${port}`);
      const healthcheck = text('HEALTHCHECK', final);
      const command = JSON.parse(healthcheck.slice(healthcheck.indexOf('CMD ') + 4));
      expect(command.slice(0, 2)).toEqual(['node', '-e']);
      expect(command[2]).toContain('/healthz');
      expect(healthcheck).not.toMatch(/curl|wget/);
    });

    it("starts the compiled main with the V8 flags of the service's start script (the measured memory)", () => {
      const start: string = JSON.parse(readText('services', name, 'package.json')).scripts.start;
      const flags = start.split(/\s+/).filter((word) => word.startsWith('--'));
      expect(JSON.parse(text('CMD', final))).toEqual(['node', ...flags, `services/${name}/dist/main.js`]);
      expect(existsSync(repoPath('services', name, 'src', 'main.ts'))).toBe(true);
      expect(text('STOPSIGNAL', final)).toBe('SIGTERM');
    });
  }
});

describe('.dockerignore', () => {
  const patterns = readText('.dockerignore')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));

  it('keeps local state, build output and dependencies out of the build context', () => {
    expect(patterns).toEqual(expect.arrayContaining(['.git', '**/node_modules', '**/dist', '.cache']));
  });

  it('keeps what the Dockerfiles need', () => {
    const needed = ['package.json', 'package-lock.json', 'turbo.json', 'tsconfig.base.json', 'infra/docker'];
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
