#!/usr/bin/env bash
# Process-level durability: real cmud-server processes with --data-dir.
#  1. Crash consistency: a server (2 actors) under load from two pipelining
#     clients is killed (-9) at a random moment, then started again, 20
#     rounds with --fsync always (every acknowledged write is back) and 6
#     with everysec (only writes acknowledged in the last ~second may be
#     missing). Never a failed start.
#  2. Whole-cluster restart: 2 servers x 2 actors hold 100 000 keys; both
#     are killed and started again: every key is back on every port. Then
#     a FLUSHALL on one server empties both, and stays done across another
#     restart, without --join: the servers find each other again from the
#     members each kept in its data directory.
#  3. A log damaged in the middle stops the start with a clear message;
#     --repair-log starts anyway.
# Loopback only; every wait is bounded; every process is stopped on exit.
# Usage: durability_test.sh BIN_DIR
set -uo pipefail
bin=${1:?usage: durability_test.sh BIN_DIR}
tmp=$(mktemp -d)
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"

# Debian's Python, which has python3-redis (scripts/install-deps.sh).
py=/usr/bin/python3
r() { timeout 5 redis-cli -p "$(port_of "$1")" "${@:2}" 2>/dev/null | tr -d '\r'; }

# load.py PORT1 PORT2 PID SECONDS OUT: two threads write distinct keys in
# pipelines of 20 to the two ports; after SECONDS the server PID is killed
# (-9). Writes the acknowledged keys with the time of their reply, and the
# time of the kill, to OUT.
cat >"$tmp/load.py" <<'PY'
import os, signal, sys, threading, time
import redis
p1, p2, pid, secs, out = sys.argv[1:6]
acked, lock, stop = [], threading.Lock(), threading.Event()
def writer(port, tag):
    c = redis.Redis(port=int(port), socket_timeout=5)
    i = 0
    while not stop.is_set() and i < 10_000_000:
        pipe = c.pipeline(transaction=False)
        keys = [f"{tag}:{i + j}" for j in range(20)]
        for k in keys:
            pipe.set(k, "v" + k)
        try:
            pipe.execute()
        except Exception:
            return
        t = time.monotonic()
        with lock:
            acked.extend((k, t) for k in keys)
        i += 20
ts = [threading.Thread(target=writer, args=(p, f"w{n}"))
      for n, p in enumerate((p1, p2))]
for t in ts: t.start()
time.sleep(float(secs))
os.kill(int(pid), signal.SIGKILL)
killed = time.monotonic()
stop.set()
for t in ts: t.join(10)
with open(out, "w") as f:
    f.write(f"{killed}\n")
    for k, t in acked:
        f.write(f"{k} {t}\n")
PY

# check.py PORT OUT MAX_LOSS_MS: every key of OUT acknowledged more than
# MAX_LOSS_MS before the kill holds its value on PORT; prints counts.
cat >"$tmp/check.py" <<'PY'
import sys
import redis
port, out, max_loss = sys.argv[1], sys.argv[2], float(sys.argv[3]) / 1000
lines = open(out).read().split("\n")
killed = float(lines[0])
acked = [l.split() for l in lines[1:] if l]
c = redis.Redis(port=int(port), socket_timeout=10)
missing, late_missing = 0, 0
for i in range(0, len(acked), 1000):
    chunk = acked[i:i + 1000]
    got = c.mget([k for k, _ in chunk])
    for (k, t), v in zip(chunk, got):
        if v != ("v" + k).encode():
            if killed - float(t) > max_loss:
                missing += 1
            else:
                late_missing += 1
print(f"{len(acked)} acknowledged, {missing} missing, "
      f"{late_missing} missing from the last {max_loss * 1000:.0f} ms")
sys.exit(1 if missing or not acked else 0)
PY

port=$(pick_base_port 12000 800) || { echo "FAIL: no free ports"; exit 1; }

crash_rounds() {  # POLICY ROUNDS MAX_LOSS_MS
  local policy=$1 rounds=$2 max_loss=$3 i
  rm -rf "$tmp/data"
  for i in $(seq 1 "$rounds"); do
    start_server s --port "$port" --actors 2 --data-dir "$tmp/data" \
      --fsync "$policy"
    disown "$s_pid"  # killed by load.py: no "Killed" line from the shell
    q0=$(json "$tmp/s.json" query 0)
    q1=$(json "$tmp/s.json" query 1)
    # Kill anywhere from early in the load to well into it.
    secs=$(python3 -c "import random; print(round(random.uniform(0.2, 0.8), 2))")
    $py "$tmp/load.py" "$(port_of "$q0")" "$(port_of "$q1")" "$s_pid" \
      "$secs" "$tmp/acked.$i"
    for _ in $(seq 1 100); do kill -0 "$s_pid" 2>/dev/null || break; sleep 0.05; done
    start_server s --port "$port" --actors 2 --data-dir "$tmp/data" \
      --fsync "$policy"
    q1=$(json "$tmp/s.json" query 1)
    if ! $py "$tmp/check.py" "$(port_of "$q1")" "$tmp/acked.$i" \
         "$max_loss" >"$tmp/check.$i" 2>&1; then
      echo "FAIL: $policy round $i (killed after $secs s):"
      sed 's/^/    /' "$tmp/check.$i"
      failures=$((failures + 1))
      return
    fi
    disown "$s_pid"
    kill -KILL "$s_pid"
    for _ in $(seq 1 100); do kill -0 "$s_pid" 2>/dev/null || break; sleep 0.05; done
  done
  passes=$((passes + 1))
  echo "ok: $policy, $rounds rounds of kill -9 under load; last: $(cat "$tmp/check.$rounds")"
}

