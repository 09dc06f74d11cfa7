#!/usr/bin/env bash
# Join time: a server holding KEYS keys (16-byte keys, 32-byte values); time
# from starting a new server that joins it until every actor of the new
# server has all of them.
# Usage: bench/join.sh [KEYS] [ACTORS]
set -euo pipefail
source "$(dirname "$0")/common.sh"
keys=${1:-1000000}
actors=${2:-2}
need_binaries cmud-server
need_redis  # for redis-cli

start_cmud a --actors "$actors"
wait_ping "$a_q0" 10
python3 - "$a_q0" "$keys" <<'PY'
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port))
value = b"v" * 32
for start in range(0, n, 1000):
    end = min(n, start + 1000)
    s.sendall(b"".join(b"*3\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n$32\r\n%s\r\n" % (i, value)
                       for i in range(start, end)))
    want, got = (end - start) * 5, 0
    while got < want:
        got += len(s.recv(65536))
PY
last_var="a_q$((actors - 1))"
for _ in $(seq 1 300); do
  [[ $(redis-cli -p "${!last_var}" DBSIZE) == "$keys" ]] && break
  sleep 0.1
done

t0=$(date +%s.%N)
start_cmud b --actors "$actors" --join "$a_addr"
deadline=$(( $(date +%s) + 120 ))
done_all=0
while [[ $(date +%s) -lt $deadline ]]; do
  done_all=1
  for i in $(seq 0 $((actors - 1))); do
    port_var="b_q$i"
    [[ $(redis-cli -p "${!port_var}" DBSIZE) == "$keys" ]] || { done_all=0; break; }
  done
  [[ $done_all == 1 ]] && break
  sleep 0.05
done
t1=$(date +%s.%N)
rate=$(redis-cli -p "$b_q0" INFO actors | tr -d '\r' | sed -n 's/^max_pair_msgs_per_sec://p')
if [[ $done_all != 1 ]]; then
  echo "summary: join of $keys keys did not finish within 120 s"
  exit 1
fi
python3 -c "import sys; print(f'summary: join of {sys.argv[1]} keys into {sys.argv[2]} actors took {float(sys.argv[4])-float(sys.argv[3]):.2f} s (target <= 10 s); max_pair_msgs_per_sec={sys.argv[5]}')" \
  "$keys" "$actors" "$t0" "$t1" "$rate"
