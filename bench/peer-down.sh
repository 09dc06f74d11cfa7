#!/usr/bin/env bash
# Memory of a server while its peer is paused (SIGSTOP) or dead (kill -9),
# under load: two cmud-servers of two actors (B joining A); B stops, and
# redis-benchmark overwrites 1 000 keys of 1 KiB on A for SECONDS; A's
# resident memory is sampled every 10 s. Then B is resumed (paused case)
# and the time until it holds A's values is measured.
# Usage: bench/peer-down.sh [SECONDS] [pause|kill]
set -euo pipefail
source "$(dirname "$0")/common.sh"
secs=${1:-600}
how=${2:-pause}
need_binaries cmud-server
need_redis

start_cmud a --actors 2
start_cmud b --actors 2 --join "$a_addr"
wait_ping "$a_q0" 10
wait_ping "$b_q0" 10
redis-benchmark -p "$a_q0" -t set -r 1000 -d 1024 -n 200000 -P 16 -q >/dev/null
if [[ $how == kill ]]; then kill -KILL "$b_pid"; else kill -STOP "$b_pid"; fi
timeout "$((secs + 5))" redis-benchmark -p "$a_q0" -t set -r 1000 -d 1024 \
  -n 2000000000 -P 16 -q >/dev/null 2>&1 &
load=$!
start=$(date +%s)
printf '%8s %10s\n' seconds rss_MiB
first=0 peak=0
while (($(date +%s) - start < secs)); do
  sleep 10
  now=$(rss_kb "$a_pid")
  ((first == 0)) && first=$now
  ((now > peak)) && peak=$now
  printf '%8d %10.1f\n' "$(($(date +%s) - start))" "$(echo "$now / 1024" | bc -l)"
done
kill "$load" 2>/dev/null || true
wait "$load" 2>/dev/null || true
sets=$(redis-cli -p "$a_q0" INFO commandstats | tr -d '\r' |
  sed -n 's/^cmdstat_set:calls=\([0-9]*\),.*/\1/p')
echo "summary: B ${how}d for ${secs} s under load (${sets} SETs on A's first port):" \
  "A's RSS $((first / 1024)) MiB at 10 s, peak $((peak / 1024)) MiB"
if [[ $how == pause ]]; then
  # (Run it from a shell that stays until it ends: a stopped process whose
  # process group is orphaned gets SIGHUP from the kernel.)
  kill -0 "$b_pid" 2>/dev/null || { echo "B is gone" >&2; exit 1; }
  kill -CONT "$b_pid"
  t0=$(date +%s.%N)
  keys=$(seq -f 'key:%012g' 0 999 | tr '\n' ' ')
  want=$(redis-cli -p "$a_q1" MGET $keys | md5sum)
  for _ in $(seq 1 600); do
    [[ $(redis-cli -p "$b_q1" MGET $keys | md5sum) == "$want" ]] && break
    sleep 0.1
  done
  echo "summary: B resumed; holds A's 1 000 values after" \
    "$(echo "$(date +%s.%N) - $t0" | bc -l | cut -c1-5) s"
fi