crash_rounds always 20 0
crash_rounds everysec 6 1500

# --- 2. The whole cluster restarted.
rm -rf "$tmp/a" "$tmp/b"
b_port=$(pick_base_port 12000 800) || { echo "FAIL: no free ports"; exit 1; }
start_server a --port "$port" --actors 2 --data-dir "$tmp/a"
start_server b --port "$b_port" --actors 2 --data-dir "$tmp/b" \
  --join "127.0.0.1:$port"
$py - "$(port_of "$(json "$tmp/a.json" query 0)")" <<'PY'
import sys, redis
c = redis.Redis(port=int(sys.argv[1]))
for i in range(0, 100_000, 5000):
    p = c.pipeline(transaction=False)
    for j in range(i, i + 5000):
        p.set(f"key:{j:06d}", f"value-{j}")
    p.execute()
PY
all_ports() {
  echo "$(json "$tmp/a.json" query 0) $(json "$tmp/a.json" query 1)" \
       "$(json "$tmp/b.json" query 0) $(json "$tmp/b.json" query 1)"
}
on_every_port() {  # WANT SECONDS ARGS...: every port prints WANT
  local want=$1 secs=$2 q got
  shift 2
  for q in $(all_ports); do
    for _ in $(seq 1 $((secs * 10))); do
      got=$(r "$q" "$@")
      [[ $got == "$want" ]] && break
      sleep 0.1
    done
    [[ $got == "$want" ]] || { echo "port $q: $* gave '$got', wanted '$want'"; return 1; }
  done
}
check "100 000 keys on every port before the restart" on_every_port 100000 20 DBSIZE
for p in "$a_pid" "$b_pid"; do disown "$p"; kill -KILL "$p"; done
for _ in $(seq 1 100); do
  kill -0 "$a_pid" 2>/dev/null || kill -0 "$b_pid" 2>/dev/null || break
  sleep 0.05
done
start_server a --port "$port" --actors 2 --data-dir "$tmp/a"
start_server b --port "$b_port" --actors 2 --data-dir "$tmp/b" \
  --join "127.0.0.1:$port"
check "every key back on every port after both were killed" on_every_port 100000 5 DBSIZE
check "  ... with its value" on_every_port value-99999 5 GET key:099999
check "the restart read its state back and wrote one snapshot" \
  bash -c "cat '$tmp/a.out' '$tmp/a.err' | grep -q 'read back 100000 keys' && ls '$tmp/a' | grep -qx snapshot-1.snap"
check "CONFIG GET appendonly says yes" \
  bash -c "[[ \$(redis-cli -p $(port_of "$(json "$tmp/a.json" query 0)") CONFIG GET appendonly | tail -1) == yes ]]"
# A clear made on one server empties every port of both; a write made after
# it stays; and after both are killed again, the cleared keys stay gone.
check "FLUSHALL answers OK" \
  bash -c "[[ \$(redis-cli -p $(port_of "$(json "$tmp/b.json" query 1)") FLUSHALL) == OK ]]"
check "  ... and every port of both servers is empty within 2 s" \
  on_every_port 0 2 DBSIZE
r "$(json "$tmp/a.json" query 0)" SET after-clear yes >/dev/null
check "  ... a write after it reaches every port" \
  on_every_port yes 2 GET after-clear
sleep 1.2  # everysec: on disk
for p in "$a_pid" "$b_pid"; do disown "$p"; kill -KILL "$p"; done
for _ in $(seq 1 100); do
  kill -0 "$a_pid" 2>/dev/null || kill -0 "$b_pid" 2>/dev/null || break
  sleep 0.05
done
# This time without --join: each finds the other from the members it kept.
start_server a --port "$port" --actors 2 --data-dir "$tmp/a"
start_server b --port "$b_port" --actors 2 --data-dir "$tmp/b"
check "  ... and after a restart of both, only that write is there" \
  on_every_port 1 5 DBSIZE
check "  ... with its value" on_every_port yes 2 GET after-clear
r "$(json "$tmp/b.json" query 0)" SET rejoined yes >/dev/null
check "restarted without --join, both sync again (the members file)" \
  on_every_port yes 5 GET rejoined
stop_servers
pids=()

# --- 3. Damage in the middle of a log.
rm -rf "$tmp/c"
start_server c --port "$port" --actors 1 --data-dir "$tmp/c"
q=$(json "$tmp/c.json" query 0)
for i in $(seq 1 50); do echo "SET d$i v$i"; done | redis-cli -p "$(port_of "$q")" >/dev/null
disown "$c_pid"
kill -KILL "$c_pid"
for _ in $(seq 1 100); do kill -0 "$c_pid" 2>/dev/null || break; sleep 0.05; done
log=$(ls "$tmp"/c/log-*.log | head -1)
python3 - "$log" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0x40
open(p, "wb").write(b)
PY
check "a log damaged in the middle stops the start, naming the file" \
  bash -c "! timeout 10 '$bin/cmud-server' --port $port --actors 1 --data-dir '$tmp/c' 2>'$tmp/c.refused'; grep -q 'is damaged' '$tmp/c.refused' && grep -q -- '--repair-log' '$tmp/c.refused'"
start_server c --port "$port" --actors 1 --data-dir "$tmp/c" --repair-log
q=$(json "$tmp/c.json" query 0)
check "--repair-log starts and keeps what precedes the damage" \
  bash -c "[[ \$(redis-cli -p $(port_of "$q") GET d1) == v1 ]]"

summary
