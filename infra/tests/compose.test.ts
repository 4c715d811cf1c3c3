// docker-compose.yml: validated by Compose itself (`docker-compose config`, Debian's
// docker-compose package; no Docker daemon needed), and checked against the services:
// their ports, their configuration schemas, the Dockerfile and the Kafka version.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_CREDENTIALS } from '@cio-bridge/cio-sandbox';
import { workerEnv } from '@cio-bridge/cio-worker/config';
import { loadConfig } from '@cio-bridge/config';
import { insightsEnv } from '@cio-bridge/insights-processor/config';
import { producerEnv } from '@cio-bridge/producer/config';
import { webhookEnv } from '@cio-bridge/webhook-handler/config';
import { parse as parseYaml } from 'yaml';
import {
  cleanEnv,
  type Doc,
  PRODUCTION_SERVICES,
  readText,
  readYaml,
  repoPath,
  runTool,
  SERVICE_PORTS,
  SERVICES,
} from './helpers';

jest.setTimeout(60_000);

const composeFile = repoPath('docker-compose.yml');

/** `docker-compose config`: validates the file and prints it resolved (anchors, variables). */
function composeConfig(file: string, env: NodeJS.ProcessEnv = {}) {
  return runTool('docker-compose', ['--file', file, '--project-directory', path.dirname(file), 'config'], {
    cwd: path.dirname(file),
    env: cleanEnv(env),
  });
}

const resolved = (() => {
  const result = composeConfig(composeFile);
  if (result.status !== 0)
    throw new Error(`docker-compose config rejected docker-compose.yml:\n${result.output}`);
  return parseYaml(result.stdout);
})();
const services: Record<string, Doc> = resolved.services;

