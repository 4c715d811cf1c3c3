// The Grafana dashboard and its provisioning: valid JSON, queries that promtool parses
// and that read metrics the services really export, wired to the provisioned datasource.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { type Doc, metricCatalog, metricsInPromql, readYaml, repoPath, runTool } from './helpers';

jest.setTimeout(60_000);

const dashboardsDir = repoPath('infra', 'grafana', 'dashboards');
const dashboardFiles = readdirSync(dashboardsDir).filter((file) => file.endsWith('.json'));
const datasources: Doc[] = readYaml(
  'infra',
  'grafana',
  'provisioning',
  'datasources',
  'prometheus.yml',
).datasources;
const providers: Doc[] = readYaml(
  'infra',
  'grafana',
  'provisioning',
  'dashboards',
  'cio-bridge.yml',
).providers;
const compose = readYaml('docker-compose.yml');

interface Query {
  file: string;
  panel: string;
  expr: string;
}

function loadDashboard(file: string): Doc {
  return JSON.parse(readFileSync(path.join(dashboardsDir, file), 'utf8'));
}

function queries(file: string, dashboard: Doc): Query[] {
  return (dashboard.panels as Doc[]).flatMap((panel) =>
    ((panel.targets ?? []) as Doc[]).map((target) => ({ file, panel: panel.title, expr: target.expr })),
  );
}

const allQueries = dashboardFiles.flatMap((file) => queries(file, loadDashboard(file)));

describe('Grafana dashboards', () => {
  it('exist', () => {
    expect(dashboardFiles).toContain('cio-bridge-flow.json');
  });

  it.each(dashboardFiles)('%s has a uid, unique panel ids and panels on the 24-column grid', (file) => {
    const dashboard = loadDashboard(file);
    expect(dashboard.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    expect(dashboard.title).toBeTruthy();
    const ids = (dashboard.panels as Doc[]).map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of dashboard.panels as Doc[]) {
      expect(panel.gridPos.x + panel.gridPos.w).toBeLessThanOrEqual(24);
    }
  });

  it('query the provisioned Prometheus datasource', () => {
    const uids = new Set(datasources.map((ds) => ds.uid));
    const elsewhere = dashboardFiles.flatMap((file) =>
      (loadDashboard(file).panels as Doc[])
        .filter((panel) => panel.type !== 'row' && !uids.has(panel.datasource?.uid))
        .map((panel) => `${file}: ${panel.title}`),
    );
    expect(elsewhere).toEqual([]);
  });

  it('show both directions of the flow', () => {
    const exprs = allQueries.map((query) => query.expr).join('\n');
    for (const metric of [
      'cio_bridge_producer_operations_published_total',
      'cio_bridge_worker_operations_delivered_total',
      'cio_bridge_worker_operations_dead_lettered_total',
      'cio_bridge_worker_consumer_lag_messages',
      'cio_bridge_webhook_requests_total',
      'cio_bridge_webhook_processing_duration_seconds_bucket',
      'cio_bridge_insights_predictions_persisted_total',
    ]) {
      expect(exprs).toContain(metric);
    }
  });

  it('select one or all deployments: every metric read is filtered by the namespace variable', () => {
    const unfiltered = allQueries.flatMap((query) =>
      metricsInPromql(query.expr)
        .filter((metric) => !new RegExp(`\\b${metric}\\{[^}]*namespace=~"\\$namespace"`).test(query.expr))
        .map((metric) => `${query.panel}: ${metric}`),
    );
    expect(unfiltered).toEqual([]);
    const variable = (loadDashboard(dashboardFiles[0]!).templating.list as Doc[]).find(
      (v) => v.name === 'namespace',
    );
    expect(variable).toMatchObject({ includeAll: true, multi: true, allValue: '.*' });
  });

  it('read only metrics that the services export', () => {
    const catalog = metricCatalog();
    const unknown = allQueries.flatMap((query) =>
      metricsInPromql(query.expr)
        .filter((metric) => !catalog.has(metric))
        .map((metric) => `${query.panel}: ${metric}`),
    );
    expect(unknown).toEqual([]);
  });

  it('have queries that promtool parses', () => {
    // Each query becomes a recording rule, Grafana's $__rate_interval a fixed range.
    const dir = mkdtempSync(path.join(tmpdir(), 'cio-grafana-'));
    try {
      const rules = allQueries.map((query, index) => ({
        record: `dashboard:query_${index}`,
        expr: query.expr.replaceAll('$__rate_interval', '1m'),
      }));
      writeFileSync(path.join(dir, 'queries.yml'), stringify({ groups: [{ name: 'dashboard', rules }] }));
      const result = runTool('promtool', ['check', 'rules', 'queries.yml'], { cwd: dir });
      expect(result.output).toContain(`SUCCESS: ${rules.length} rules found`);
      expect(result.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Grafana provisioning in docker-compose', () => {
  const volumes: string[] = compose.services.grafana.volumes;

  it('points the datasource at the compose Prometheus', () => {
    expect(datasources).toEqual([
      expect.objectContaining({ type: 'prometheus', uid: 'prometheus', url: 'http://prometheus:9090' }),
    ]);
    expect(compose.services.prometheus).toBeDefined();
  });

  it('mounts the provisioning files and the folder the dashboard provider reads', () => {
    expect(volumes).toContain('./infra/grafana/provisioning:/etc/grafana/provisioning:ro');
    const dashboardsMount = volumes.find((volume) => volume.startsWith('./infra/grafana/dashboards:'));
    expect(dashboardsMount?.split(':')[1]).toBe(providers[0].options.path);
  });

  it('opens the flow dashboard by default', () => {
    expect(compose.services.grafana.environment.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH).toBe(
      `${providers[0].options.path}/cio-bridge-flow.json`,
    );
  });
});
