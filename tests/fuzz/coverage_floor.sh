#!/usr/bin/env bash
# Runs a libFuzzer target once over its corpus and fails when the coverage
# it starts from (libFuzzer's "INITED cov: N") falls below a floor: a fuzz
# build that stopped instrumenting the library (the harness alone covers a
# few dozen edges) or a corpus that lost its inputs shows here, not never.
#   coverage_floor.sh TARGET CORPUS FLOOR
set -euo pipefail
target=$1 corpus=$2 floor=$3
output=$("$target" -runs=0 "$corpus" 2>&1)
covered=$(grep -o 'INITED cov: [0-9]*' <<<"$output" | grep -o '[0-9]*$' || true)
echo "$(basename "$target"): starts at $covered covered edges from $(ls "$corpus" | wc -l) inputs (floor $floor)"
[[ -n "$covered" && "$covered" -ge "$floor" ]]
