#!/usr/bin/env bash
# The units as installed: `systemd-analyze verify` clean (the service alone,
# and with the HTTPS drop-in from the docs), and an exposure of at most 2.0
# from `systemd-analyze security` (its threshold counts in tenths).
# ExecStart is pointed at the built binary so verify can check it; the man
# page named by Documentation= is checked in the package test, where it is
# installed (tests/package_test.py).
# Usage: systemd_units_test.sh BUILT_SERVICE SOCKET_UNIT HTTPS_SOCKET_UNIT HTTPS_DROP_IN BINARY BINDIR
set -euo pipefail
service=$1 socket=$2 https_socket=$3 https_drop_in=$4 binary=$5 bindir=$6
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed "s|$bindir/ringhttpd|$binary|g" "$service" > "$dir/ringhttpd.service"
cp "$socket" "$dir/ringhttpd.socket"
cp "$https_socket" "$dir/ringhttpd-https.socket"
cd "$dir"
verify() {   # what -> fails the test unless systemd-analyze verify says nothing
  if ! output=$(systemd-analyze verify --man=no ringhttpd.service ringhttpd.socket ringhttpd-https.socket 2>&1) ||
     [ -n "$output" ]; then
    echo "systemd-analyze verify ($1) is not clean:"
    echo "$output"
    exit 1
  fi
  echo "verify ($1): clean"
}
verify "units"
mkdir ringhttpd.service.d
cp "$https_drop_in" ringhttpd.service.d/https.conf
verify "with the HTTPS drop-in"
systemd-analyze security --offline=true --threshold=20 ringhttpd.service | tail -1
echo "2 passed, 0 failed"
