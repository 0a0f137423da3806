#!/usr/bin/env bash
# bench/ab.sh: measures one lever: two ringhttpd configurations (flags, or
# two binaries), alternated A B A B, each a fresh process with one worker on
# CPU 0 and wrk on CPU 1, on the docroot bench/load.sh made.
#
#   bench/ab.sh [options] 'A flags' 'B flags'
#   bench/ab.sh --path /1k.bin '--cache-entries 0' ''
#   bench/ab.sh --bin-a /tmp/ringhttpd-before --path /1k.bin '' ''
#
# Options:
#   --bin-a PATH, --bin-b PATH   binaries (default build-release/src/ringhttpd)
#   --path P            what to request (default /1k.bin)
#   --header 'N: v'     a request header (e.g. 'Connection: close')
#   --connections N     wrk connections (default 64)
#   --pipeline N        N requests written at once on each connection (HTTP/1.1
#                       pipelining; default 1: none)
#   --rounds N          A B pairs (default 4)
#   --duration S        seconds per measured run (default 4)
#   --docroot DIR       default build-release/load/docroot (bench/load.sh makes it)
#   --tls               over HTTPS: --listen-tls with bench/load.sh's certificate
#                       (wrk makes a full handshake per connection)
# Prints requests/s and server CPU microseconds per request for each run,
# then the medians.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/common.sh
source "$repo/bench/common.sh"
bin_a=$repo/build-release/src/ringhttpd bin_b=$repo/build-release/src/ringhttpd
path=/1k.bin header="" connections=64 pipeline=1 rounds=4 duration=4 docroot=$repo/build-release/load/docroot
tls=0
usage_error() { echo "ab.sh: $1" >&2; exit 2; }
while [[ $# -gt 2 ]]; do
  if [[ "$1" == --tls ]]; then
    tls=1
    shift
    continue
  fi
  case "$1" in
    --bin-a) bin_a=$2 ;;
    --bin-b) bin_b=$2 ;;
    --path) path=$2 ;;
    --header) header=$2 ;;
    --connections) connections=$2 ;;
    --pipeline) pipeline=$2 ;;
    --rounds) rounds=$2 ;;
    --duration) duration=$2 ;;
    --docroot) docroot=$2 ;;
    *) usage_error "unknown option '$1'" ;;
  esac
  shift 2
done
[[ $# -eq 2 ]] || usage_error "give the A flags and the B flags (quote each; '' for none)"
flags_a=$1 flags_b=$2
for n in "$connections" "$pipeline" "$rounds" "$duration"; do
  [[ "$n" =~ ^[0-9]+$ && "$n" -gt 0 ]] || usage_error "not a positive whole number: '$n'"
done
[[ -d "$docroot" ]] || usage_error "no docroot at $docroot: run bench/load.sh once first"
for b in "$bin_a" "$bin_b"; do [[ -x "$b" ]] || usage_error "not an executable: $b"; done
port=18491
if port_open "$port"; then usage_error "port $port is in use"; fi
scheme=http listen=(--listen "127.0.0.1:$port")
if ((tls)); then
  certificate=$(dirname "$docroot")/tls
  [[ -r "$certificate/origin.pem" ]] || usage_error "--tls: no $certificate/origin.pem: run bench/load.sh once first"
  scheme=https
  listen=(--listen-tls "127.0.0.1:$port" --tls-cert "$certificate/origin.pem" --tls-key "$certificate/origin.key")
fi

wrk_argv=(-t1 "-c$connections")
[[ -z "$header" ]] || wrk_argv+=(-H "$header")
log=$(mktemp)
script=$(mktemp --suffix=.lua)
trap 'rm -f "$log" "$log.all" "$script"' EXIT
if ((pipeline > 1)); then
  cat >"$script" <<EOF
init = function(args)
  local batch = {}
  for i = 1, $pipeline do batch[i] = wrk.format("GET") end
  pipelined = table.concat(batch)
end
request = function() return pipelined end
EOF
  wrk_argv+=(-s "$script")
fi

run() {   # binary flags -> "requests_per_s cpu_us_per_request"
  local binary=$1 flags=$2 server before after report requests
  # shellcheck disable=SC2086  # the flags are words on purpose
  taskset -c 0 "$binary" --root "$docroot" "${listen[@]}" --workers 1 \
    --access-log "$log" $flags >/dev/null 2>&1 &
  server=$!
  for _ in $(seq 100); do port_open "$port" && break; sleep 0.05; done
  taskset -c 1 wrk "${wrk_argv[@]}" -d1s "$scheme://127.0.0.1:$port$path" >/dev/null   # warm-up
  before=$(cpu_ticks_of "$server")
  report=$(taskset -c 1 wrk "${wrk_argv[@]}" -d"${duration}s" "$scheme://127.0.0.1:$port$path")
  after=$(cpu_ticks_of "$server")
  kill "$server"
  wait "$server" 2>/dev/null || true
  : >"$log"
  requests=$(awk '/ requests in / { print $1 }' <<<"$report")
  printf '%.0f %s' "$(awk '/^Requests\/sec:/ { print $2 }' <<<"$report")" \
    "$(cpu_us_per_request $((after - before)) "$requests")"
}

echo "A: $bin_a $flags_a"
echo "B: $bin_b $flags_b"
echo "$scheme $path, $connections connections${header:+, $header}$( ((pipeline > 1)) && echo ", $pipeline pipelined"), $rounds x ${duration}s each"
results=()
for ((round = 1; round <= rounds; round++)); do
  a=$(run "$bin_a" "$flags_a")
  b=$(run "$bin_b" "$flags_b")
  results+=("$a $b")
  echo "round $round: A $a    B $b   (req/s, server CPU us/req)"
done
printf '%s\n' "${results[@]}" >"$log.all"
echo "median: A $(awk '{ print $1 }' "$log.all" | median) req/s $(awk '{ print $2 }' "$log.all" | median) us" \
     "   B $(awk '{ print $3 }' "$log.all" | median) req/s $(awk '{ print $4 }' "$log.all" | median) us"
rm -f "$log.all"
