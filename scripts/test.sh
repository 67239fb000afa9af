#!/usr/bin/env bash
# Set up a fresh machine and pass every test: installs the Debian packages,
# builds with warnings as errors, runs ctest, then does the same again with
# AddressSanitizer + UndefinedBehaviorSanitizer, and runs each libFuzzer
# target for a short time.
#
#   scripts/test.sh            both builds (what CI runs)
#   scripts/test.sh --quick    the normal build only
#   scripts/test.sh -R REGEX   only the tests whose names match (both builds)
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
ctest_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    -R) ctest_args+=(-R "$2"); shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

# The dashboard's browser tests (tests/dashboard) drive Debian's chromium
# through playwright-core, installed from that folder's package-lock.json.
# `npm ci` runs only when node_modules does not hold that lockfile yet; it
# never downloads a browser.
dashboard_npm() {
  local dir=tests/dashboard
  local stamp=$dir/node_modules/.dlt-installed-lock.json
  if [ -f "$stamp" ] && cmp -s "$dir/package-lock.json" "$stamp"; then
    return 0
  fi
  echo "== npm ci in $dir" >&2
  (cd "$dir" && npm ci --no-audit --no-fund)
  cp "$dir/package-lock.json" "$stamp"
}

run_suite() {
  local dir=$1
  shift
  scripts/setup.sh "$dir" -DDLT_WERROR=ON "$@"
  dashboard_npm
  if [ ${#suite_args[@]} -eq 0 ]; then
    scripts/kafka.sh install
  fi
  (cd "$dir" && ctest --output-on-failure --timeout 600 "${ctest_args[@]}" "${suite_args[@]}")
}

# The kafka suite (tests/kafka, label kafka) runs real Apache Kafka: its
# jars are fetched once per machine into a cache outside the tree. The
# compose tests (tests/compose, label compose) run docker-compose.yml with
# podman. Both run in the normal build only; the sanitizer build leaves them
# out (-LE 'kafka|compose') to keep CI's time down.
echo "== build and test: build/" >&2
suite_args=()
run_suite build
suite_args=(-LE 'kafka|compose')

if [ "$quick" = 0 ]; then
  echo "== build and test under ASan+UBSan: build-asan/" >&2
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=86}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=87}
  export DLT_NO_INSTALL=1
  run_suite build-asan -DDLT_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
fi
if [ "$quick" = 0 ]; then
  echo "== fuzz the decoders and option parsers (clang + libFuzzer): build-fuzz/" >&2
  export DLT_NO_INSTALL=1
  CC=clang scripts/setup.sh build-fuzz -DDLT_FUZZ=ON
  (cd build-fuzz && ctest --output-on-failure --timeout 600)
fi
echo "== all tests passed" >&2
