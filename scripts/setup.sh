#!/usr/bin/env bash
# Install every Debian package the project needs (only those missing), then
# configure and build. Used by scripts/test.sh and scripts/demo.sh.
#
#   scripts/setup.sh [BUILD_DIR] [extra cmake -D options...]
#
# Environment: DLT_NO_INSTALL=1 skips the package step.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${1:-build}
shift || true

# Build and run-time libraries, test tools (kcat, curl, jq, python3, tmux,
# cmocka; python3-kafka for the emulations of the original programs in
# tests/compat, run by Debian's /usr/bin/python3), the fuzzing toolchain
# (clang + its runtime), the browser test stack (chromium, nodejs, npm),
# docker-compose with podman as its engine (runc, netavark and aardvark-dns
# for its networks, and iptables, which netavark runs but does not depend
# on: without it a container fails to start with "netavark: No such file or
# directory"; debootstrap makes the base image: tests/compose) and
# Java 17 with Maven (real Apache Kafka for the kafka suite, scripts/kafka.sh).
PACKAGES=(
  build-essential cmake pkg-config git ca-certificates
  librdkafka-dev libmicrohttpd-dev libcurl4-openssl-dev libcjson-dev libsqlite3-dev libyaml-dev
  libcmocka-dev kcat curl jq python3 tmux procps iproute2
  python3-kafka
  clang libclang-rt-14-dev
  chromium
  docker-compose podman runc netavark aardvark-dns iptables debootstrap
  openjdk-17-jre-headless maven
)
# node and npm may come from another source (NodeSource bundles npm and
# conflicts with Debian's npm package): take Debian's only when missing.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  PACKAGES+=(nodejs npm)
fi

install_packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$p")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  echo "setup: installing ${missing[*]}" >&2
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
  fi
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}

if [ "${DLT_NO_INSTALL:-0}" != "1" ]; then
  install_packages
fi

cmake -S . -B "$BUILD_DIR" "$@" >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
