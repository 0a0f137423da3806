#!/usr/bin/env bash
# bench/load.sh: ringhttpd against nginx and lighttpd, same docroot, same run.
#
# Every server gets one worker pinned to CPU 0; the load generator (wrk, and
# h2load for fixed request counts) is pinned to CPU 1. Each scenario runs the
# servers alternately (A B C A B C ...) and reports the median of the rounds.
#
#   bench/load.sh                 the full run (about 10 minutes)
#   bench/load.sh --quick         one short round of each scenario, no
#                                 warm-up runs (CI: about 2 minutes)
#
# Options:
#   --rounds N          rounds per scenario (default 3; --quick: 1)
#   --duration S        seconds per measured run (default 4; --quick: 1)
#   --idle N            idle connections held for the memory scenario
#                       (default 10000, capped by ulimit -n)
#   --scenarios LIST    comma-separated subset of the scenario names below
#   --build DIR         meson build directory with src/ringhttpd and
#                       bench/idle_clients and bench/slow_clients (default
#                       build-release, built here)
#   --out DIR           where the docroot, configs, logs, CSVs and chart go
#                       (default DIR/load)
#   --guard RATIO       exit 1 if ringhttpd serves fewer than RATIO times
#                       nginx's requests/s in any scenario but large-64m
#                       (a handful of requests per short run: too coarse).
#                       CI uses 0.5: it catches order-of-magnitude
#                       regressions (a MSG_MORE on a response's last bytes
#                       cut 100 KiB to 0.1x), not noise.
#   --no-syscalls       skip the strace pass (it slows each server for a while)
#   --user NAME         the user every server works as (default: nobody when
#                       run as root, else whoever runs this). ringhttpd's
#                       service runs unprivileged (DynamicUser=), where the
#                       per-user pipe budget applies: root is exempt from it,
#                       so a benchmark as root would not see what users get.
#
# Scenarios: ka-1k ka-6k ka-10k ka-100k (keep-alive, 64 connections),
# ka-1k-pipe16 (64 connections, 16 requests pipelined on each), large-1m
# (16 connections), large-1m-128 and large-1m-1k (1 MiB, 128 and 1,024
# connections), large-64m (4),
# close-1k (Connection: close, 64), miss-20k (20,000 distinct files in
# turn, 64), idle (memory per idle keep-alive connection), slow-10m (2,000
# clients reading a 10 MiB file at 512 KiB/s each, every byte checked, with
# the server's RSS and pipes, and 16 other clients served meanwhile;
# --quick: 200 clients at 4 MiB/s). For every
# scenario the most pipe descriptors the server held while measured is
# reported (sampled from /proc every 0.2 s; pipes it holds both ends of).
#
# HTTPS scenarios, ringhttpd against nginx only (same ECDSA P-256
# certificate, same TLS 1.2/1.3 ciphers and TLS 1.3 suites, nginx with
# ssl_session_cache and tickets, and kTLS asked for where the kernel has
# it): tls-ka-1k, tls-ka-100k (keep-alive, 64 connections), tls-large-1m
# (16), tls-close-1k (16 clients of openssl s_time making a new connection
# with a full handshake for each HTTP/1.0 request: full handshakes per
# second), tls-resume-1k (the same, resuming their first session: resumed
# handshakes per second). (wrk with Connection: close resumes its session
# on every reconnection, so it measures resumed handshakes, not full ones.)
#
# Outputs in --out: runs.csv (every run), summary.csv (medians and ratios),
# ratios.png (ringhttpd / peer requests/s per scenario).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
# shellcheck source=bench/common.sh
source "$repo/bench/common.sh"

rounds=3 duration=4 idle_count=10000 build=build-release out="" guard="" trace_syscalls=1 warm_up=1
run_as=$( (($(id -u) == 0)) && echo nobody || id -un )
scenarios="ka-1k,ka-6k,ka-10k,ka-100k,ka-1k-pipe16,large-1m,large-1m-128,large-1m-1k,large-64m,close-1k,miss-20k,idle,slow-10m,tls-ka-1k,tls-ka-100k,tls-large-1m,tls-close-1k,tls-resume-1k"
slow_count=2000 slow_rate=524288
usage_error() { echo "load.sh: $1" >&2; exit 2; }
positive() { [[ "$2" =~ ^[0-9]+$ && "$2" -gt 0 ]] || usage_error "$1: not a positive whole number: '$2'"; }
while (($#)); do
  case "$1" in
    --quick) rounds=1 duration=1 warm_up=0 slow_count=200 slow_rate=4194304 ;;
    --rounds) positive "$1" "${2-}"; rounds=$2; shift ;;
    --duration) positive "$1" "${2-}"; duration=$2; shift ;;
    --idle) positive "$1" "${2-}"; idle_count=$2; shift ;;
    --scenarios) scenarios=${2-}; shift ;;
    --build) build=${2-}; shift ;;
    --out) out=${2-}; shift ;;
    --guard) [[ "${2-}" =~ ^[0-9]+(\.[0-9]+)?$ ]] || usage_error "--guard: not a ratio: '${2-}'"
             guard=$2; shift ;;
    --no-syscalls) trace_syscalls=0 ;;
    --user) id "${2-}" >/dev/null 2>&1 || usage_error "--user: no such user '${2-}'"; run_as=$2; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) usage_error "unknown option '$1' (try --help)" ;;
  esac
  shift
