// infra/k8s for production: health and metrics on a management port of their own
// (probes and scraping there, never on the API port), horizontal autoscaling of the
// HTTP front doors, a NetworkPolicy per service that opens only what it needs, and the
// production overlay: registry images of the release version and the Kafka client
// certificates mounted as files.
import { spawnSync } from 'node:child_process';
import { type Doc, PRODUCTION_SERVICES, readText, readYamlDocuments, repoPath, repoRoot } from './helpers';
import { applyJsonPatch, renderKustomization } from './kustomize';

jest.setTimeout(60_000);

const MANAGEMENT_PORT = 9090;
const base = renderKustomization('infra/k8s');
const overlay = renderKustomization('infra/k8s-overlays/production');
const ofKind = (objects: Doc[], kind: string) => objects.filter((object) => object.kind === kind);
const named = (objects: Doc[], kind: string, name: string) =>
  ofKind(objects, kind).find((object) => object.metadata.name === name);
const container = (deployment: Doc) => deployment.spec.template.spec.containers[0];
const selects = (selector: Doc, deployment: Doc) =>
  Object.entries(selector ?? {}).every(
    ([key, value]) => deployment.spec.template.metadata.labels[key] === value,
  );

function validate(docs: Doc[]): string[] {
  const result = spawnSync(process.execPath, [repoPath('infra', 'tests', 'k8s-validate.mjs')], {
    cwd: repoRoot,
    input: JSON.stringify(docs),
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (result.status !== 0) throw new Error(`k8s-validate.mjs failed: ${result.stderr}`);
  const results = JSON.parse(result.stdout) as { ok: boolean; error?: string }[];
  return results.flatMap((r, i) => (r.ok ? [] : [`${docs[i].kind}/${docs[i].metadata?.name}: ${r.error}`]));
}

describe('the test renderer', () => {
  it('applies JSON patches and refuses a path that does not exist', () => {
    const object: Doc = { spec: { list: [1], map: { a: 1 } } };
    applyJsonPatch(object, [
      { op: 'add', path: '/spec/list/-', value: 2 },
      { op: 'replace', path: '/spec/map/a', value: 3 },
      { op: 'remove', path: '/spec/list/0' },
    ]);
    expect(object).toEqual({ spec: { list: [2], map: { a: 3 } } });
    expect(() => applyJsonPatch(object, [{ op: 'replace', path: '/spec/nothing/x', value: 1 }])).toThrow(
      'nothing at nothing',
    );
  });
});

describe.each(PRODUCTION_SERVICES)('%s on its management port', (name) => {
  const deployment = named(base, 'Deployment', name);
  const main = container(deployment);

  it(`sets MANAGEMENT_PORT=${MANAGEMENT_PORT} and declares it as the port "management"`, () => {
    expect(main.env).toContainEqual({ name: 'MANAGEMENT_PORT', value: String(MANAGEMENT_PORT) });
    expect(main.ports).toContainEqual({ name: 'management', containerPort: MANAGEMENT_PORT });
  });

  it('is probed there', () => {
    for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
      expect({ probe, port: main[probe].httpGet.port }).toEqual({ probe, port: 'management' });
    }
  });

  it('is scraped there, through a Service the ServiceMonitor selects', () => {
    expect(deployment.spec.template.metadata.annotations['prometheus.io/port']).toBe(String(MANAGEMENT_PORT));
    const services = ofKind(base, 'Service').filter((service) => selects(service.spec.selector, deployment));
    const ports = services.flatMap((service) => service.spec.ports);
    expect(ports).toContainEqual({ name: 'management', port: MANAGEMENT_PORT, targetPort: 'management' });
    const monitor = readYamlDocuments('infra', 'k8s', 'monitoring', 'service-monitor.yaml')[0];
    expect(monitor.spec.endpoints.map((endpoint: Doc) => endpoint.port)).toEqual(['management']);
    expect(monitor.spec.selector.matchExpressions[0].values).toContain(
      services[0].metadata.labels['app.kubernetes.io/name'],
    );
  });
});

describe('HorizontalPodAutoscalers', () => {
  it('scale exactly the producer and the webhook-handler (KEDA scales the consumers)', () => {
    const targets = ofKind(base, 'HorizontalPodAutoscaler').map((hpa) => hpa.spec.scaleTargetRef.name);
    expect(targets.sort()).toEqual(['producer', 'webhook-handler']);
  });

  it.each(['producer', 'webhook-handler'])(
    '%s scales on CPU between at least two replicas and more',
    (name) => {
      const hpa = named(base, 'HorizontalPodAutoscaler', name);
      expect(hpa.apiVersion).toBe('autoscaling/v2');
      expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name });
      expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
      expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
      expect(hpa.spec.metrics).toContainEqual({
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: expect.any(Number) } },
      });
      // The autoscaler owns the replica count: a replicas field would reset it on every apply.
      expect(named(base, 'Deployment', name).spec.replicas).toBeUndefined();
      // Utilization is relative to the request: without one the autoscaler cannot act.
      expect(container(named(base, 'Deployment', name)).resources.requests.cpu).toBeTruthy();
    },
  );
});

