import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { AnySchemaObject, ValidateFunction } from 'ajv';
import Ajv2020 from 'ajv/dist/2020';
import type { DataValidateFunction } from 'ajv/dist/types';
import addFormats from 'ajv-formats';

/** Absolute path of the shipped JSON Schema files (`@cio-bridge/schemas/schemas/*`). */
export const schemaDir = join(__dirname, '..', 'schemas');

/**
 * Base of the ids the files are registered under here: a file's id is this plus its
 * path under schemaDir. The files carry no `$id` of their own, so a validator that
 * opens one by its path resolves the relative `$ref`s next to it, without the network.
 */
export const SCHEMA_ID_BASE = 'https://cio-bridge.dev/schemas/';

const MAX_BYTES = 'x-cio-max-bytes';

function byteSize(value: unknown, limit: number): number {
  if (typeof value === 'string') {
    // A UTF-16 code unit is at most 3 UTF-8 bytes: short strings need no count.
    return value.length * 3 <= limit ? value.length : Buffer.byteLength(value, 'utf8');
  }
  const json = JSON.stringify(value);
  if (json === undefined) return 0;
  return json.length * 3 <= limit ? json.length : Buffer.byteLength(json, 'utf8');
}

/** UTF-8 bytes of a text (of a JSON text: bytes of what would be sent). */
export const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

let rootBytes = Number.POSITIVE_INFINITY;

/**
 * Runs a (synchronous) validation knowing the UTF-8 size of the whole value's
 * JSON text. No part of a value is larger as JSON than the whole, so byte
 * limits at or above that size pass without serialising the part again.
 */
export function withKnownSize<T>(bytes: number, run: () => T): T {
  rootBytes = bytes;
  try {
    return run();
  } finally {
    rootBytes = Number.POSITIVE_INFINITY;
  }
}

/** Compiles `x-cio-max-bytes: N`: at most N UTF-8 bytes (strings) or bytes of JSON text (other values). */
function compileMaxBytes(limit: number): DataValidateFunction {
  const validate: DataValidateFunction = (data: unknown) => {
    if (rootBytes <= limit) return true;
    const bytes = byteSize(data, limit);
    if (bytes <= limit) return true;
    const what = typeof data === 'string' ? '' : ' as JSON';
    validate.errors = [
      {
        keyword: MAX_BYTES,
        message: `must be at most ${limit} bytes${what} (is ${bytes})`,
        params: { limit, bytes },
      },
    ];
    return false;
  };
  return validate;
}

function schemaFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return schemaFiles(path);
    return entry.name.endsWith('.schema.json') ? [path] : [];
  });
}

/** A fresh ajv (draft 2020-12, formats, the byte-limit keyword) holding every shipped schema. */
export function createAjv(): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
  addFormats(ajv);
  ajv.addKeyword({ keyword: MAX_BYTES, schemaType: 'number', compile: compileMaxBytes, errors: true });
  for (const file of schemaFiles(schemaDir)) {
    const schema = JSON.parse(readFileSync(file, 'utf8')) as AnySchemaObject;
    if (schema.$id !== undefined) throw new Error(`schema ${file} has an $id; ids come from file paths`);
    ajv.addSchema(schema, SCHEMA_ID_BASE + relative(schemaDir, file).split(sep).join('/'));
  }
  return ajv;
}

let shared: Ajv2020 | undefined;

/** The compiled validator of one shipped schema file, e.g. `track/identify.schema.json` (compiled once). */
export function validatorFor(file: string): ValidateFunction {
  shared ??= createAjv();
  const validate = shared.getSchema(SCHEMA_ID_BASE + file);
  if (!validate) throw new Error(`no schema file ${file} in ${schemaDir}`);
  return validate;
}
