# syntax=docker/dockerfile:1
# One image definition for every cio-bridge deployable. Build from the repository root:
#   docker build --build-arg SERVICE=producer -t cio-bridge/producer .
#   (SERVICE: producer, cio-worker, webhook-handler, insights-processor, cio-sandbox)
#   docker build --target cli -t cio-bridge/cio-dlq .          the cio-dlq command line
# Release images are tagged and labelled with the release version by
# `npm run release:images` (scripts/images.sh, --build-arg VERSION=<version>).
# `turbo prune --docker` cuts the monorepo down to the service and the workspaces it
# uses, and splits it into manifests and sources: the dependency installs depend only
# on the manifests and the lock, so editing source reuses them from the build cache.
# Each image runs node through infra/run-service.mjs with the V8 flags of
# infra/node-flags.json (the same as `npm start`), as the unprivileged `node` user,
# configured only by environment variables. docs/production.md has the details.

ARG NODE_IMAGE=node:24-bookworm-slim
ARG TURBO_VERSION=2.11.11

# 1. The monorepo pruned to one service: /pruned/json (manifests + lock), /pruned/full (sources).
FROM ${NODE_IMAGE} AS prune
ARG TURBO_VERSION
ARG SERVICE=cio-dlq
ENV TURBO_TELEMETRY_DISABLED=1
WORKDIR /repo
RUN npm install --global --no-audit --no-fund "turbo@${TURBO_VERSION}"
COPY . .
RUN turbo prune "@cio-bridge/${SERVICE}" --docker --out-dir /pruned

# 2. Every dependency, from the manifests only (cached until a package.json or the lock changes).
#    The root postinstall (dependency patches) runs explicitly: installs run with --ignore-scripts.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV TURBO_TELEMETRY_DISABLED=1
COPY --from=prune /pruned/json/ ./
COPY scripts/patch-dependencies.mjs scripts/
RUN npm ci --no-audit --no-fund --ignore-scripts && node scripts/patch-dependencies.mjs

# 3. Compile the service and the workspaces it depends on.
FROM deps AS build
ARG SERVICE=cio-dlq
COPY --from=prune /pruned/full/ ./
COPY tsconfig.base.json ./
RUN npx turbo run build --filter="@cio-bridge/${SERVICE}..." --output-logs=errors-only \
 && mkdir /compiled && cp -r --parents packages/*/dist "services/${SERVICE}/dist" /compiled/

# 4. The service's production dependencies only (also cached by manifest), then its
#    compiled code and that of the workspaces it links to; nothing else.
FROM ${NODE_IMAGE} AS runtime-tree
ARG SERVICE=cio-dlq
WORKDIR /app
COPY --from=prune /pruned/json/ ./
COPY scripts/patch-dependencies.mjs scripts/
COPY infra/docker/drop-dev-dependencies.mjs infra/docker/
RUN node infra/docker/drop-dev-dependencies.mjs "services/${SERVICE}" \
 && npm ci --omit=dev --no-audit --no-fund --ignore-scripts --workspace "services/${SERVICE}" \
 && node scripts/patch-dependencies.mjs \
 && rm -rf scripts infra
COPY --from=build /compiled/ ./
RUN for dir in packages/* services/*; do \
      [ -e "node_modules/@cio-bridge/$(basename "$dir")" ] || rm -rf "$dir"; \
    done
COPY infra/run-service.mjs infra/node-flags.json infra/

# 5. The images: Node and the runtime tree, owned by root and read-only to `node`.
FROM ${NODE_IMAGE} AS runtime
ARG VERSION=dev
LABEL org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production
WORKDIR /app
COPY --from=runtime-tree /app/ ./
USER node
STOPSIGNAL SIGTERM

# The cio-dlq command line: docker run --rm -e KAFKA_BROKERS=... cio-bridge/cio-dlq stats
FROM runtime AS cli
# A command line, not a long-running server: nothing to health-check.
HEALTHCHECK NONE
ENTRYPOINT ["node", "infra/run-service.mjs", "cio-dlq"]
CMD ["--help"]

# A long-running service (the default target), on its default port unless PORT is set.
FROM runtime AS service
ARG SERVICE
ENV CIO_BRIDGE_SERVICE=${SERVICE}
RUN test -n "${SERVICE}" && test "${SERVICE}" != cio-dlq \
 || { echo "build a service with --build-arg SERVICE=<producer|cio-worker|webhook-handler|insights-processor|cio-sandbox>, the CLI with --target cli" >&2; exit 1; }
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const port = process.env.PORT || { producer: 8081, 'webhook-handler': 8082, 'insights-processor': 8083, 'cio-worker': 8084, 'cio-sandbox': 8090 }[process.env.CIO_BRIDGE_SERVICE]; fetch('http://127.0.0.1:' + port + '/healthz', { signal: AbortSignal.timeout(2500) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "infra/run-service.mjs"]
