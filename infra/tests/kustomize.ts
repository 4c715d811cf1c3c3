// A small kustomize for the tests: renders infra/k8s and its overlays without a
// cluster or a kustomize binary. It knows only the fields the kustomizations here use
// (resources, namespace, labels, images, JSON 6902 patches) and refuses any other, so a
// kustomization can never be checked half-understood.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { type Doc, readText, readYamlDocuments, repoRoot } from './helpers';

const KNOWN = new Set(['apiVersion', 'kind', 'namespace', 'labels', 'resources', 'images', 'patches']);

interface PatchOperation {
  op: 'add' | 'replace' | 'remove';
  path: string;
  value?: unknown;
}

/** The parent of the place a JSON pointer names, and the last key (`-` appends to an array). */
function locate(target: Doc, pointer: string): { parent: Doc; key: string } {
  const keys = pointer
    .split('/')
    .slice(1)
    .map((key) => key.replaceAll('~1', '/').replaceAll('~0', '~'));
  const key = keys.pop();
  if (key === undefined) throw new Error(`patch path ${pointer} names the whole object`);
  let parent = target;
  for (const step of keys) {
    parent = parent?.[step];
    if (parent === undefined) throw new Error(`patch path ${pointer}: nothing at ${step}`);
  }
  return { parent, key };
}

export function applyJsonPatch(target: Doc, operations: PatchOperation[]): void {
  for (const { op, path: pointer, value } of operations) {
    const { parent, key } = locate(target, pointer);
    if (op === 'add' && Array.isArray(parent)) {
      parent.splice(key === '-' ? parent.length : Number(key), 0, structuredClone(value));
    } else if (op === 'add' || (op === 'replace' && key in parent)) {
      parent[key] = structuredClone(value);
    } else if (op === 'remove' && key in parent) {
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete parent[key];
    } else {
      throw new Error(`patch ${op} ${pointer}: nothing to ${op}`);
    }
  }
}

const matches = (object: Doc, target: Doc) =>
  Object.entries(target).every(([field, wanted]) =>
    field === 'name' ? object.metadata?.name === wanted : object[field] === wanted,
  );

/** The objects a kustomization directory (relative to the repository) produces. */
export function renderKustomization(dir: string): Doc[] {
  const kustomization = parseYaml(readText(dir, 'kustomization.yaml'));
  const unknown = Object.keys(kustomization).filter((field) => !KNOWN.has(field));
  if (unknown.length > 0) throw new Error(`${dir}/kustomization.yaml: unsupported ${unknown.join(', ')}`);

  const objects: Doc[] = (kustomization.resources as string[]).flatMap((resource) => {
    const full = path.join(repoRoot, dir, resource);
    if (!existsSync(full)) throw new Error(`${dir}: resource ${resource} does not exist`);
    // kustomize refuses a base that contains the overlay (a cycle): so does this.
    const inside = path.relative(full, path.join(repoRoot, dir));
    if (resource.startsWith('..') && !inside.startsWith('..')) {
      throw new Error(`${dir}: resource ${resource} contains the kustomization itself`);
    }
    return statSync(full).isDirectory()
      ? renderKustomization(path.join(dir, resource))
      : readYamlDocuments(dir, resource);
  });

  for (const patch of kustomization.patches ?? []) {
    const operations = parseYaml(readText(dir, patch.path)) as PatchOperation[];
    const targets = objects.filter((object) => matches(object, patch.target));
    if (targets.length === 0) throw new Error(`${dir}: patch ${patch.path} matches no object`);
    for (const object of targets) applyJsonPatch(object, operations);
  }

  for (const image of kustomization.images ?? []) {
    for (const object of objects.filter((o) => o.kind === 'Deployment')) {
      for (const container of object.spec.template.spec.containers) {
        const [name, tag] = String(container.image).split(':');
        if (name !== image.name) continue;
        container.image = `${image.newName ?? name}:${image.newTag ?? tag}`;
      }
    }
  }

  for (const object of objects) {
    if (kustomization.namespace && object.kind !== 'Namespace') {
      object.metadata.namespace = kustomization.namespace;
    }
    for (const { pairs } of kustomization.labels ?? []) {
      object.metadata.labels = { ...object.metadata.labels, ...pairs };
    }
  }
  return objects;
}
