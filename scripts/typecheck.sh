#!/usr/bin/env bash
# npm run typecheck: every workspace (through turbo; extra arguments go to turbo), then the
# docs generator, which reads the services' sources.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
turbo run typecheck "$@"
tsc -p scripts/docs/tsconfig.json
