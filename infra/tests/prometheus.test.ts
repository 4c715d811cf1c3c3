// The Prometheus configuration and alert rules: checked and unit-tested with promtool
// (Debian's `prometheus` package), and kept consistent with the metrics the services
// really export and with the runbooks in docs/runbooks.md.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import {
  type Doc,
  metricCatalog,
  metricsInPromql,
  PRODUCTION_SERVICES,
  readText,
  readYaml,
  repoPath,
  runTool,
  SERVICE_PORTS,
} from './helpers';

jest.setTimeout(60_000);

const promDir = repoPath('infra', 'prometheus');
const promtool = (args: string[], cwd = promDir) => runTool('promtool', args, { cwd });

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
const rules: AlertRule[] = (readYaml('infra', 'prometheus', 'alerts.yml').groups as Doc[]).flatMap(
  (group) => group.rules,
);
const alertNames = rules.map((rule) => rule.alert);

// The seed's §5.2 (and issue 7): each monitoring concern has an alert.
const REQUIRED_ALERTS = {
  'failed deliveries to Customer.io': 'CioDeliveryFailureRateHigh',
  'deliveries stopped': 'CioDeliveryStalled',
  'dead-letter growth': 'CioDeadLetterQueueGrowing',
  'Customer.io authentication failures': 'CioAuthenticationFailing',
  'consumer lag': 'CioConsumerLagHigh',
  'webhook failures': 'CioWebhookFailureRateHigh',
  'webhook signature rejections': 'CioWebhookSignatureRejections',
  'webhook processing time': 'CioWebhookProcessingSlow',
  'Customer.io request time': 'CioDeliveryLatencyHigh',
  'predictions not stored': 'CioPredictionsStalled',
  'a service down': 'CioBridgeTargetDown',
};

function withTempDir<T>(run: (dir: string) => T): T {
  const dir = mkdtempSync(path.join(tmpdir(), 'cio-prom-'));
  try {
    return run(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('promtool', () => {
  it('accepts the alert rules', () => {
    const result = promtool(['check', 'rules', 'alerts.yml']);
    expect(result.output).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(result.status).toBe(0);
  });

  it('accepts the Prometheus configuration and the rule file it loads', () => {
    const result = promtool(['check', 'config', 'prometheus.yml']);
    expect(result.output).toContain('is valid prometheus config file syntax');
    expect(result.status).toBe(0);
  });

  it('passes the alert unit tests (each alert fires, and stays silent, where it should)', () => {
    const result = promtool(['test', 'rules', 'alerts.test.yml']);
    expect(result.output).toContain('SUCCESS');
    expect(result.output).not.toContain('FAILED');
    expect(result.status).toBe(0);
  });

  it('rejects a rule file with a broken expression', () => {
    withTempDir((dir) => {
      const broken = { groups: [{ name: 'broken', rules: [{ alert: 'Broken', expr: 'sum(rate(x[5m])' }] }] };
      writeFileSync(path.join(dir, 'alerts.yml'), stringify(broken));
      const result = promtool(['check', 'rules', 'alerts.yml'], dir);
      expect(result.status).not.toBe(0);
      expect(result.output).toMatch(/unclosed|parse error|unexpected/i);
    });
  });

  it('fails an alert unit test whose expectation is wrong', () => {
    withTempDir((dir) => {
      copyFileSync(path.join(promDir, 'alerts.yml'), path.join(dir, 'alerts.yml'));
      const tests = readFileSync(path.join(promDir, 'alerts.test.yml'), 'utf8').replace(
        'summary: "cio-bridge-cio-worker at cio-worker:8084 cannot be scraped"',
        'summary: "cio-bridge-producer at producer:8081 cannot be scraped"',
      );
      expect(tests).toContain('summary: "cio-bridge-producer at producer:8081 cannot be scraped"');
      writeFileSync(path.join(dir, 'alerts.test.yml'), tests);
      const result = promtool(['test', 'rules', 'alerts.test.yml'], dir);
      expect(result.status).not.toBe(0);
      expect(result.output).toContain('FAILED');
    });
  });
});

describe('alert rules', () => {
  it.each(Object.entries(REQUIRED_ALERTS))('cover %s (%s)', (_concern, alert) => {
    expect(alertNames).toContain(alert);
  });

  it('have unique names', () => {
    expect(new Set(alertNames).size).toBe(alertNames.length);
  });

  it.each(rules.map((rule) => [rule.alert, rule] as const))(
    '%s has a severity, a component, a summary, a description and a runbook_url into docs/runbooks.md',
    (name, rule) => {
      expect(['critical', 'warning']).toContain(rule.labels?.severity);
      expect(rule.labels?.component).toMatch(/^[a-z]+$/);
      expect(rule.annotations?.summary?.length).toBeGreaterThan(10);
      expect(rule.annotations?.description?.length).toBeGreaterThan(40);
      expect(rule.annotations?.runbook_url).toBe(`docs/runbooks.md#${name.toLowerCase()}`);
    },
  );

  it('read only metrics that the services export', () => {
    const catalog = metricCatalog();
    const unknown = rules.flatMap((rule) =>
      metricsInPromql(rule.expr)
        .filter((metric) => !catalog.has(metric))
        .map((metric) => `${rule.alert}: ${metric}`),
    );
    expect(unknown).toEqual([]);
  });

  it('each have a unit test where they fire and one where they stay silent', () => {
    const tests: Doc[] = readYaml('infra', 'prometheus', 'alerts.test.yml').tests;
    const cases = tests.flatMap((test) => test.alert_rule_test as Doc[]);
    const missing = alertNames.flatMap((alert) => {
      const own = cases.filter((c) => c.alertname === alert);
      return [
        ...(own.some((c) => (c.exp_alerts ?? []).length > 0) ? [] : [`${alert} never fires`]),
        ...(own.some((c) => (c.exp_alerts ?? []).length === 0) ? [] : [`${alert} is never silent`]),
      ];
    });
    expect(missing).toEqual([]);
  });

  it('have a runbook section in docs/runbooks.md for every alert', () => {
    const readme = readText('docs', 'runbooks.md');
    const anchors = new Set<string>();
    for (const [, heading] of readme.matchAll(/^#{1,6}\s+(.+)$/gm)) {
      anchors.add(
        heading!
          .trim()
          .toLowerCase()
          .replace(/[^\w\- ]/g, '')
          .replace(/ /g, '-'),
      );
    }
    for (const [, id] of readme.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(id!);
    const missing = rules
      .map((rule) => rule.annotations.runbook_url!.split('#')[1]!)
      .filter((anchor) => !anchors.has(anchor));
    expect(missing).toEqual([]);
  });
});

describe('prometheus.yml', () => {
  const config = readYaml('infra', 'prometheus', 'prometheus.yml');

  it('scrapes every service on its compose host name and port, as job cio-bridge-<service>', () => {
    const targets = new Map<string, string[]>(
      (config.scrape_configs as Doc[]).map((job) => [
        job.job_name,
        (job.static_configs as Doc[]).flatMap((c) => c.targets),
      ]),
    );
    for (const [service, port] of Object.entries(SERVICE_PORTS)) {
      expect(targets.get(`cio-bridge-${service}`)).toEqual([`${service}:${port}`]);
    }
    expect(PRODUCTION_SERVICES.every((service) => targets.has(`cio-bridge-${service}`))).toBe(true);
  });

  it('loads alerts.yml', () => {
    expect(config.rule_files).toEqual(['alerts.yml']);
  });
});
