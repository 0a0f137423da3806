#!/usr/bin/env bash
# bench/scale.sh: ringhttpd's requests/s and CPU per request as workers are
# added. For W = 1, 2, 4, 8 ... (as long as W cores are left for the load):
# ringhttpd with --workers W pinned to CPUs 0..W-1, wrk with one thread per
# remaining CPU pinned to those, 64 connections per worker.
#
#   bench/scale.sh                 /1k.bin and /100k.bin, 3 rounds of 4 s
#   bench/scale.sh --path /1m.bin --rounds 1 --duration 2
#
# Options:
#   --path P         what to request; repeatable (default /1k.bin and /100k.bin)
#   --rounds N       rounds per worker count (default 3; the median is kept)
#   --duration S     seconds per run (default 4)
#   --build DIR      meson build directory with src/ringhttpd (default build-release)
#   --docroot DIR    default DIR/load/docroot (bench/load.sh makes it)
#
# Prints a table and writes DIR/scale.csv. On a 2-core machine only W = 1
# fits (one core serves, one loads); run it where there are 16 or more.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/common.sh
source "$repo/bench/common.sh"
usage_error() { echo "scale.sh: $1" >&2; exit 2; }
positive() { [[ "$2" =~ ^[0-9]+$ && "$2" -gt 0 ]] || usage_error "$1: not a positive whole number: '$2'"; }

paths=() rounds=3 duration=4 build=build-release docroot=""
while (($#)); do
  case "$1" in
    --path) [[ "${2-}" == /* ]] || usage_error "--path: not a path: '${2-}'"; paths+=("$2"); shift ;;
    --rounds) positive "$1" "${2-}"; rounds=$2; shift ;;
    --duration) positive "$1" "${2-}"; duration=$2; shift ;;
    --build) build=${2-}; shift ;;
    --docroot) docroot=${2-}; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) usage_error "unknown option '$1' (try --help)" ;;
  esac
  shift
done
((${#paths[@]})) || paths=(/1k.bin /100k.bin)
docroot=${docroot:-$repo/$build/load/docroot}
ringhttpd=$repo/$build/src/ringhttpd
[[ -x "$ringhttpd" ]] || usage_error "--build $build: $ringhttpd is missing (make build)"
[[ -d "$docroot" ]] || usage_error "no docroot at $docroot: run bench/load.sh once first"
command -v wrk >/dev/null || usage_error "wrk is not installed (make load-deps)"
cpus=$(nproc)
((cpus >= 2)) || usage_error "needs 2 CPUs or more; this machine has $cpus"
ulimit -n "$(ulimit -Hn)"
port=18495
if port_open "$port"; then usage_error "port $port is in use"; fi

csv=$repo/$build/scale.csv
echo "path,workers,requests_per_s,cpu_us_per_request,requests_per_s_per_worker" >"$csv"
printf '%-10s %8s %12s %10s %14s\n' path workers "req/s" "CPU us" "req/s/worker"
for path in "${paths[@]}"; do
  for ((workers = 1; workers * 2 <= cpus; workers *= 2)); do
    load_cpus=$((cpus - workers))
    results=()
    for ((round = 1; round <= rounds; round++)); do
      taskset -c "0-$((workers - 1))" "$ringhttpd" --root "$docroot" --listen "127.0.0.1:$port" \
        --workers "$workers" --access-log off >/dev/null 2>&1 &
      server=$!
      for _ in $(seq 100); do port_open "$port" && break; sleep 0.05; done
      wrk_argv=(-t"$load_cpus" -c$((64 * workers)) "http://127.0.0.1:$port$path")
      taskset -c "$workers-$((cpus - 1))" wrk -d1s "${wrk_argv[@]}" >/dev/null   # warm-up
      before=$(cpu_ticks_of "$server")
      report=$(taskset -c "$workers-$((cpus - 1))" wrk -d"${duration}s" "${wrk_argv[@]}")
      after=$(cpu_ticks_of "$server")
      kill "$server"; wait "$server" 2>/dev/null || true
      rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$report")
      requests=$(awk '/ requests in / { print $1 }' <<<"$report")
      results+=("$rps $(cpu_us_per_request $((after - before)) "$requests")")
    done
    rps=$(printf '%s\n' "${results[@]}" | awk '{ print $1 }' | median)
    cpu=$(printf '%s\n' "${results[@]}" | awk '{ print $2 }' | median)
    per=$(awk -v r="$rps" -v w="$workers" 'BEGIN { printf "%.0f", r / w }')
    printf '%-10s %8d %12.0f %10.2f %14s\n' "$path" "$workers" "$rps" "$cpu" "$per"
    echo "$path,$workers,$rps,$cpu,$per" >>"$csv"
  done
done
echo "wrote $csv"
