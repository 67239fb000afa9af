#!/usr/bin/env bash
# The dashboard's third-party files, pinned by src/orchestrator/web-vendor/
# package-lock.json, are committed under src/orchestrator/web/vendor/ so that
# building load-orchestrator never needs the network or node.
#
#   scripts/vendor-web.sh           npm ci in web-vendor/, then copy uPlot's
#                                   dist files and LICENSE into web/vendor/
#   scripts/vendor-web.sh --check   install the lockfile into a temporary
#                                   folder and fail (exit 1) unless every
#                                   vendored file is byte-identical to it
#
# To move to another uPlot version: change it in web-vendor/package.json, run
# `npm install --no-audit --no-fund` in web-vendor/ (this rewrites the
# lockfile), then this script, rebuild, and commit package.json,
# package-lock.json and web/vendor/ together.
set -euo pipefail
cd "$(dirname "$0")/.."

VENDOR_NPM=src/orchestrator/web-vendor
VENDOR_OUT=src/orchestrator/web/vendor
# source file in node_modules/uplot -> name under web/vendor/
FILES=(
  "dist/uPlot.iife.min.js:uPlot.iife.min.js"
  "dist/uPlot.min.css:uPlot.min.css"
  "LICENSE:uPlot.LICENSE.txt"
)

check=0
case "${1:-}" in
  --check) check=1 ;;
  "") ;;
  -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
  *) echo "vendor-web.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
esac

if ! command -v npm >/dev/null 2>&1; then
  echo "vendor-web.sh: npm is not installed (scripts/setup.sh installs it)" >&2
  exit 2
fi

# npm_ci DIR: install DIR's lockfile exactly, quietly.
npm_ci() {
  (cd "$1" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >&2)
}

if [ "$check" = 1 ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  cp "$VENDOR_NPM/package.json" "$VENDOR_NPM/package-lock.json" "$tmp/"
  npm_ci "$tmp"
  bad=0
  for f in "${FILES[@]}"; do
    src=$tmp/node_modules/uplot/${f%%:*}
    dst=$VENDOR_OUT/${f##*:}
    if [ ! -f "$dst" ]; then
      echo "vendor-web.sh: $dst is missing" >&2
      bad=1
    elif ! cmp -s "$src" "$dst"; then
      echo "vendor-web.sh: $dst differs from uplot/${f%%:*} in the lockfile" >&2
      bad=1
    fi
  done
  if [ "$bad" = 1 ]; then
    echo "vendor-web.sh: run scripts/vendor-web.sh and commit $VENDOR_OUT" >&2
    exit 1
  fi
  version=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$tmp/node_modules/uplot/package.json" | head -1)
  echo "vendored uPlot $version matches the lockfile"
  exit 0
fi

npm_ci "$VENDOR_NPM"
mkdir -p "$VENDOR_OUT"
for f in "${FILES[@]}"; do
  cp "$VENDOR_NPM/node_modules/uplot/${f%%:*}" "$VENDOR_OUT/${f##*:}"
  echo "copied uplot/${f%%:*} to $VENDOR_OUT/${f##*:}"
done
