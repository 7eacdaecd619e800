#!/usr/bin/env bash
# Builds dist/: ESM with .d.ts (dist/esm) and CommonJS (dist/cjs), both from the same sources.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf dist
tsc -p tsconfig.build.json
tsc -p tsconfig.cjs.json
echo '{ "type": "commonjs" }' > dist/cjs/package.json
