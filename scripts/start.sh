#!/usr/bin/env bash
# npm start: installs and builds when needed, starts the local infrastructure, then
# scripts/start.mjs runs the services, the demo traffic and the live summary.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/ensure-deps.sh
echo "start: building" >&2
turbo run build --output-logs=errors-only >&2
# The broker is stopped on exit only when this run started it.
broker_was_running=no
bash scripts/infra.sh status 2>&1 | grep -q "running (pid" && broker_was_running=yes
bash scripts/infra.sh up
exec node scripts/start.mjs --broker-was-running="$broker_was_running" "$@"
