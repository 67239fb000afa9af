#!/usr/bin/env bash
# Run one libFuzzer target for a bounded time on a scratch copy of its seed
# corpus (the committed seeds are never modified). Any crash fails the test;
# the crashing input is left in the artifacts folder.
#   run_fuzzer.sh FUZZER SEED_DIR SECONDS ARTIFACT_DIR
set -euo pipefail
fuzzer=$1 seeds=$2 seconds=$3 artifacts=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$artifacts"
cp -r "$seeds"/. "$work"/
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -artifact_prefix="$artifacts/$(basename "$fuzzer")-" -print_final_stats=1 "$work"
