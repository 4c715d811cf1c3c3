// The shipped JSON Schema files used as an app in another language uses them: a plain
// draft 2020-12 validator opens one file by its path and follows its `$ref`s from
// there, with no project code, no registry of ids and no network. Only files under
// schemas/ may be read; anything else a `$ref` leads to fails the test.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { AnySchemaObject } from 'ajv';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

const schemaDir = join(__dirname, '..', 'schemas');
const fixtureDir = join(__dirname, '..', 'fixtures');

/** A schema file as a validator retrieves it: its own location is its base URI unless it says otherwise. */
function retrieve(uri: string): AnySchemaObject {
  if (!uri.startsWith('file:')) throw new Error(`a $ref leads outside the package, to ${uri}`);
  const path = fileURLToPath(uri);
  if (relative(schemaDir, path).startsWith('..'))
    throw new Error(`a $ref leads outside schemas/, to ${path}`);
  const schema = JSON.parse(readFileSync(path, 'utf8')) as AnySchemaObject;
  return { ...schema, $id: schema.$id ?? uri };
}

function plainValidator(): Ajv2020 {
  // strict: false, as validators in other languages ignore the x-cio-max-bytes annotation.
  const ajv = new Ajv2020({ strict: false, loadSchema: async (uri) => retrieve(uri) });
  addFormats(ajv);
  return ajv;
}

const openFile = (ajv: Ajv2020, path: string) => ajv.compileAsync(retrieve(pathToFileURL(path).href));

function filesUnder(dir: string, suffix: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(path, suffix);
    return entry.name.endsWith(suffix) ? [path] : [];
  });
}

const readJson = (path: string): unknown => JSON.parse(readFileSync(path, 'utf8'));

describe('the schema files alone, opened by path with a plain validator', () => {
  it.each(
    filesUnder(schemaDir, '.schema.json').map((file) => relative(schemaDir, file).split(sep).join('/')),
  )('%s compiles with every $ref resolved inside the package', async (file) => {
    await expect(openFile(plainValidator(), join(schemaDir, file))).resolves.toBeInstanceOf(Function);
  });

  it('track-operation.schema.json accepts the seed events and rejects the invalid fixtures', async () => {
    const validate = await openFile(plainValidator(), join(schemaDir, 'track-operation.schema.json'));
    const seeds = filesUnder(join(fixtureDir, 'valid'), '.json');
    expect(seeds.length).toBeGreaterThan(5);
    for (const file of seeds)
      expect({ file, valid: validate(readJson(file)) }).toEqual({ file, valid: true });
    const wrongId = readJson(join(fixtureDir, 'invalid', 'bad_id.json')) as { value: unknown };
    expect(validate(wrongId.value)).toBe(false);
  });
});
