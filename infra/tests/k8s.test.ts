// infra/k8s: every object validated against the Kubernetes and KEDA schemas (npm
// kubernetes-models, @kubernetes-models/keda), and checked for what production needs:
// probes on /readyz and /healthz, resources, disruption budgets, secrets only by
// reference, Services for the HTTP services, and lag-based autoscaling that never
// exceeds the partition count declared in packages/kafka/src/topics.ts.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { workerEnv } from '@cio-bridge/cio-worker/config';
import { loadConfig } from '@cio-bridge/config';
import { insightsEnv } from '@cio-bridge/insights-processor/config';
import { TOPICS } from '@cio-bridge/kafka';
import { producerEnv } from '@cio-bridge/producer/config';
import { webhookEnv } from '@cio-bridge/webhook-handler/config';
import {
  type Doc,
  PRODUCTION_SERVICES,
  readYaml,
  readYamlDocuments,
  repoPath,
  repoRoot,
  SERVICE_PORTS,
} from './helpers';

jest.setTimeout(60_000);

const k8sDir = repoPath('infra', 'k8s');
const kustomization = readYaml('infra', 'k8s', 'kustomization.yaml');
const resourceFiles: string[] = kustomization.resources;
const objects: Doc[] = resourceFiles.flatMap((file) => readYamlDocuments('infra', 'k8s', file));
const exampleSecret: Doc = readYamlDocuments('infra', 'k8s', 'secret.example.yaml')[0];
const exampleIngress: Doc = readYamlDocuments('infra', 'k8s', 'webhook-ingress.example.yaml')[0];
const ofKind = (kind: string) => objects.filter((object) => object.kind === kind);
const named = (kind: string, name: string) => ofKind(kind).find((object) => object.metadata.name === name);
const configMap = named('ConfigMap', 'cio-bridge-config');
const container = (deployment: Doc) => deployment.spec.template.spec.containers[0];

interface Validation {
  ok: boolean;
  error?: string;
}