done
known=" ka-1k ka-6k ka-10k ka-100k ka-1k-pipe16 large-1m large-1m-128 large-1m-1k large-64m close-1k miss-20k idle slow-10m tls-ka-1k tls-ka-100k tls-large-1m tls-close-1k tls-resume-1k "
for s in ${scenarios//,/ }; do
  [[ "$known" == *" $s "* ]] || usage_error "--scenarios: unknown scenario '$s' (known:$known)"
done
out=${out:-$build/load}

# ---------------------------------------------------------------- set-up
make -s -C "$repo" load-deps
if [[ "$build" == build-release ]]; then
  make -s -C "$repo" bench-build >/dev/null
fi
ringhttpd="$repo/$build/src/ringhttpd"
idle_clients="$repo/$build/bench/idle_clients"
slow_clients="$repo/$build/bench/slow_clients"
for tool in "$ringhttpd" "$idle_clients" "$slow_clients"; do
  [[ -x "$tool" ]] || usage_error "--build $build: $tool is missing (configure it with -Dtests=true)"
done
(($(nproc) >= 2)) || usage_error "needs 2 CPUs (server on 0, load on 1); this machine has $(nproc)"

ulimit -n "$(ulimit -Hn)"
max_idle=$(( $(ulimit -n) - 1000 ))
((idle_count <= max_idle)) || { echo "load.sh: --idle $idle_count lowered to $max_idle (ulimit -n)"; idle_count=$max_idle; }

mkdir -p "$out"
out=$(cd "$out" && pwd)
docroot=$out/docroot
mkdir -p "$docroot/files"
make_file() { [[ -s "$docroot/$1" && $(stat -c %s "$docroot/$1") == "$2" ]] || head -c "$2" /dev/urandom >"$docroot/$1"; }
make_file 1k.bin 1024
make_file 6k.bin 6144
make_file 10k.bin 10240
make_file 100k.bin 102400
make_file 1m.bin 1048576
make_file 64m.bin 67108864
make_file 10m.bin 10485760
if [[ ! -e "$docroot/files/19999.html" ]]; then
  small=$(head -c 700 /dev/zero | tr '\0' 'x')
  for ((i = 0; i < 20000; i++)); do printf -v name '%05d' "$i"; echo "$small" >"$docroot/files/$name.html"; done
fi
chmod -R a+rX "$docroot"
cat "$docroot"/*.bin >/dev/null     # page cache warm for every server alike
# One certificate for both TLS servers: ECDSA P-256, as CDN origins commonly
# have. Readable by the servers' user (a benchmark key, nothing else).
tls_dir=$out/tls
mkdir -p "$tls_dir"
if [[ ! -s "$tls_dir/origin.pem" ]]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tls_dir/origin.key" \
    -out "$tls_dir/origin.pem" -subj /CN=localhost -days 3650 \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null
fi
chmod a+rX "$tls_dir" && chmod a+r "$tls_dir"/*
# ringhttpd's TLS 1.2 ciphers and TLS 1.3 suites (src/tls/context_set.cc), for nginx.
tls12_ciphers="ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
tls13_suites="TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
awk 'BEGIN { for (i = 0; i < 20000; i++) printf "/files/%05d.html\n", i }' >"$out/miss-20k.urls"
cat >"$out/miss-20k.lua" <<'EOF'
-- Each request asks for the next of 20,000 files, in a cycle: every cache
-- smaller than 20,000 entries (ringhttpd's 16,384, nginx's 16,384) misses.
local next_file = 0
request = function()
  local path = string.format("/files/%05d.html", next_file)
  next_file = (next_file + 1) % 20000
  return wrk.format("GET", path)
end
EOF
cat >"$out/pipe16.lua" <<'EOF'
-- 16 requests written at once on each connection (HTTP/1.1 pipelining);
-- wrk counts each response.
init = function(args)
  local batch = {}
  for i = 1, 16 do batch[i] = wrk.format("GET") end
  pipelined = table.concat(batch)
end
request = function() return pipelined end
EOF

# ---------------------------------------------------------------- servers
if [[ "$run_as" != "$(id -un)" ]] &&
   ! setpriv --reuid="$(id -u "$run_as")" --regid="$(id -g "$run_as")" --clear-groups \
       sh -c "test -x '$ringhttpd' && test -r '$docroot/1k.bin'" 2>/dev/null; then
  # A clone in a private folder (mktemp -d is 0700) cannot be reached.
  echo "load.sh: $run_as cannot reach $docroot or $ringhttpd; the servers work as $(id -un)," \
       "where no pipe budget applies"
  run_as=$(id -un)
fi
servers=(ringhttpd nginx lighttpd)
declare -A port=([ringhttpd]=18481 [nginx]=18482 [lighttpd]=18483)
declare -A tls_port=([ringhttpd]=18491 [nginx]=18492)
# The servers a scenario compares: HTTPS ones, ringhttpd and nginx.
servers_of() { if [[ "$1" == tls-* ]]; then echo ringhttpd nginx; else echo "${servers[@]}"; fi; }
declare -A pid=()

mkdir -p "$out/nginx"
cat >"$out/nginx/nginx.conf" <<EOF
# A tuned nginx: one worker, sendfile, tcp_nopush, an open-file cache as large
# as ringhttpd's, a buffered access log.
# Workers as whoever runs this, not www-data: the docroot may sit under a
# private folder (a mktemp -d clone is 0700, and nginx answered 403).
user $run_as $(id -gn "$run_as");
worker_processes 1;
worker_rlimit_nofile $(ulimit -n);
daemon off;
pid $out/nginx/nginx.pid;
error_log $out/nginx/error.log;
events { worker_connections $(( $(ulimit -n) - 100 )); }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log $out/nginx/access.log combined buffer=64k flush=1s;
  sendfile on;
  tcp_nopush on;
  open_file_cache max=16384 inactive=60s;
  open_file_cache_valid 2s;
  open_file_cache_errors on;
  keepalive_timeout 65s;
  keepalive_requests 10000000;
  server {
    listen 127.0.0.1:${port[nginx]} backlog=4096;
    root $docroot;
  }
  server {
    listen 127.0.0.1:${tls_port[nginx]} ssl backlog=4096;
    root $docroot;
    ssl_certificate $tls_dir/origin.pem;
    ssl_certificate_key $tls_dir/origin.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers $tls12_ciphers;
    ssl_prefer_server_ciphers on;
    ssl_conf_command Ciphersuites $tls13_suites;
    ssl_conf_command Options KTLS;
    ssl_session_cache shared:SSL:10m;
    ssl_session_tickets on;
  }
}
EOF

mkdir -p "$out/lighttpd"
cat >"$out/lighttpd/lighttpd.conf" <<EOF
server.document-root = "$docroot"
server.bind = "127.0.0.1"
server.port = ${port[lighttpd]}
server.pid-file = "$out/lighttpd/lighttpd.pid"
server.errorlog = "$out/lighttpd/error.log"
$(# lighttpd refuses to switch to uid 0: as root it stays root, unasked.
  (($(id -u "$run_as") == 0)) || printf 'server.username = "%s"\nserver.groupname = "%s"\n' "$run_as" "$(id -gn "$run_as")")
server.modules = ("mod_accesslog")
accesslog.filename = "$out/lighttpd/access.log"
server.max-fds = $(ulimit -n)
server.max-connections = $(( $(ulimit -n) - 100 ))
server.max-keep-alive-requests = 10000000
server.max-keep-alive-idle = 65
server.network-backend = "sendfile"
server.listen-backlog = 4096
mimetype.assign = (".html" => "text/html", ".bin" => "application/octet-stream")
EOF

mkdir -p "$out/ringhttpd"
# ringhttpd drops nothing itself (systemd starts it as its user): start it as
# that user, with its folder its own; nginx and lighttpd open their logs
# first and then drop to the same user.
as_user=()
if [[ "$run_as" != "$(id -un)" ]]; then
  chown -R "$run_as" "$out/ringhttpd" "$out/lighttpd"   # lighttpd opens its logs after dropping
  as_user=(setpriv --reuid="$(id -u "$run_as")" --regid="$(id -g "$run_as")" --clear-groups)
fi
echo "load.sh: every server works as $run_as"
start_server() {
  local name=$1
  if port_open "${port[$name]}"; then
    echo "load.sh: port ${port[$name]} (for $name) is already in use; stop what listens there" >&2
    exit 1
  fi
  case "$name" in
    ringhttpd)
      taskset -c 0 "${as_user[@]}" "$ringhttpd" --root "$docroot" --listen "127.0.0.1:${port[ringhttpd]}" --workers 1 \
        --listen-tls "127.0.0.1:${tls_port[ringhttpd]}" --tls-cert "$tls_dir/origin.pem" --tls-key "$tls_dir/origin.key" \
        --access-log "$out/ringhttpd/access.log" --keepalive-timeout 65s --keepalive-requests 0 \
        >"$out/ringhttpd/start.log" 2>"$out/ringhttpd/error.log" & ;;
    nginx)
      taskset -c 0 nginx -e "$out/nginx/error.log" -c "$out/nginx/nginx.conf" & ;;
    lighttpd)
      taskset -c 0 lighttpd -D -f "$out/lighttpd/lighttpd.conf" & ;;
  esac
  pid[$name]=$!
  for ((try = 0; try < 100; try++)); do
    if port_open "${port[$name]}"; then return 0; fi
    kill -0 "${pid[$name]}" 2>/dev/null || break
    sleep 0.05
  done
  echo "load.sh: $name did not start on port ${port[$name]}; its error log:" >&2
  cat "$out/$name/error.log" >&2 2>/dev/null || true
  exit 1
}
stop_servers() {
  local n
  for n in "${!pid[@]}"; do kill "${pid[$n]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pid=()
}
trap stop_servers EXIT

# The server and every process it forked (nginx's worker).
server_pids() { echo "${pid[$1]}" $(pgrep -P "${pid[$1]}" || true); }
cpu_ticks() { cpu_ticks_of $(server_pids "$1"); }
rss_kib() {
  local total=0 p
  for p in $(server_pids "$1"); do
    total=$(( total + $(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status") ))
  done
  echo "$total"
}
truncate_logs() { local n; for n in "${servers[@]}"; do : >"$out/$n/access.log" 2>/dev/null || true; done; }

for name in "${servers[@]}"; do start_server "$name"; done
for name in "${servers[@]}"; do
  got=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' "http://127.0.0.1:${port[$name]}/1k.bin")
  [[ "$got" == "200 1024" ]] || { echo "load.sh: $name answered '$got' for /1k.bin, not '200 1024'" >&2; exit 1; }
  [[ -n "${tls_port[$name]-}" ]] || continue
  got=$(curl -s -k -o /dev/null -w '%{http_code} %{size_download}' "https://127.0.0.1:${tls_port[$name]}/1k.bin")
  [[ "$got" == "200 1024" ]] || { echo "load.sh: $name answered '$got' for https /1k.bin, not '200 1024'" >&2; exit 1; }
done
grep -h "TLS:" "$out/ringhttpd/start.log" || true

# ---------------------------------------------------------------- measuring
declare -A connections=([ka-1k]=64 [ka-6k]=64 [ka-10k]=64 [ka-100k]=64 [ka-1k-pipe16]=64
                        [large-1m]=16 [large-1m-128]=128 [large-1m-1k]=1024 [large-64m]=4 [close-1k]=64 [miss-20k]=64
                        [tls-ka-1k]=64 [tls-ka-100k]=64 [tls-large-1m]=16 [tls-close-1k]=16 [tls-resume-1k]=16)
declare -A path=([ka-1k]=/1k.bin [ka-6k]=/6k.bin [ka-10k]=/10k.bin [ka-100k]=/100k.bin
                 [ka-1k-pipe16]=/1k.bin [large-1m]=/1m.bin [large-1m-128]=/1m.bin [large-1m-1k]=/1m.bin [large-64m]=/64m.bin
                 [close-1k]=/1k.bin [miss-20k]=/files/
                 [tls-ka-1k]=/1k.bin [tls-ka-100k]=/100k.bin [tls-large-1m]=/1m.bin [tls-close-1k]=/1k.bin
                 [tls-resume-1k]=/1k.bin)
# Requests in the strace pass: enough that the idle tick is noise.
declare -A fixed_count=([ka-1k]=20000 [ka-6k]=20000 [ka-10k]=20000 [ka-100k]=10000
                        [ka-1k-pipe16]=40000 [large-1m]=2000 [large-1m-128]=2048 [large-1m-1k]=4096 [large-64m]=40
                        [close-1k]=10000 [miss-20k]=20000
                        [tls-ka-1k]=20000 [tls-ka-100k]=10000 [tls-large-1m]=2000)

set_wrk_argv() {   # scenario server -> wrk_argv
  local scenario=$1 name=$2
  wrk_argv=(-t1 "-c${connections[$scenario]}" --latency)
  case "$scenario" in
    close-*|tls-close-*) wrk_argv+=(-H "Connection: close") ;;
    miss-*) wrk_argv+=(-s "$out/miss-20k.lua") ;;
    *-pipe16) wrk_argv+=(-s "$out/pipe16.lua") ;;
  esac
  if [[ "$scenario" == tls-* ]]; then
    wrk_argv+=("https://127.0.0.1:${tls_port[$name]}${path[$scenario]}")
  else
    wrk_argv+=("http://127.0.0.1:${port[$name]}${path[$scenario]}")
  fi
}

# Converts wrk's "12.34MB" / "850.2us" figures to MB and milliseconds.
to_mb() { awk -v v="$1" 'BEGIN { n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
  f = (u == "GB") ? 1024 : (u == "MB") ? 1 : (u == "KB") ? 1 / 1024 : 1 / 1048576; printf "%.2f", n * f }'; }
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
  f = (u == "s") ? 1000 : (u == "ms") ? 1 : (u == "us") ? 0.001 : 60000; printf "%.3f", n * f }'; }

echo "scenario,server,round,requests_per_s,mb_per_s,p99_ms,cpu_us_per_request,errors,pipes" >"$out/runs.csv"

# Pipe descriptors a server's processes hold now, of pipes they hold both
# ends of (its own: a splice pool's); one end inherited from this script's
# shell is not the server's doing.
pipe_fds() {   # server -> descriptors
  local p pairs=0
  for p in $(server_pids "$1"); do
    pairs=$(( pairs + $(find "/proc/$p/fd" -lname 'pipe:*' -printf '%l\n' 2>/dev/null | sort | uniq -d | wc -l) ))
  done
  echo $(( pairs * 2 ))
}

# Samples a server every INTERVAL seconds, on CPU 1, until stop_sampler,
# keeping in FILE the most RSS (KiB) and pipe descriptors seen: "RSS PIPES".
start_sampler() {   # server file interval -> sampler (its pid)
  local name=$1 file=$2 interval=$3
  echo "0 0" >"$file"
  ( most_rss=0 most_pipes=0
    while :; do
      r=$(rss_kib "$name"); p=$(pipe_fds "$name")
      ((r > most_rss)) && most_rss=$r; ((p > most_pipes)) && most_pipes=$p
      echo "$most_rss $most_pipes" >"$file"
      sleep "$interval"
    done ) &
  sampler=$!
  taskset -pc 1 "$sampler" >/dev/null
}
stop_sampler() { kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true; }

# TLS handshakes per second: clients of openssl s_time, each reconnecting
# in a loop, one HTTP/1.0 request per connection read to the close; each
# connection a full handshake (tls-close) or resuming the session of the
# client's first one (tls-resume).
run_s_time() {   # scenario server round seconds -> appends to runs.csv
  local scenario=$1 name=$2 round=$3 seconds=$4 before after start finish i count=0 reports=() clients_pids=()
  local clients=${connections[$scenario]} session=-new
  [[ "$scenario" != tls-resume-* ]] || session=-reuse
  before=$(cpu_ticks "$name")
  start=$(date +%s.%N)
  for ((i = 0; i < clients; i++)); do
    reports+=("$out/$name/s_time.$i")
    taskset -c 1 openssl s_time -connect "127.0.0.1:${tls_port[$name]}" "$session" -www "${path[$scenario]}" \
      -time "$seconds" >"$out/$name/s_time.$i" 2>&1 &
    clients_pids+=($!)
  done
  wait "${clients_pids[@]}"   # (not the servers, also children of this shell)
  finish=$(date +%s.%N)
  after=$(cpu_ticks "$name")
  truncate_logs
  ((round > 0)) || return 0
  for i in "${reports[@]}"; do
    count=$(( count + $(awk '/connections in .* real seconds/ { print $1; exit }' "$i") ))
  done
  local rps cpu_us
  rps=$(awk -v n="$count" -v a="$start" -v b="$finish" 'BEGIN { printf "%.1f", n / (b - a) }')
  cpu_us=$(cpu_us_per_request $((after - before)) "$count")
  echo "$scenario,$name,$round,$rps,,,$cpu_us,0,0" >>"$out/runs.csv"
}

run_wrk() {   # scenario server round seconds -> appends to runs.csv (round 0: warm-up, not kept)
  local scenario=$1 name=$2 round=$3 seconds=$4 before after report
  if [[ "$scenario" == tls-resume-* || "$scenario" == tls-close-* ]]; then
    run_s_time "$@"
    return
  fi
  set_wrk_argv "$scenario" "$name"
  # The most pipe descriptors held while wrk runs.
  local most_file="$out/$name/most"
  start_sampler "$name" "$most_file" 0.2
  before=$(cpu_ticks "$name")
  report=$(taskset -c 1 wrk -d"${seconds}s" "${wrk_argv[@]}" 2>&1) || {
    stop_sampler; echo "load.sh: wrk failed against $name: $report" >&2; exit 1; }
  after=$(cpu_ticks "$name")
  stop_sampler
  truncate_logs
  ((round > 0)) || return 0
  local rps requests transfer p99 errors cpu_us
  rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$report")
  requests=$(awk '/ requests in / { print $1 }' <<<"$report")
  transfer=$(awk '/^Transfer\/sec:/ { print $2 }' <<<"$report")
  p99=$(awk '$1 == "99%" { print $2 }' <<<"$report")
  errors=$(awk '/Non-2xx or 3xx responses:/ { n += $NF }
               /Socket errors:/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 } END { print n + 0 }' <<<"$report")
  cpu_us=$(cpu_us_per_request $((after - before)) "$requests")
  echo "$scenario,$name,$round,$rps,$(to_mb "$transfer"),$(to_ms "$p99"),$cpu_us,$errors,$(awk '{ print $2 }' "$most_file")" >>"$out/runs.csv"
}

# Syscalls per request: strace -c -f on the whole server (every thread; the
# kernel's io-wq workers make no syscalls) while h2load sends a fixed count.
syscalls_per_request() {
  local scenario=$1 name=$2 n=${fixed_count[$1]-0} trace="$out/$name/strace.txt" tracer p
  local h2=(--h1 -t1 -n "$n" -c "${connections[$scenario]}")
  local url="http://127.0.0.1:${port[$name]}${path[$scenario]}"
  case "$scenario" in
    close-*) h2+=(-H "Connection: close") ;;
    *-pipe16) h2+=(-m 16) ;;
    tls-resume-*|tls-close-*) echo "-"; return 0 ;;   # (s_time makes their connections)
  esac
  [[ "$scenario" != tls-* ]] || url="https://127.0.0.1:${tls_port[$name]}${path[$scenario]}"
  local attach=()
  for p in $(server_pids "$name"); do attach+=(-p "$p"); done
  rm -f "$trace"
  strace -c -f -q -o "$trace" "${attach[@]}" &
  tracer=$!
  sleep 0.5
  if [[ "$scenario" == miss-* ]]; then
    sed "s|^|http://127.0.0.1:${port[$name]}|" "$out/miss-20k.urls" |
      taskset -c 1 h2load "${h2[@]}" -i - >"$out/$name/h2load.txt" 2>&1
  else
    taskset -c 1 h2load "${h2[@]}" "$url" >"$out/$name/h2load.txt" 2>&1
  fi
  kill -INT "$tracer" 2>/dev/null || true
  wait "$tracer" 2>/dev/null || true
  truncate_logs
  if [[ ! -s "$trace" ]]; then
    echo "load.sh: strace could not trace $name (ptrace not allowed here?); syscalls not counted" >&2
    echo "-"
    return 0
  fi
  local done_count
  done_count=$(awk '/^requests:/ { print $8 }' "$out/$name/h2load.txt")
  awk -v n="${done_count:-0}" '$NF == "total" { calls = $4 } END { printf "%.2f", n ? calls / n : -1 }' "$trace"
}

declare -A syscall_counts=()
for scenario in ${scenarios//,/ }; do
  [[ "$scenario" != idle && "$scenario" != slow-10m ]] || continue
  echo "== $scenario: ${connections[$scenario]} connections, ${path[$scenario]}, ${rounds} x ${duration}s per server"
  if ((warm_up)); then
    for name in $(servers_of "$scenario"); do run_wrk "$scenario" "$name" 0 1; done
  fi
  for ((round = 1; round <= rounds; round++)); do
    for name in $(servers_of "$scenario"); do run_wrk "$scenario" "$name" "$round" "$duration"; done
  done
  if ((trace_syscalls)); then
    for name in $(servers_of "$scenario"); do syscall_counts[$scenario,$name]=$(syscalls_per_request "$scenario" "$name"); done
  fi
done

# Memory per idle connection: RSS of the whole server before and while
# idle_clients holds N keep-alive connections that have each made a request.
declare -A idle_bytes=()
if [[ ",$scenarios," == *,idle,* ]]; then
  echo "== idle: $idle_count keep-alive connections after one request each"
  # Fresh servers: memory the earlier scenarios touched and freed would
  # otherwise absorb the connections' own.
  stop_servers
  for name in "${servers[@]}"; do
    start_server "$name"
    curl -s -o /dev/null "http://127.0.0.1:${port[$name]}/1k.bin"
    before=$(rss_kib "$name")
    coproc holder { taskset -c 1 "$idle_clients" 127.0.0.1 "${port[$name]}" "$idle_count" /1k.bin; }
    read -r ready _ <&"${holder[0]}" || true
    [[ "${ready:-}" == ready ]] || { echo "load.sh: idle_clients failed against $name" >&2; exit 1; }
    sleep 1
    after=$(rss_kib "$name")
    exec {holder[1]}>&-
    wait "$holder_PID" || true
    idle_bytes[$name]=$(( (after - before) * 1024 / idle_count ))
    sleep 1
  done
fi

# Slow readers: slow_clients downloads /10m.bin on many connections at a
# low rate each; meanwhile the server's RSS and pipes are sampled, and 16
# other clients ask for /1k.bin for 2 s.
declare -A slow_done=() slow_rss=() slow_pipes=() slow_others=()
if [[ ",$scenarios," == *,slow-10m,* ]]; then
  echo "== slow-10m: $slow_count clients reading /10m.bin at $slow_rate B/s each; 16 others on /1k.bin meanwhile"
  for name in "${servers[@]}"; do
    rss_before=$(rss_kib "$name")
    taskset -c 1 "$slow_clients" 127.0.0.1 "${port[$name]}" "$slow_count" /10m.bin "$docroot/10m.bin" \
      "$slow_rate" >"$out/$name/slow.txt" 2>&1 &
    downloads=$!
    start_sampler "$name" "$out/$name/slow-most" 0.5
    sleep 1
    others=$(taskset -c 1 wrk -t1 -c16 -d2s "http://127.0.0.1:${port[$name]}/1k.bin" 2>&1)
    slow_others[$name]=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$others")
    if wait "$downloads"; then slow_done[$name]=yes; else slow_done[$name]=no; fi
    stop_sampler
    read -r most_rss most_pipes <"$out/$name/slow-most" || most_rss=0 most_pipes=0
    slow_rss[$name]=$(( (most_rss - rss_before) / 1024 ))
    slow_pipes[$name]=$most_pipes
    echo "  $name: $(tail -1 "$out/$name/slow.txt"); RSS +${slow_rss[$name]} MiB at most," \
         "$most_pipes pipe descriptors at most; others meanwhile ${slow_others[$name]:-0} req/s"
    truncate_logs
  done
fi

# ---------------------------------------------------------------- report
most_pipes() {   # scenario server -> the most pipe descriptors held in any round
  awk -F, -v s="$1" -v n="$2" '$1 == s && $2 == n && $9 > m { m = $9 } END { print m + 0 }' "$out/runs.csv"
}
median_of() {   # scenario server column -> median over rounds
  awk -F, -v s="$1" -v n="$2" -v c="$3" '$1 == s && $2 == n { print $c }' "$out/runs.csv" | median
}
# The median over rounds of ringhttpd's requests/s divided by the peer's in
# the same round: runs next to each other share the machine's mood (on a VM
# whole rounds run 20-30% faster or slower than others).
# A third argument picks another runs.csv column (7: CPU us per request).
ratio() {   # scenario peer [column]
  awk -F, -v s="$1" -v p="$2" -v c="${3:-4}" '$1 == s && $2 == "ringhttpd" { mine[$3] = $c }
    $1 == s && $2 == p { theirs[$3] = $c }
    END { for (k in mine) if (theirs[k] > 0) print mine[k] / theirs[k] }' "$out/runs.csv" | median - |
    awk '{ if ($1 == "-") print; else printf "%.2f", $1 }'
}

echo
if ((rounds == 1 && !warm_up)); then
  echo "Short form: one ${duration}s round, no warm-up: a guard against large regressions, not a"
  echo "measurement (the first scenarios meet cold peers); run bench/load.sh for figures."
fi
echo "Medians of $rounds round(s); server on CPU 0, load on CPU 1;"
echo "ratio = ringhttpd / peer requests/s in the same round (median over rounds)."
printf '%-12s %-9s %10s %9s %9s %8s %9s %7s %6s %8s\n' scenario server "req/s" "MB/s" "p99 ms" "CPU us" "sys/req" errors pipes ratio
echo "scenario,server,requests_per_s,mb_per_s,p99_ms,cpu_us_per_request,syscalls_per_request,errors,pipes,ratio" >"$out/summary.csv"
echo "# scenario ratio_vs_nginx ratio_vs_lighttpd" >"$out/ratios.dat"
declare -A rps=()
failed_guard=0
for scenario in ${scenarios//,/ }; do
  [[ "$scenario" != idle && "$scenario" != slow-10m ]] || continue
  for name in $(servers_of "$scenario"); do
    rps[$scenario,$name]=$(median_of "$scenario" "$name" 4)
    mbs=$(median_of "$scenario" "$name" 5); p99=$(median_of "$scenario" "$name" 6)
    cpu=$(median_of "$scenario" "$name" 7); errs=$(median_of "$scenario" "$name" 8)
    pipes=$(most_pipes "$scenario" "$name")
    r="-"; [[ $name == ringhttpd ]] || r=$(ratio "$scenario" "$name")
    sc=${syscall_counts[$scenario,$name]:--}
    printf '%-12s %-9s %10.0f %9.1f %9.2f %8.2f %9s %7s %6s %8s\n' \
      "$scenario" "$name" "${rps[$scenario,$name]}" "$mbs" "$p99" "$cpu" "$sc" "$errs" "$pipes" "$r"
    echo "$scenario,$name,${rps[$scenario,$name]},$mbs,$p99,$cpu,$sc,$errs,$pipes,$r" >>"$out/summary.csv"
    if [[ -n "$guard" && $name == nginx && $scenario != large-64m ]] &&
       awk -v r="$r" -v g="$guard" 'BEGIN { exit !(r != "-" && r < g) }'; then
      echo "load.sh: guard: $scenario ringhttpd/nginx = $r, below $guard" >&2
      failed_guard=1
    fi
  done
  lighttpd_ratio=0; [[ "$scenario" == tls-* ]] || lighttpd_ratio=$(ratio "$scenario" lighttpd)
  echo "$scenario $(ratio "$scenario" nginx) $lighttpd_ratio" >>"$out/ratios.dat"
done
for name in "${!slow_done[@]}"; do
  echo "slow-10m,$name,${slow_others[$name]:-0},,,,,,${slow_pipes[$name]},complete=${slow_done[$name]} rss_growth_mib=${slow_rss[$name]}" >>"$out/summary.csv"
done
for name in "${!idle_bytes[@]}"; do
  echo "idle,$name,,,,,,,${idle_bytes[$name]} bytes per connection" >>"$out/summary.csv"
done
if ((${#idle_bytes[@]})); then
  printf 'idle: memory per idle keep-alive connection (RSS growth / %d):' "$idle_count"
  for name in "${servers[@]}"; do printf ' %s %s B;' "$name" "${idle_bytes[$name]}"; done
  echo
fi

# Targets from issue 8, checked where this run measured them.
echo
echo "Targets:"
target() {   # description value op limit
  [[ -n "$2" && "$2" != "-" ]] || return 0
  local verdict
  verdict=$(awk -v v="$2" -v l="$4" -v op="$3" 'BEGIN { ok = (op == ">=") ? v >= l : v <= l; print ok ? "met" : "MISSED" }')
  printf '  %-46s %8s %s %-6s %s\n' "$1" "$2" "$3" "$4" "$verdict"
}
has() { [[ -n "${rps[$1,ringhttpd]-}" ]]; }
if has ka-1k; then
  target "1 KiB keep-alive vs nginx" "$(ratio ka-1k nginx)" ">=" 1.5
  target "1 KiB keep-alive vs lighttpd" "$(ratio ka-1k lighttpd)" ">=" 1.1
  target "1 KiB server CPU us per request" "$(median_of ka-1k ringhttpd 7)" "<=" 8
  # The same target against the VM's mood: the issue's 8 us beside nginx's
  # 17 us, as a ratio of CPU per request in the same round (between runs on
  # one VM nginx's own figure moved from 17 to 30 us).
  target "1 KiB server CPU / nginx's, same round" "$(ratio ka-1k nginx 7)" "<=" 0.47
  target "1 KiB syscalls per request (64 connections)" "${syscall_counts[ka-1k,ringhttpd]:-}" "<=" 0.5
fi
has ka-100k && target "100 KiB vs nginx" "$(ratio ka-100k nginx)" ">=" 1.2
has ka-100k && target "100 KiB server CPU / nginx's, same round" "$(ratio ka-100k nginx 7)" "<=" 1.0
has large-1m && target "1 MiB server CPU / nginx's, same round" "$(ratio large-1m nginx 7)" "<=" 1.0
has large-64m && target "64 MiB server CPU / nginx's, same round" "$(ratio large-64m nginx 7)" "<=" 1.0
if has large-1m-1k; then
  target "1 MiB, 1,024 connections vs nginx" "$(ratio large-1m-1k nginx)" ">=" 1.2
  has large-1m-128 && target "1 MiB: 1,024 connections / 128 (own req/s)" \
    "$(awk -v a="${rps[large-1m-1k,ringhttpd]}" -v b="${rps[large-1m-128,ringhttpd]}" 'BEGIN { printf "%.2f", b ? a / b : 0 }')" ">=" 0.85
  target "1 MiB, 1,024 connections: most pipes held" "$(most_pipes large-1m-1k ringhttpd)" "<=" 256
fi
if has ka-1k-pipe16; then
  target "pipelined 1 KiB server CPU us per request" "$(median_of ka-1k-pipe16 ringhttpd 7)" "<=" 3
  target "pipelined 1 KiB vs lighttpd" "$(ratio ka-1k-pipe16 lighttpd)" ">=" 2.0
fi
has large-64m && target "64 MiB vs nginx" "$(ratio large-64m nginx)" ">=" 1.0
has close-1k && target "Connection: close vs nginx" "$(ratio close-1k nginx)" ">=" 1.3
has miss-20k && target "20,000-file misses vs nginx" "$(ratio miss-20k nginx)" ">=" 1.0
[[ -z "${idle_bytes[ringhttpd]-}" ]] || target "bytes per idle connection" "${idle_bytes[ringhttpd]}" "<=" 2048
# HTTPS (issue 17): at least nginx's requests/s, at most its CPU per request;
# on 1 KiB keep-alive, at most 0.8 of it.
for scenario in tls-ka-1k tls-ka-100k tls-large-1m tls-close-1k tls-resume-1k; do
  has "$scenario" || continue
  target "$scenario vs nginx" "$(ratio "$scenario" nginx)" ">=" 1.0
  limit=1.0; [[ "$scenario" != tls-ka-1k ]] || limit=0.8
  target "$scenario server CPU / nginx's, same round" "$(ratio "$scenario" nginx 7)" "<=" "$limit"
done
if [[ -n "${slow_done[ringhttpd]-}" ]]; then
  target "slow-10m: every download byte-exact (1 = yes)" "$([[ ${slow_done[ringhttpd]} == yes ]] && echo 1 || echo 0)" ">=" 1
  target "slow-10m: most pipe descriptors" "${slow_pipes[ringhttpd]}" "<=" 256
  target "slow-10m: RSS growth, MiB" "${slow_rss[ringhttpd]}" "<=" 64
  target "slow-10m: other clients' req/s meanwhile" "${slow_others[ringhttpd]:-0}" ">=" 1000
fi

if [[ $(wc -l <"$out/ratios.dat") -gt 1 ]]; then
  gnuplot <<EOF
set terminal pngcairo size 900,480 font ",10"
set output "$out/ratios.png"
set title "ringhttpd requests/s relative to each peer (same run; above 1 is faster)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set yrange [0:*]
set grid ytics
set key top right
set arrow from graph 0, first 1 to graph 1, first 1 nohead dashtype 2 linecolor rgb "black"
plot "$out/ratios.dat" using 2:xtic(1) title "vs nginx", "" using 3 title "vs lighttpd"
EOF
fi
echo
echo "wrote $out/runs.csv, $out/summary.csv, $out/ratios.png"
exit "$failed_guard"
