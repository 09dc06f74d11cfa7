#!/usr/bin/env bash
# Memory per key per replica: 1 000 000 keys (16-byte keys, 32-byte values)
# loaded into Redis and into a cmud-server with two query actors.
# cmud: resident memory growth / keys / actors; Redis: used_memory growth / keys.
# Usage: bench/memory.sh [KEYS]
set -euo pipefail
source "$(dirname "$0")/common.sh"
keys=${1:-1000000}
need_binaries cmud-server
need_redis

redis_port=$(free_port)
start_redis "$redis_port"
used() { redis-cli -p "$redis_port" INFO memory | tr -d '\r' | sed -n 's/^used_memory://p'; }
r0=$(used)
load_keys "$redis_port" "$keys"
r1=$(used)
rkeys=$(redis-cli -p "$redis_port" DBSIZE)

start_cmud cmud --actors 2
wait_ping "$cmud_q0" 10
c0=$(rss_kb "$cmud_pid")
load_keys "$cmud_q0" "$keys"
# Wait (bounded) until the other actor has every key too.
for _ in $(seq 1 200); do
  [[ $(redis-cli -p "$cmud_q1" DBSIZE) == "$keys" ]] && break
  sleep 0.1
done
c1=$(rss_kb "$cmud_pid")
ckeys=$(redis-cli -p "$cmud_q1" DBSIZE)

python3 - "$keys" "$r0" "$r1" "$rkeys" "$c0" "$c1" "$ckeys" <<'PY'
import sys
n, r0, r1, rk, c0, c1, ck = map(int, sys.argv[1:])
redis = (r1 - r0) / rk
cmud = (c1 - c0) * 1024 / ck / 2
print(f"redis: {rk} keys, used_memory +{(r1-r0)/2**20:.1f} MiB, {redis:.1f} bytes/key")
print(f"cmud:  {ck} keys x 2 replicas, RSS +{(c1-c0)/1024:.1f} MiB, {cmud:.1f} bytes/key/replica")
print(f"summary: cmud/redis bytes per key per replica = {cmud/redis:.2f} (target <= 1.50)")
PY
