#!/usr/bin/env bash
# Installs the load generators bench/throughput.py compares the driver with,
# beyond Debian's (wrk, ab, h2load, python3-locust, which the script takes
# with apt-get itself), into a cache outside the tree, then prints their
# versions. Idempotent: a tool already there at its pinned version is kept.
#
#   bench/tools/peers.sh            # install what is missing, print versions
#   bench/tools/peers.sh --versions # print versions only
#
# Environment: DLT_PEERS (default /var/cache/dlt-peers) holds bin/ (vegeta,
# bombardier, oha) and venv/ (the current Locust from PyPI).
#
# Needs the Go and Rust toolchains (go, cargo) and python3-venv. Building
# oha takes a few minutes on 2 cores; vegeta and bombardier under one.
#
# k6 is not installed: its licence (AGPL-3.0) keeps it out of this
# project's tooling; bombardier (MIT), another Go load generator, stands in.
set -euo pipefail

PEERS=${DLT_PEERS:-/var/cache/dlt-peers}
BIN=$PEERS/bin
VENV=$PEERS/venv

VEGETA_VERSION=v12.13.0
BOMBARDIER_VERSION=v1.2.6
OHA_VERSION=1.16.0
LOCUST_VERSION=2.47.0

# go install leaves the programs' own version strings empty; the module
# version is in the binary's build information.
go_version() { go version -m "$1" 2>/dev/null | awk '$1 == "mod" {print $3}'; }

versions() {
  printf 'vegeta %s\n' "$(go_version "$BIN/vegeta")"
  printf 'bombardier %s\n' "$(go_version "$BIN/bombardier")"
  printf 'oha %s\n' "$("$BIN/oha" --version 2>/dev/null | awk '{print $2}')"
  printf 'locust %s\n' "$("$VENV/bin/locust" --version 2>/dev/null | awk '{print $2}')"
}

if [ "${1:-}" = "--versions" ]; then
  versions
  exit 0
fi

mkdir -p "$BIN"
log() { echo "peers: $*" >&2; }

# Go tools: go install puts the binary in GOBIN; the module cache stays in
# the user's GOPATH.
go_tool() {
  local name=$1 module=$2 version=$3
  if [ -x "$BIN/$name" ] && [ "$(go_version "$BIN/$name")" = "$version" ]; then
    return 0
  fi
  log "go install $module@$version"
  GOBIN=$BIN GOFLAGS=-buildvcs=false go install "$module@$version"
}

go_tool vegeta github.com/tsenart/vegeta/v12 "$VEGETA_VERSION"
go_tool bombardier github.com/codesenberg/bombardier "$BOMBARDIER_VERSION"

if ! [ -x "$BIN/oha" ] || [ "$("$BIN/oha" --version 2>/dev/null | awk '{print $2}')" != "$OHA_VERSION" ]; then
  log "cargo install oha --version $OHA_VERSION --locked"
  cargo install oha --version "$OHA_VERSION" --locked --root "$PEERS"
fi

if ! [ -x "$VENV/bin/locust" ] || \
   [ "$("$VENV/bin/locust" --version 2>/dev/null | awk '{print $2}')" != "$LOCUST_VERSION" ]; then
  log "pip install locust==$LOCUST_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "locust==$LOCUST_VERSION"
fi

versions
