// Runs the docs generator from the TypeScript sources, without a build: .ts files are
// compiled with swc on require, and @cio-bridge/* resolve to their sources, as in jest.
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const { transformSync } = require('@swc/core');

const root = path.resolve(__dirname, '../..');

require.extensions['.ts'] = (module, filename) => {
  const { code } = transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    jsc: { parser: { syntax: 'typescript' }, target: 'es2023' },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};

const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  const workspace = /^@cio-bridge\/([^/]+)(?:\/(.+))?$/.exec(request);
  if (workspace) {
    for (const folder of ['packages', 'services']) {
      const file = path.join(root, folder, workspace[1], 'src', `${workspace[2] ?? 'index'}.ts`);
      if (fs.existsSync(file)) return file;
    }
  }
  return resolveFilename.call(this, request, ...rest);
};

require('./generate.ts')
  .main()
  .catch((error) => {
    process.stderr.write(`npm run docs: ${error.message}\n`);
    process.exit(1);
  });
