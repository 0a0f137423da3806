# Helpers shared by bench/load.sh and bench/ab.sh (sourced, not run).

# True when something accepts connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The median of the numbers on standard input; $1 (default 0) when there are none.
median() {
  sort -g | awk -v none="${1:-0}" '{ v[++k] = $1 }
    END { if (!k) print none; else print (k % 2) ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2 }'
}

# Server CPU microseconds per request from clock ticks and a request count
# (0 when there were no requests).
cpu_us_per_request() {   # ticks requests
  awk -v t="$1" -v hz="$(getconf CLK_TCK)" -v n="$2" 'BEGIN { printf "%.2f", n ? t * 1e6 / hz / n : 0 }'
}

# utime + stime, in clock ticks, of the processes given: /proc/PID/stat counts
# every thread of a process, io_uring's io-wq workers and exited ones included.
cpu_ticks_of() {
  local total=0 p
  for p in "$@"; do
    total=$(( total + $(sed 's/.*) //' "/proc/$p/stat" | awk '{ print $12 + $13 }') ))
  done
  echo "$total"
}
