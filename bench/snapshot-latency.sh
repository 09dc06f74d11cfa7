#!/usr/bin/env bash
# What a snapshot costs the queries running beside it: a cmud-server with two
# query actors, --data-dir and --fsync everysec, holding KEYS keys (16-byte
# keys, 32-byte values). The same redis-benchmark GET run (50 clients,
# random keys of the loaded set) alternates, ROUNDS times, between a quiet
# server and one that snapshots back to back (BGSAVE, wait until done,
# BGSAVE again) for the whole run. Compares the medians of p99.9.
# Usage: bench/snapshot-latency.sh [KEYS] [ROUNDS] [REQUESTS]
#   (defaults 1000000, 3, 1000000)
set -euo pipefail
source "$(dirname "$0")/common.sh"
keys=${1:-1000000}
rounds=${2:-3}
n=${3:-1000000}
need_binaries cmud-server
need_redis

start_cmud cmud --actors 2 --data-dir "$tmp/cmud-data" --fsync everysec
wait_ping "$cmud_q0" 10
load_keys "$cmud_q0" "$keys"
for _ in $(seq 1 600); do
  [[ $(redis-cli -p "$cmud_q1" DBSIZE) == "$keys" ]] && break
  sleep 0.05
done

persistence() {  # FIELD: one field of INFO persistence
  redis-cli -p "$cmud_q0" INFO persistence | tr -d '\r' | sed -n "s/^$1://p"
}
# Snapshots back to back until $tmp/stop exists; prints how many finished.
snapshot_loop() {
  local done=0
  while [[ ! -e $tmp/stop ]]; do
    redis-cli -p "$cmud_q0" BGSAVE >/dev/null
    for _ in $(seq 1 1200); do
      sleep 0.05
      [[ $(persistence rdb_bgsave_in_progress) == 0 ]] && break
    done
    done=$((done + 1))
  done
  echo "$done"
}

# run MODE: appends "mode rps p50 p99 p99.9 snapshots" to $tmp/results.
run() {
  local loop_pid=
  rm -f "$tmp/stop" "$tmp/snapshots"
  if [[ $1 == snapshot ]]; then
    snapshot_loop >"$tmp/snapshots" &
    loop_pid=$!
  fi
  timeout 600 redis-benchmark -p "$cmud_q0" -t get -n "$n" -r "$keys" -c 50 \
    2>/dev/null | tr '\r' '\n' >"$tmp/bench.out"
  touch "$tmp/stop"
  [[ -n $loop_pid ]] && wait "$loop_pid"
  python3 - "$1" "$tmp/bench.out" "$(cat "$tmp/snapshots" 2>/dev/null || echo 0)" \
    >>"$tmp/results" <<'PY'
import re, sys
mode, path, snaps = sys.argv[1:]
text = open(path).read()
pct = [(float(p), float(ms)) for p, ms in
       re.findall(r"^\s*([\d.]+)% <= ([\d.]+) milliseconds", text, re.M)]
def at(q):
    return next(ms for p, ms in pct if p >= q)
rps = re.search(r"([\d.]+) requests per second", text).group(1)
print(mode, rps, at(50), at(99), at(99.9), snaps)
PY
}

for _ in $(seq 1 "$rounds"); do
  run quiet
  run snapshot
done

python3 - "$tmp/results" "$keys" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
print(f"{'':9} {'GET req/s':>10} {'p50 ms':>7} {'p99 ms':>7} {'p99.9 ms':>9} {'snapshots':>9}")
med = {}
for mode in ("quiet", "snapshot"):
    rs = [r for r in rows if r[0] == mode]
    m = [statistics.median(float(r[i]) for r in rs) for i in range(1, 6)]
    med[mode] = m
    print(f"{mode:9} {m[0]:10.0f} {m[1]:7.3f} {m[2]:7.3f} {m[3]:9.3f} {m[4]:9.0f}")
d = med["snapshot"][3] - med["quiet"][3]
print(f"summary: {sys.argv[2]} keys: snapshots add {d:.3f} ms to GET p99.9 "
      f"(target <= 10)")
PY
