#!/usr/bin/env bash
# npm run bench: builds, makes sure the local infrastructure runs, runs the suite.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/ensure-deps.sh
turbo run build --output-logs=errors-only
bash scripts/infra.sh up
exec node bench/run.mjs "$@"
