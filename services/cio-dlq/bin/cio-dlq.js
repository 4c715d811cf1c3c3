#!/usr/bin/env node
// The `cio-dlq` command. npm links a package's bin only when the file exists at
// install time, so this committed launcher stands in for the compiled dist/main.js.

const { existsSync } = require('node:fs');
const { join } = require('node:path');

const main = join(__dirname, '../dist/main.js');
if (!existsSync(main)) {
  process.stderr.write(
    'cio-dlq: not built yet; run `npm run build` (or `npx turbo run build --filter=@cio-bridge/cio-dlq`) first\n',
  );
  process.exit(1);
}
require(main);
