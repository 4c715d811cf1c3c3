#!/usr/bin/env bash
# Runs a command on a supported Node (>= 22). Where the machine's Node is older,
# Node 24 LTS is installed once from the npm registry's node-linux-<arch> package
# into .cache/node and put first on PATH.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE_VERSION=24.21.0

node_major() { command -v node >/dev/null 2>&1 && node -p 'process.versions.node.split(".")[0]' || echo 0; }

if [ "$(node_major)" -lt 22 ]; then
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "with-node: no Node $NODE_VERSION package for $(uname -m); install Node >= 22 yourself" >&2; exit 1 ;;
  esac
  pkg="node-linux-$arch"
  bin="$root/.cache/node/node_modules/$pkg/bin"
  if [ ! -x "$bin/node" ]; then
    echo "with-node: system Node $(node --version 2>/dev/null || echo none) is unsupported; installing Node $NODE_VERSION from the npm registry" >&2
    mkdir -p "$root/.cache/node"
    npm install --silent --no-save --no-package-lock --prefix "$root/.cache/node" "$pkg@$NODE_VERSION" >&2
  fi
  export PATH="$bin:$PATH"
fi
export PATH="$root/node_modules/.bin:$PATH"
exec "$@"
