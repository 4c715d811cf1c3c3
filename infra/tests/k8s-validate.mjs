// Validates Kubernetes objects against the Kubernetes and KEDA OpenAPI schemas shipped in
// the npm packages kubernetes-models, @kubernetes-models/keda and
// @kubernetes-models/prometheus-operator (no network, no cluster).
// Those packages are ES modules only, so infra/tests/k8s.test.ts runs this as a child
// process: a JSON array of objects on stdin, a JSON array of results on stdout.
//   [{ "apiVersion": "apps/v1", "kind": "Deployment", ... }]  ->  [{ "ok": true }, { "ok": false, "error": "..." }]

const readStdin = async () => {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  return input;
};

/** The module that holds the model class of an apiVersion and kind. */
function modelModule(apiVersion, kind) {
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return null;
  if (!/^[A-Za-z]+$/.test(kind)) return null;
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  if (!/^[a-z0-9.]*$/.test(group) || !/^v[0-9a-z]+$/.test(version ?? '')) return null;
  if (group === 'keda.sh') return `@kubernetes-models/keda/keda.sh/${version}/${kind}`;
  if (group === 'monitoring.coreos.com')
    return `@kubernetes-models/prometheus-operator/monitoring.coreos.com/${version}/${kind}`;
  if (group === '') return `kubernetes-models/${version}/${kind}`;
  return `kubernetes-models/${group}/${version}/${kind}`;
}

async function validate(object) {
  const specifier = modelModule(object?.apiVersion, object?.kind);
  if (!specifier) return { ok: false, error: `no apiVersion/kind: ${object?.apiVersion}/${object?.kind}` };
  let Model;
  try {
    Model = (await import(specifier))[object.kind];
  } catch {
    Model = undefined;
  }
  if (typeof Model !== 'function') {
    return { ok: false, error: `no schema for ${object.apiVersion} ${object.kind}` };
  }
  try {
    new Model(object).validate();
    return { ok: true };
  } catch (error) {
    return { ok: false, error: String(error?.message ?? error) };
  }
}

const objects = JSON.parse(await readStdin());
const results = [];
for (const object of objects) results.push(await validate(object));
process.stdout.write(JSON.stringify(results));
