// infra/k8s/monitoring: the PrometheusRule and the ServiceMonitor are generated from
// infra/prometheus/alerts.yml (never maintained twice), valid against the Prometheus
// Operator's schemas, and scrape the Services infra/k8s really has, under the job
// names the alerts select.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  type Doc,
  PRODUCTION_SERVICES,
  readText,
  readYaml,
  readYamlDocuments,
  repoPath,
  repoRoot,
} from './helpers';

jest.setTimeout(60_000);

const generator = repoPath('infra', 'prometheus', 'generate-k8s.mjs');
const [rule] = readYamlDocuments('infra', 'k8s', 'monitoring', 'prometheus-rule.yaml');
const [monitor] = readYamlDocuments('infra', 'k8s', 'monitoring', 'service-monitor.yaml');
const alerts = readYaml('infra', 'prometheus', 'alerts.yml');
const kustomization = readYaml('infra', 'k8s', 'kustomization.yaml');
const services: Doc[] = (kustomization.resources as string[])
  .flatMap((file) => readYamlDocuments('infra', 'k8s', file))
  .filter((doc) => doc.kind === 'Service');

const check = () => spawnSync(process.execPath, [generator, '--check'], { cwd: repoRoot, encoding: 'utf8' });

describe('generated monitoring objects', () => {
  it('are up to date with alerts.yml', () => {
    const result = check();
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('are reported out of date when alerts.yml changes', () => {
    // A copy of the inputs with one threshold changed: --check must fail and name the rule file.
    // Inside the repository, so that the copied generator resolves `yaml` from its node_modules.
    mkdirSync(repoPath('.cache'), { recursive: true });
    const dir = mkdtempSync(repoPath('.cache', 'monitoring-'));
    try {
      for (const sub of ['infra/prometheus', 'infra/k8s/monitoring'])
        mkdirSync(path.join(dir, sub), { recursive: true });
      copyFileSync(generator, path.join(dir, 'infra/prometheus/generate-k8s.mjs'));
      for (const file of ['prometheus-rule.yaml', 'service-monitor.yaml'])
        copyFileSync(repoPath('infra/k8s/monitoring', file), path.join(dir, 'infra/k8s/monitoring', file));
      writeFileSync(
        path.join(dir, 'infra/prometheus/alerts.yml'),
        readText('infra', 'prometheus', 'alerts.yml').replace(') > 0.05', ') > 0.06'),
      );
      const result = spawnSync(
        process.execPath,
        [path.join(dir, 'infra/prometheus/generate-k8s.mjs'), '--check'],
        {
          cwd: dir,
          encoding: 'utf8',
        },
      );
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('out of date: infra/k8s/monitoring/prometheus-rule.yaml');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('carry exactly the groups of alerts.yml', () => {
    expect(rule.kind).toBe('PrometheusRule');
    expect(rule.spec.groups).toEqual(alerts.groups);
  });

  it('are valid Prometheus Operator objects', () => {
    const result = spawnSync(process.execPath, [repoPath('infra', 'tests', 'k8s-validate.mjs')], {
      cwd: repoRoot,
      input: JSON.stringify([rule, monitor, { ...monitor, spec: { ...monitor.spec, endpoints: 'http' } }]),
      encoding: 'utf8',
    });
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout).map((r: Doc) => r.ok)).toEqual([true, true, false]);
  });

  it('scrape every production service through a Service with a management port', () => {
    const selected = services.filter((service) =>
      monitor.spec.selector.matchExpressions[0].values.includes(
        service.metadata.labels['app.kubernetes.io/name'],
      ),
    );
    expect(selected.map((s) => s.metadata.labels['app.kubernetes.io/name']).sort()).toEqual(
      [...PRODUCTION_SERVICES].sort(),
    );
    for (const service of selected)
      expect(service.spec.ports.map((p: Doc) => p.name)).toContain('management');
    expect(monitor.spec.endpoints.map((e: Doc) => e.port)).toEqual(['management']);
  });

  it('name the jobs as the alerts select them', () => {
    const [relabel] = monitor.spec.endpoints[0].relabelings;
    expect(relabel).toMatchObject({ targetLabel: 'job', replacement: 'cio-bridge-$1' });
    const down = (alerts.groups as Doc[])
      .flatMap((g) => g.rules)
      .find((r: Doc) => r.alert === 'CioBridgeTargetDown');
    const selector = /job=~"([^"]+)"/.exec(down.expr)?.[1] ?? '';
    for (const service of PRODUCTION_SERVICES)
      expect(new RegExp(`^(?:${selector})$`).test(relabel.replacement.replace('$1', service))).toBe(true);
    expect(new RegExp(`^(?:${selector})$`).test('checkout')).toBe(false);
  });

  it('is a kustomization of exactly the generated files', () => {
    expect(readYaml('infra', 'k8s', 'monitoring', 'kustomization.yaml').resources.sort()).toEqual([
      'prometheus-rule.yaml',
      'service-monitor.yaml',
    ]);
  });
});
