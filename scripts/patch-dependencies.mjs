#!/usr/bin/env node
// Applies the project's small fixes to installed dependencies; run by the root
// package's `postinstall` (npm runs the root's own lifecycle scripts even where
// dependency install scripts are blocked), so `npm ci` leaves them patched.
// Idempotent; fails loudly when a target no longer looks as expected, so an upgrade
// that makes a patch obsolete or wrong is noticed instead of silently skipped.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the patches quote JavaScript source with template literals
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export const PATCHES = [
  {
    // kafkajs 2.2.4 schedules its pending-request check at `throttledUntil - Date.now()`
    // while `throttledUntil` is -1 (not throttled): a delay of minus the epoch in ms,
    // which Node clamps to 1 ms and, since Node 24, reports as TimeoutNegativeWarning
    // on every connection. Clamping to 1 ms keeps the behaviour and ends the warning.
    // Upstream: https://github.com/tulios/kafkajs/issues/1751 (fix proposed in
    // https://github.com/tulios/kafkajs/pull/1755, unreleased).
    name: 'kafkajs negative timeout (tulios/kafkajs#1751)',
    package: 'kafkajs',
    version: '2.2.4',
    file: 'src/network/requestQueue/index.js',
    find: '      this.throttleCheckTimeoutId = setTimeout(() => {\n        this.throttleCheckTimeoutId = null\n        this.checkPendingRequests()\n      }, scheduleAt)',
    replace:
      '      this.throttleCheckTimeoutId = setTimeout(() => {\n        this.throttleCheckTimeoutId = null\n        this.checkPendingRequests()\n      }, Math.max(1, scheduleAt)) // cio-bridge patch: tulios/kafkajs#1751',
  },
  {
    // kafkajs retries every connection error, for a minute and more with the services'
    // retry settings, also a TLS certificate that one side refuses (a broker certificate
    // the cluster's CA did not sign, a client certificate the broker does not accept),
    // which no retry heals. Such a refusal becomes non-retriable, with one clear line
    // (OpenSSL's messages span lines): start-up ends at once, as for refused SASL
    // credentials.
    name: 'kafkajs TLS certificate refusals are not retried',
    package: 'kafkajs',
    version: '2.2.4',
    file: 'src/network/connection.js',
    find: '        const error = new KafkaJSConnectionError(`Connection error: ${e.message}`, {\n          broker: `${this.host}:${this.port}`,\n          code: e.code,\n        })\n',
    replace:
      '        const error = new KafkaJSConnectionError(`Connection error: ${e.message}`, {\n          broker: `${this.host}:${this.port}`,\n          code: e.code,\n        })\n' +
      '        // cio-bridge patch: a refused TLS certificate is not retried\n' +
      "        if (/^(UNABLE_TO_|SELF_SIGNED_CERT|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_|ERR_TLS_CERT_ALTNAME_INVALID|HOSTNAME_MISMATCH|ERR_SSL_.*ALERT_(BAD_CERTIFICATE|CERTIFICATE_|UNKNOWN_CA|UNSUPPORTED_CERTIFICATE|ACCESS_DENIED))/.test(e.code || '')) {\n" +
      '          error.retriable = false\n' +
      '          error.message = `TLS certificate refused in the handshake with ${this.host}:${this.port} (${e.code}): check KAFKA_SSL_CA_FILE, KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE`\n' +
      '        }\n',
  },
];

/** Applies every patch under `modulesDir`; returns one line per patch. */
export function applyPatches(modulesDir = join(root, 'node_modules')) {
  const report = [];
  for (const patch of PATCHES) {
    const packageDir = join(modulesDir, patch.package);
    const manifest = join(packageDir, 'package.json');
    if (!existsSync(manifest)) {
      report.push(`${patch.name}: ${patch.package} not installed, skipped`);
      continue;
    }
    const { version } = JSON.parse(readFileSync(manifest, 'utf8'));
    if (version !== patch.version)
      throw new Error(
        `${patch.name}: written for ${patch.package}@${patch.version}, found ${version}; check whether it is still needed`,
      );
    const target = join(packageDir, patch.file);
    const source = readFileSync(target, 'utf8');
    if (source.includes(patch.replace)) {
      report.push(`${patch.name}: already applied`);
      continue;
    }
    if (!source.includes(patch.find))
      throw new Error(`${patch.name}: ${patch.file} does not contain the expected code`);
    writeFileSync(target, source.replace(patch.find, patch.replace));
    report.push(`${patch.name}: applied`);
  }
  return report;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    for (const line of applyPatches(process.argv[2])) console.log(`patch-dependencies: ${line}`);
  } catch (error) {
    console.error(`patch-dependencies: ${error.message}`);
    process.exit(1);
  }
}
