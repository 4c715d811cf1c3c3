import type { ErrorObject } from 'ajv';
import type { FieldError } from './types';

/** Escapes one JSON pointer token (RFC 6901). */
export function pointerToken(token: string | number): string {
  return String(token).replaceAll('~', '~0').replaceAll('/', '~1');
}

const IDENTIFIER_KINDS = 'exactly one of id, email or cio_id';
/** Objects holding one person identifier (identifiers; merge's primary and secondary). */
const IDENTIFIER_OBJECT = /(^|\/)(identifiers|primary|secondary)$/;
const ULID_PATTERN = '^[0-7][0-9A-HJKMNP-TV-Z]{25}$';
const OBJECT_TYPE_PATTERN = '^[1-9][0-9]{0,9}$';

function describeType(type: unknown): string {
  const types = Array.isArray(type) ? type : String(type).split(',');
  const names = types.map((t) => (t === 'integer' ? 'an integer' : t === 'object' ? 'an object' : `a ${t}`));
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names.at(-1)}` : (names[0] ?? 'valid');
}

function fieldError(error: ErrorObject): FieldError | undefined {
  const path = error.instancePath;
  const params = error.params as Record<string, unknown>;
  const inObjectIdentifiers = error.schemaPath.includes('/objectIdentifiers/');
  const inIdentifiers = IDENTIFIER_OBJECT.test(path) && !inObjectIdentifiers;
  switch (error.keyword) {
    case 'false schema':
      return {
        pointer: path,
        message: path.endsWith('/identifiers')
          ? 'must not be given with anonymous_id (give one person identifier or an anonymous_id)'
          : 'is not allowed here',
      };
    case 'if':
    case 'anyOf':
    case 'allOf':
      return undefined; // summaries of errors reported on their own
    case 'required':
      return { pointer: `${path}/${pointerToken(String(params.missingProperty))}`, message: 'is required' };
    case 'additionalProperties':
    case 'unevaluatedProperties': {
      const name = String(params.additionalProperty ?? params.unevaluatedProperty);
      return {
        pointer: `${path}/${pointerToken(name)}`,
        message: inIdentifiers
          ? `is not an identifier (use ${IDENTIFIER_KINDS})`
          : inObjectIdentifiers
            ? 'is not an object identifier (use object_type_id and object_id)'
            : 'is not allowed here',
      };
    }
    case 'minProperties':
    case 'maxProperties':
      if (inIdentifiers) return { pointer: path, message: `must name ${IDENTIFIER_KINDS}` };
      if (error.keyword === 'minProperties' && params.limit === 1)
        return { pointer: path, message: 'must not be empty' };
      return {
        pointer: path,
        message: `must have ${error.keyword === 'minProperties' ? 'at least' : 'at most'} ${params.limit} properties`,
      };
    case 'type':
      return { pointer: path, message: `must be ${describeType(params.type)}` };
    case 'format':
      if (params.format === 'date-time') {
        return {
          pointer: path,
          message: 'must be an RFC 3339 date-time (like 2024-05-22T18:35:12Z) or Unix seconds',
        };
      }
      return {
        pointer: path,
        message: `must be a valid ${params.format === 'email' ? 'email address' : params.format}`,
      };
    case 'pattern':
      if (params.pattern === ULID_PATTERN) {
        return { pointer: path, message: 'must be a ULID (26 Crockford base32 characters, upper case)' };
      }
      if (params.pattern === OBJECT_TYPE_PATTERN) {
        return { pointer: path, message: 'must be an object type id: a stringified integer from "1"' };
      }
      return { pointer: path, message: `must match ${params.pattern}` };
    case 'minLength':
      return {
        pointer: path,
        message: params.limit === 1 ? 'must not be empty' : (error.message ?? 'is too short'),
      };
    case 'enum':
      return { pointer: path, message: `must be one of: ${(params.allowedValues as unknown[]).join(', ')}` };
    case 'const':
      return { pointer: path, message: `must be ${JSON.stringify(params.allowedValue)}` };
    default:
      return { pointer: path, message: error.message ?? `fails ${error.keyword}` };
  }
}

/** Turns ajv errors into field errors (JSON pointer + reason), without duplicates. */
export function toFieldErrors(errors: readonly ErrorObject[] | null | undefined, prefix = ''): FieldError[] {
  const seen = new Set<string>();
  const out: FieldError[] = [];
  let nameProblem: string | undefined;
  for (const error of errors ?? []) {
    let field: FieldError | undefined;
    if (error.schemaPath.includes('/propertyNames/')) {
      // ajv reports why a property name is bad first, then which name it is.
      nameProblem = fieldError(error)?.message;
      continue;
    }
    if (error.keyword === 'propertyNames') {
      const name = String((error.params as { propertyName?: unknown }).propertyName);
      field = {
        pointer: `${error.instancePath}/${pointerToken(name)}`,
        message: `name ${nameProblem ?? 'is not allowed'}`,
      };
      nameProblem = undefined;
    } else {
      field = fieldError(error);
    }
    if (!field) continue;
    const pointer = prefix + field.pointer;
    const key = `${pointer}\u0000${field.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ pointer, message: field.message });
  }
  return out;
}
