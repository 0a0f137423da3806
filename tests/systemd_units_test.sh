#!/usr/bin/env bash
# The units as installed: `systemd-analyze verify` clean, and an exposure
# of at most 2.0 from `systemd-analyze security` (its threshold counts in
# tenths). ExecStart is pointed at the built binary so verify can check it.
# Usage: systemd_units_test.sh BUILT_SERVICE SOCKET_UNIT BINARY BINDIR
set -euo pipefail
service=$1 socket=$2 binary=$3 bindir=$4
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed "s|$bindir/ringhttpd|$binary|g" "$service" > "$dir/ringhttpd.service"
cp "$socket" "$dir/ringhttpd.socket"
cd "$dir"
if ! output=$(systemd-analyze verify ringhttpd.service ringhttpd.socket 2>&1) || [ -n "$output" ]; then
  echo "systemd-analyze verify is not clean:"
  echo "$output"
  exit 1
fi
echo "verify: clean"
systemd-analyze security --offline=true --threshold=20 ringhttpd.service | tail -1
echo "1 passed, 0 failed"
