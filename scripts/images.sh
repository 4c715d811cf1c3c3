#!/usr/bin/env bash
# npm run release:images [-- --push]: builds the image of every service and of the
# cio-dlq command line, tagged with the release version (scripts/release.mjs), as
#   $REGISTRY/<service>:<version>        (REGISTRY defaults to cio-bridge)
# and with --push pushes them. Needs Docker.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
push=false
for arg in "$@"; do
  case "$arg" in
    --push) push=true ;;
    *) echo "images: unknown argument $arg (usage: images.sh [--push])" >&2; exit 1 ;;
  esac
done
version="$(node scripts/release.mjs version)"
registry="${REGISTRY:-cio-bridge}"
tags=()
for service in producer webhook-handler insights-processor cio-worker cio-sandbox; do
  tag="$registry/$service:$version"
  docker build --build-arg SERVICE="$service" --build-arg VERSION="$version" -t "$tag" .
  tags+=("$tag")
done
tag="$registry/cio-dlq:$version"
docker build --target cli --build-arg VERSION="$version" -t "$tag" .
tags+=("$tag")
if [ "$push" = true ]; then
  for tag in "${tags[@]}"; do docker push "$tag"; done
fi
