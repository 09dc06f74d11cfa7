#!/usr/bin/env bash
# Recovery time and disk bytes per key: KEYS keys (16-byte keys, 32-byte
# values) written to a cmud-server with two query actors, --data-dir and
# --fsync everysec, and to Redis with appendonly yes, appendfsync everysec.
#   1. disk bytes per key: cmud's logs, then its snapshot; Redis's AOF, then
#      its RDB (after BGSAVE);
#   2. each killed (kill -9) and started again: seconds from the start until
#      every query port answers DBSIZE = KEYS. cmud is started twice: from its
#      logs (the first start also folds them into a snapshot), then from that
#      snapshot alone. Redis starts from its AOF (base RDB + incremental AOF).
# Usage: bench/recovery.sh [KEYS]   (default 1000000)
set -euo pipefail
source "$(dirname "$0")/common.sh"
keys=${1:-1000000}
need_binaries cmud-server
need_redis

now() { date +%s.%N; }
# since T0: seconds from T0 to now (now is read before python starts).
since() {
  python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" \
    "$1" "$(now)"
}
dir_bytes() { du -sb "$1" | cut -f1; }
# wait_keys PORT: up to 120 s until DBSIZE on PORT answers $keys.
wait_keys() {
  for _ in $(seq 1 6000); do
    [[ $(redis-cli -p "$1" DBSIZE 2>/dev/null) == "$keys" ]] && return 0
    sleep 0.02
  done
  echo "port $1 never held $keys keys" >&2
  return 1
}
kill9() {
  { kill -KILL "$1" && wait "$1"; } 2>/dev/null || true
}

# --- cmud ---------------------------------------------------------------
# Fixed ports (actor system on base, query actors on base+1, base+2), so
# that the timed restarts poll them with nothing else in the way.
data=$tmp/cmud-data
base=$(python3 - <<'PY'
import socket
for base in range(20000, 60000, 7):
    try:
        socks = []
        for p in range(base, base + 3):
            s = socket.socket(); s.bind(("127.0.0.1", p)); socks.append(s)
        print(base)
        break
    except OSError:
        pass
PY
)
q0=$((base + 1))
q1=$((base + 2))
start_server() {
  "$bin/cmud-server" --port "$base" --actors 2 --data-dir "$data" \
    --fsync everysec >>"$tmp/cmud.out" 2>>"$tmp/cmud.err" &
  cmud_pid=$!
  pids+=("$cmud_pid")
}
start_server
wait_ping "$q0" 10
load_keys "$q0" "$keys"
wait_keys "$q1"
sleep 1.5  # everysec: let the last second reach the disk
cmud_log_bytes=$(dir_bytes "$data")
kill9 "$cmud_pid"

recover_cmud() {  # sets took: seconds until both ports hold every key
  local t0
  t0=$(now)
  start_server
  wait_keys "$q0"
  wait_keys "$q1"
  took=$(since "$t0")
}
recover_cmud
cmud_from_logs=$took
cmud_snap_bytes=$(dir_bytes "$data")
kill9 "$cmud_pid"
recover_cmud
cmud_from_snapshot=$took
kill9 "$cmud_pid"

# --- Redis ----------------------------------------------------------------
rport=$(free_port)
redis_args=(--appendonly yes --appendfsync everysec)
start_redis "$rport" "${redis_args[@]}"
load_keys "$rport" "$keys"
sleep 1.5
rdir=$tmp/redis-$rport
redis_aof_bytes=$(dir_bytes "$rdir/appendonlydir")
redis-cli -p "$rport" BGSAVE >/dev/null
for _ in $(seq 1 1200); do
  [[ $(redis-cli -p "$rport" INFO persistence | tr -d '\r' |
    sed -n 's/^rdb_bgsave_in_progress://p') == 0 ]] && break
  sleep 0.05
done
redis_rdb_bytes=$(stat -c %s "$rdir/dump.rdb")
kill9 "$redis_pid"
rm -f "$rdir/dump.rdb"  # start from the AOF alone
t0=$(now)
redis-server --port "$rport" --bind 127.0.0.1 --save '' --dir "$rdir" \
  --daemonize no "${redis_args[@]}" >>"$tmp/redis-$rport.log" 2>&1 &
pids+=($!)
wait_keys "$rport"
redis_from_aof=$(since "$t0")

python3 - "$keys" "$cmud_log_bytes" "$cmud_snap_bytes" "$cmud_from_logs" \
  "$cmud_from_snapshot" "$redis_aof_bytes" "$redis_rdb_bytes" \
  "$redis_from_aof" <<'PY'
import sys
n = int(sys.argv[1])
cl, cs, tl, ts, ra, rr, tr = (float(x) for x in sys.argv[2:])
print(f"{'':22} {'bytes/key':>10} {'start s':>8}")
print(f"{'cmud logs':22} {cl/n:10.1f} {tl:8.2f}")
print(f"{'cmud snapshot':22} {cs/n:10.1f} {ts:8.2f}")
print(f"{'redis AOF':22} {ra/n:10.1f} {tr:8.2f}")
print(f"{'redis RDB':22} {rr/n:10.1f} {'':>8}")
print(f"summary: {n} keys: cmud recovers in {max(tl, ts):.2f} s (target <= 3.00), "
      f"snapshot {cs/n:.1f} bytes/key vs RDB {rr/n:.1f}, "
      f"log {cl/n:.1f} vs AOF {ra/n:.1f}")
PY
