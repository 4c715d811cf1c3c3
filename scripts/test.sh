#!/usr/bin/env bash
# npm test: builds every workspace (integration tests start built services as real
# processes), makes sure the local infrastructure runs, then runs every unit and
# integration test in one jest run. Extra arguments go to jest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/ensure-deps.sh
turbo run build --output-logs=errors-only
bash scripts/infra.sh up
mkdir -p .cache
# --forceExit: kafkajs leaves retry timers behind after disconnect, which would keep jest alive.
exec jest --ci --forceExit --json --outputFile=.cache/jest-results.json "$@"