function withBrokenCompose(edit: (source: string) => string) {
  const dir = mkdtempSync(path.join(tmpdir(), 'cio-compose-'));
  try {
    const source = readText('docker-compose.yml');
    const broken = edit(source);
    expect(broken).not.toBe(source);
    writeFileSync(path.join(dir, 'docker-compose.yml'), broken);
    return composeConfig(path.join(dir, 'docker-compose.yml'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('docker-compose config', () => {
  it('accepts docker-compose.yml', () => {
    const result = composeConfig(composeFile);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('rejects a dependency on a service that does not exist', () => {
    const result = withBrokenCompose((source) => source.replace(/^ {2}postgres:$/m, '  database:'));
    expect(result.status).not.toBe(0);
    expect(result.output).toContain("depends on service 'postgres' which is undefined");
  });

  it('rejects an unknown depends_on condition', () => {
    const result = withBrokenCompose((source) =>
      source.replace('condition: service_healthy', 'condition: service_ready'),
    );
    expect(result.status).not.toBe(0);
    expect(result.output).toContain('service_ready');
  });

  it('rejects an unknown service option', () => {
    const result = withBrokenCompose((source) => source.replace('  read_only: true', '  readonly: true'));
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/readonly/);
  });
});

describe('the compose stack', () => {
  it('runs Kafka, Postgres, Redis, the four services, the sandbox, Prometheus, Grafana and the DLQ tool', () => {
    expect(Object.keys(services).sort()).toEqual(
      ['kafka', 'postgres', 'redis', ...SERVICES, 'prometheus', 'grafana', 'cio-dlq'].sort(),
    );
    expect(services['cio-dlq'].profiles).toEqual(['tools']);
    expect(services['cio-dlq'].build).toMatchObject({ context: path.dirname(composeFile), target: 'cli' });
  });

  it('runs Kafka as a single KRaft node of the version the local broker uses', () => {
    const pom = readText('infra', 'kafka', 'pom.xml');
    const version = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom)?.[1];
    expect(services.kafka.image).toBe(`apache/kafka:${version}`);
    expect(services.kafka.environment.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(services.kafka.environment.KAFKA_AUTO_CREATE_TOPICS_ENABLE).toBe('false');
  });

  it('gives every long-running container a health check', () => {
    const without = Object.entries(services)
      .filter(([name, service]) => name !== 'cio-dlq' && !service.healthcheck?.test)
      .map(([name]) => name);
    expect(without).toEqual([]);
  });

  it('starts services only after the dependencies they need are healthy', () => {
    const needs: Record<string, string[]> = {
      producer: ['kafka'],
      'webhook-handler': ['kafka', 'redis'],
      'insights-processor': ['kafka', 'postgres', 'redis'],
      'cio-worker': ['kafka', 'redis', 'cio-sandbox'],
      'cio-dlq': ['kafka'],
      grafana: ['prometheus'],
    };
    for (const [service, dependencies] of Object.entries(needs)) {
      const dependsOn = services[service].depends_on;
      for (const dependency of dependencies) {
        expect({ service, dependency, condition: dependsOn?.[dependency]?.condition }).toEqual({
          service,
          dependency,
          condition: 'service_healthy',
        });
      }
    }
  });

  it.each(SERVICES)('builds %s from the one Dockerfile, listens on its port and checks /healthz', (name) => {
    const service = services[name];
    const port = SERVICE_PORTS[name];
    expect(service.build.dockerfile ?? 'Dockerfile').toBe('Dockerfile');
    expect(service.build.args).toEqual({ SERVICE: name });
    expect(service.build.context).toBe(path.dirname(composeFile));
    expect(service.environment.PORT).toBe(String(port));
    expect(service.ports).toEqual([expect.objectContaining({ target: port, published: port })]);
    expect(service.healthcheck.test.join(' ')).toContain('/healthz');
    expect(service.read_only).toBe(true);
  });

  it('reaches Kafka on the internal listener from every service', () => {
    for (const name of [...PRODUCTION_SERVICES, 'cio-dlq']) {
      expect(services[name].environment.KAFKA_BROKERS).toBe('kafka:19092');
    }
    expect(services.kafka.environment.KAFKA_ADVERTISED_LISTENERS).toContain('INTERNAL://kafka:19092');
  });

  it("gives each service an environment that passes the service's own configuration check", () => {
    const schemas = {
      producer: producerEnv,
      'webhook-handler': webhookEnv,
      'insights-processor': insightsEnv,
      'cio-worker': workerEnv,
    } as const;
    for (const [name, schema] of Object.entries(schemas)) {
      const config = loadConfig(schema, services[name].environment) as { PORT: number };
      expect(config.PORT).toBe(SERVICE_PORTS[name as keyof typeof schemas]);
    }
  });

  it('sends cio-worker to the sandbox with the sandbox credentials unless told otherwise', () => {
    const worker = services['cio-worker'].environment;
    expect(worker.CIO_TRACK_URL).toBe('http://cio-sandbox:8090');
    expect(worker.CIO_APP_URL).toBe('http://cio-sandbox:8090');
    expect(worker).toMatchObject({
      CIO_SITE_ID: DEFAULT_CREDENTIALS.siteId,
      CIO_API_KEY: DEFAULT_CREDENTIALS.apiKey,
      CIO_APP_API_KEY: DEFAULT_CREDENTIALS.appApiKey,
    });
    expect(services['cio-sandbox'].environment.SANDBOX_HOST).toBe('0.0.0.0');
  });

  it('takes real Customer.io settings from the environment', () => {
    const result = composeConfig(composeFile, {
      CIO_SITE_ID: 'site-from-env',
      CIO_TRACK_URL: 'https://track-eu.customer.io',
      CIO_REGION: 'eu',
    });
    expect(result.status).toBe(0);
    const worker = parseYaml(result.stdout).services['cio-worker'].environment;
    expect(worker).toMatchObject({
      CIO_SITE_ID: 'site-from-env',
      CIO_TRACK_URL: 'https://track-eu.customer.io',
      CIO_REGION: 'eu',
    });
  });

  it('mounts the Prometheus configuration that holds the alert rules', () => {
    expect(services.prometheus.volumes).toContain(`${repoPath('infra', 'prometheus')}:/etc/prometheus:ro`);
    expect(services.prometheus.command).toContain('--config.file=/etc/prometheus/prometheus.yml');
    expect(readYaml('infra', 'prometheus', 'prometheus.yml').rule_files).toEqual(['alerts.yml']);
  });
});
