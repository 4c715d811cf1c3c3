#!/usr/bin/env bash
# npm test: builds every workspace (integration tests start built services as real
# processes), makes sure the local infrastructure runs (or, where Docker runs and no local
# broker is up, leaves Kafka, Postgres and Redis to testcontainers), then runs every unit
# and integration test in one jest run. Extra arguments go to jest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/ensure-deps.sh
turbo run build --output-logs=errors-only
# The local broker, unless the tests find Kafka elsewhere: KAFKA_BROKERS, or a container
# where Docker runs and no local broker is up (packages/testkit/src/infrastructure.ts).
if node -e '
  const infra = require("./packages/testkit/dist/infrastructure");
  infra.probeInfrastructure().then((facts) => process.exit(infra.usesLocalKafka(infra.planInfrastructure(facts)) ? 0 : 1));
'; then
  bash scripts/infra.sh up
fi
mkdir -p .cache
# --forceExit: kafkajs leaves retry timers behind after disconnect, which would keep jest alive.
# --maxWorkers=2: the integration tests mostly wait on brokers and processes, so two run
# side by side even on 2 cores (each owns its topics, group and ports).
exec jest --ci --forceExit --maxWorkers=2 --json --outputFile=.cache/jest-results.json "$@"