/** Schema validation in a child process (the model packages are ES modules only). */
function validate(docs: Doc[]): Validation[] {
  const result = spawnSync(process.execPath, [repoPath('infra', 'tests', 'k8s-validate.mjs')], {
    cwd: repoRoot,
    input: JSON.stringify(docs),
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (result.status !== 0) throw new Error(`k8s-validate.mjs failed: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

describe('schema validation', () => {
  it('accepts every object of the kustomization and the examples (Secret, Ingress)', () => {
    const all = [...objects, exampleSecret, exampleIngress];
    const results = validate(all);
    const failures = results.flatMap((result, index) =>
      result.ok ? [] : [`${all[index].kind}/${all[index].metadata?.name}: ${result.error}`],
    );
    expect(failures).toEqual([]);
    expect(results).toHaveLength(all.length);
  });

  it('rejects broken objects', () => {
    const deployment = structuredClone(named('Deployment', 'producer'));
    container(deployment).ports[0].containerPort = 'http';
    const noSelector = structuredClone(named('Deployment', 'producer'));
    delete noSelector.spec.selector;
    const scaledObject = structuredClone(named('ScaledObject', 'cio-worker'));
    scaledObject.spec.maxReplicaCount = 'twelve';
    const noTarget = structuredClone(named('ScaledObject', 'cio-worker'));
    delete noTarget.spec.scaleTargetRef;
    const unknownKind = { apiVersion: 'apps/v1', kind: 'Deploymnt', metadata: { name: 'x' } };

    const results = validate([deployment, noSelector, scaledObject, noTarget, unknownKind]);
    expect(results.map((r) => r.ok)).toEqual([false, false, false, false, false]);
    expect(results[0]?.error).toContain('containerPort must be integer');
    expect(results[1]?.error).toContain('must have required property selector');
    expect(results[2]?.error).toContain('maxReplicaCount must be integer');
    expect(results[3]?.error).toContain('must have required property scaleTargetRef');
    expect(results[4]?.error).toContain('no schema for apps/v1 Deploymnt');
  });
});

describe('kustomization', () => {
  it('lists every manifest of infra/k8s except the examples', () => {
    const manifests = readdirSync(k8sDir).filter(
      (file) => file.endsWith('.yaml') && file !== 'kustomization.yaml' && !file.endsWith('.example.yaml'),
    );
    expect([...resourceFiles].sort()).toEqual(manifests.sort());
  });

  it('creates no Secret: secrets come from the cluster', () => {
    expect(ofKind('Secret')).toEqual([]);
  });

  it('puts everything into the cio-bridge namespace', () => {
    expect(kustomization.namespace).toBe('cio-bridge');
    expect(named('Namespace', 'cio-bridge')).toBeDefined();
  });

  it('can retag every image', () => {
    const images = ofKind('Deployment').map((d) => container(d).image.split(':')[0]);
    expect((kustomization.images as Doc[]).map((image) => image.name).sort()).toEqual(images.sort());
  });
});

describe.each(PRODUCTION_SERVICES)('%s', (name) => {
  const deployment = named('Deployment', name);
  const main = deployment && container(deployment);
  const port = SERVICE_PORTS[name];

  it('is a Deployment whose selector matches its pods', () => {
    expect(deployment).toBeDefined();
    expect(deployment.spec.template.metadata.labels).toMatchObject(deployment.spec.selector.matchLabels);
  });

  it(`serves HTTP on ${port}, probed for readiness on /readyz and liveness on /healthz`, () => {
    // cio-worker has no API: only its management port is declared (k8s-production.test.ts).
    const api = name === 'cio-worker' ? [] : [{ name: 'http', containerPort: port }];
    expect(main.ports).toEqual([...api, { name: 'management', containerPort: 9090 }]);
    expect(main.env).toEqual(expect.arrayContaining([{ name: 'PORT', value: String(port) }]));
    expect(main.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'management' });
    expect(main.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'management' });
  });

  it('requests and limits CPU and memory', () => {
    for (const bound of ['requests', 'limits']) {
      expect(main.resources[bound]).toEqual({ cpu: expect.anything(), memory: expect.stringMatching(/Mi$/) });
    }
  });

  it('runs as non-root without privileges', () => {
    expect(deployment.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
    expect(main.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
  });

  it('has a PodDisruptionBudget over its pods', () => {
    const pdb = named('PodDisruptionBudget', name);
    expect(pdb.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
    expect(pdb.spec.minAvailable ?? pdb.spec.maxUnavailable).toBe(1);
  });

  it('takes secrets only by reference, from keys the example Secret documents', () => {
    const secretish = /KEY|TOKEN|PASSWORD|SECRET|USERNAME|SITE_ID|DATABASE_URL|REDIS_URL/;
    for (const variable of main.env as Doc[]) {
      if (!secretish.test(variable.name)) continue;
      expect({ name: variable.name, value: variable.value }).toEqual({
        name: variable.name,
        value: undefined,
      });
      const ref = variable.valueFrom.secretKeyRef;
      expect(ref.name).toBe('cio-bridge-secrets');
      expect(Object.keys(exampleSecret.stringData)).toContain(ref.key);
    }
    expect(Object.keys(configMap.data).filter((key) => secretish.test(key))).toEqual([]);
  });

  it("gets an environment that passes the service's own configuration check", () => {
    const schemas = {
      producer: producerEnv,
      'webhook-handler': webhookEnv,
      'insights-processor': insightsEnv,
      'cio-worker': workerEnv,
    } as const;
    const env: Record<string, string> = { ...configMap.data };
    for (const variable of main.env as Doc[]) {
      const ref = variable.valueFrom?.secretKeyRef;
      env[variable.name] = ref ? exampleSecret.stringData[ref.key] : variable.value;
    }
    const config = loadConfig(schemas[name as keyof typeof schemas], env) as { PORT: number };
    expect(config.PORT).toBe(port);
  });
});

describe('Services', () => {
  it.each(['producer', 'webhook-handler', 'insights-processor'] as const)(
    '%s has a Service on its port that selects its pods',
    (name) => {
      const service = named('Service', name);
      expect(service.spec.ports).toEqual([
        { name: 'http', port: SERVICE_PORTS[name], targetPort: 'http' },
        { name: 'management', port: 9090, targetPort: 'management' },
      ]);
      expect(service.spec.selector).toEqual(named('Deployment', name).spec.selector.matchLabels);
    },
  );

  it('the example Ingress exposes exactly the webhook path of the webhook-handler Service, over TLS', () => {
    const [rule] = exampleIngress.spec.rules;
    expect(exampleIngress.spec.rules).toHaveLength(1);
    expect(rule.http.paths).toEqual([
      {
        path: '/webhooks/customer-io',
        pathType: 'Exact',
        backend: { service: { name: 'webhook-handler', port: { name: 'http' } } },
      },
    ]);
    expect(named('Service', 'webhook-handler').spec.ports.map((p: Doc) => p.name)).toContain('http');
    expect(exampleIngress.spec.tls[0].hosts).toEqual([rule.host]);
  });

  it('are not needed for cio-worker (health and metrics only) nor deployed for the sandbox', () => {
    expect(named('Service', 'cio-worker')).toBeUndefined();
    expect(named('Deployment', 'cio-sandbox')).toBeUndefined();
  });
});

describe('KEDA autoscaling on consumer lag', () => {
  const partitionsOf = new Map<string, number>(
    Object.values(TOPICS).map((topic) => [topic.name, topic.partitions]),
  );
  const expected = {
    'cio-worker': [TOPICS.track.name, TOPICS.transactional.name],
    'insights-processor': [TOPICS.predictions.name, TOPICS.reporting.name],
  };

  it('scales exactly cio-worker and insights-processor', () => {
    expect(
      ofKind('ScaledObject')
        .map((so) => so.spec.scaleTargetRef.name)
        .sort(),
    ).toEqual(Object.keys(expected).sort());
  });

  it.each(Object.entries(expected))(
    '%s scales on the lag of its topics and consumer group',
    (name, topics) => {
      const scaledObject = named('ScaledObject', name);
      const deployment = named('Deployment', name);
      const groupId = (container(deployment).env as Doc[]).find((v) => v.name === 'KAFKA_GROUP_ID')?.value;
      expect(groupId).toBe(name);
      expect(scaledObject.spec.scaleTargetRef).toEqual({ name });
      const triggers: Doc[] = scaledObject.spec.triggers;
      expect(triggers.map((t) => t.metadata.topic).sort()).toEqual([...topics].sort());
      for (const trigger of triggers) {
        expect(trigger.type).toBe('kafka');
        expect(trigger.metadata.consumerGroup).toBe(groupId);
        expect(trigger.metadata.bootstrapServersFromEnv).toBe('KAFKA_BROKERS');
        expect(configMap.data.KAFKA_BROKERS).toBeTruthy();
        expect(trigger.authenticationRef.name).toBe(
          named('TriggerAuthentication', 'cio-bridge-kafka').metadata.name,
        );
      }
      // KEDA owns the replica count: a replicas field would fight it on every apply.
      expect(deployment.spec.replicas).toBeUndefined();
    },
  );

  it.each(Object.keys(expected))(
    '%s never scales beyond the partitions of its largest topic (packages/kafka/src/topics.ts)',
    (name) => {
      const scaledObject = named('ScaledObject', name);
      const partitions = (scaledObject.spec.triggers as Doc[]).map((t) => partitionsOf.get(t.metadata.topic));
      expect(partitions.every((count) => typeof count === 'number')).toBe(true);
      const largest = Math.max(...(partitions as number[]));
      expect(scaledObject.spec.maxReplicaCount).toBeLessThanOrEqual(largest);
      expect(scaledObject.spec.minReplicaCount).toBeGreaterThanOrEqual(1);
      expect(scaledObject.spec.maxReplicaCount).toBeGreaterThan(scaledObject.spec.minReplicaCount);
    },
  );

  it("authenticates KEDA to Kafka from the Secret's documented keys", () => {
    const refs: Doc[] = named('TriggerAuthentication', 'cio-bridge-kafka').spec.secretTargetRef;
    expect(refs.map((ref) => ref.parameter).sort()).toEqual(['password', 'sasl', 'tls', 'username']);
    for (const ref of refs) {
      expect(ref.name).toBe('cio-bridge-secrets');
      expect(Object.keys(exampleSecret.stringData)).toContain(ref.key);
    }
  });
});