describe('NetworkPolicies', () => {
  const DNS = ['53/UDP', '53/TCP'];
  const KAFKA = ['9092-9098/TCP'];
  const OTLP = ['4317/TCP', '4318/TCP'];
  const egressNeeds: Record<string, string[]> = {
    producer: [...DNS, ...KAFKA, ...OTLP],
    'webhook-handler': [...DNS, ...KAFKA, ...OTLP, '6379/TCP'],
    'insights-processor': [...DNS, ...KAFKA, ...OTLP, '5432/TCP', '6379/TCP'],
    'cio-worker': [...DNS, ...KAFKA, ...OTLP, '6379/TCP', '443/TCP'],
  };
  const apiServed: Record<string, boolean> = {
    producer: true,
    'webhook-handler': true,
    'insights-processor': true,
    'cio-worker': false,
  };
  const portText = (port: Doc) =>
    `${port.port}${port.endPort ? `-${port.endPort}` : ''}/${port.protocol ?? 'TCP'}`;

  it.each(PRODUCTION_SERVICES)('%s has exactly one, over its pods, for both directions', (name) => {
    const deployment = named(base, 'Deployment', name);
    const policies = ofKind(base, 'NetworkPolicy').filter((p) =>
      selects(p.spec.podSelector.matchLabels, deployment),
    );
    expect(policies.map((p) => p.metadata.name)).toEqual([name]);
    expect(policies[0].spec.podSelector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
    expect(policies[0].spec.policyTypes.sort()).toEqual(['Egress', 'Ingress']);
  });

  it.each(PRODUCTION_SERVICES)('%s accepts only its own ports; management only from monitoring', (name) => {
    const policy = named(base, 'NetworkPolicy', name);
    const declared = container(named(base, 'Deployment', name)).ports.map((p: Doc) => p.name);
    const opened: string[] = [];
    for (const rule of policy.spec.ingress) {
      expect(rule.ports?.length).toBeGreaterThan(0);
      for (const port of rule.ports) {
        expect(declared).toContain(port.port);
        opened.push(port.port);
        if (port.port === 'management') {
          expect(rule.from).toEqual([
            { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
          ]);
        }
      }
    }
    expect(opened.sort()).toEqual(apiServed[name] ? ['http', 'management'] : ['management']);
  });

  it.each(PRODUCTION_SERVICES)('%s may reach only what it needs', (name) => {
    const policy = named(base, 'NetworkPolicy', name);
    const reached: string[] = [];
    for (const rule of policy.spec.egress) {
      // A rule without ports would open every port of its destinations.
      expect(rule.ports?.length).toBeGreaterThan(0);
      reached.push(...rule.ports.map(portText));
    }
    expect(reached.sort()).toEqual([...(egressNeeds[name] as string[])].sort());
    const dns = policy.spec.egress.find((rule: Doc) => rule.ports.some((p: Doc) => p.port === 53));
    expect(dns.to).toEqual([
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
        podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
      },
    ]);
  });

  it('are valid objects, like the HorizontalPodAutoscalers', () => {
    expect(validate([...ofKind(base, 'NetworkPolicy'), ...ofKind(base, 'HorizontalPodAutoscaler')])).toEqual(
      [],
    );
  });
});

describe('the production overlay (infra/k8s-overlays/production)', () => {
  const version = JSON.parse(readText('services', 'producer', 'package.json')).version;
  const certs = readYamlDocuments('infra', 'k8s', 'kafka-certs.example.yaml')[0];

  it('renders every object of the base, each valid', () => {
    const key = (o: Doc) => `${o.kind}/${o.metadata.name}`;
    expect(overlay.map(key).sort()).toEqual(base.map(key).sort());
    expect(validate([...overlay, certs])).toEqual([]);
  });

  it("runs the release version's images from a registry", () => {
    for (const deployment of ofKind(overlay, 'Deployment')) {
      expect(container(deployment).image).toBe(
        `registry.example.com/cio-bridge/${deployment.metadata.name}:${version}`,
      );
    }
  });

  it('connects to Kafka over TLS and with the client certificate, mounted from a Secret as files', () => {
    const config = named(overlay, 'ConfigMap', 'cio-bridge-config');
    expect(config.data.KAFKA_SSL).toBe('true');
    expect(certs.metadata.name).toBe('cio-bridge-kafka-certs');
    for (const deployment of ofKind(overlay, 'Deployment')) {
      const pod = deployment.spec.template.spec;
      const volume = pod.volumes.find((v: Doc) => v.secret?.secretName === 'cio-bridge-kafka-certs');
      expect(volume).toBeDefined();
      const mount = container(deployment).volumeMounts.find((m: Doc) => m.name === volume.name);
      expect(mount).toMatchObject({ readOnly: true, mountPath: expect.stringMatching(/^\//) });
      const env = new Map<string, Doc>(container(deployment).env.map((v: Doc) => [v.name, v]));
      for (const [variable, file] of [
        ['KAFKA_SSL_CA_FILE', 'ca.crt'],
        ['KAFKA_SSL_CERT_FILE', 'client.crt'],
        ['KAFKA_SSL_KEY_FILE', 'client.key'],
      ] as const) {
        expect(env.get(variable)).toEqual({ name: variable, value: `${mount.mountPath}/${file}` });
        expect(Object.keys(certs.stringData)).toContain(file);
      }
      // Only the certificate files are mounted; the key's password stays an environment secret.
      expect(volume.secret.items.map((item: Doc) => item.key).sort()).toEqual([
        'ca.crt',
        'client.crt',
        'client.key',
      ]);
      expect(env.get('KAFKA_SSL_KEY_PASSWORD').valueFrom.secretKeyRef).toEqual({
        name: 'cio-bridge-kafka-certs',
        key: 'client.key.password',
        optional: true,
      });
      expect(Object.keys(certs.stringData)).toContain('client.key.password');
    }
  });

  it('lets KEDA read the lag with the same certificates', () => {
    const refs: Doc[] = named(overlay, 'TriggerAuthentication', 'cio-bridge-kafka').spec.secretTargetRef;
    const fromCerts = refs.filter((ref) => ref.name === 'cio-bridge-kafka-certs');
    expect(fromCerts.map((ref) => [ref.parameter, ref.key])).toEqual([
      ['ca', 'ca.crt'],
      ['cert', 'client.crt'],
      ['key', 'client.key'],
    ]);
    expect(refs.map((ref) => ref.parameter)).toContain('tls');
  });
});
