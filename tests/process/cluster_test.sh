#!/usr/bin/env bash
# Process-level test: two cmud-server processes (2 actors each, the second
# joining the first by host:port), driven with cmud-cli, redis-cli,
# redis-benchmark and Python's redis package. Loopback only; every process
# it starts is stopped on exit; every wait is bounded.
# Usage: cluster_test.sh BIN_DIR
set -uo pipefail
bin=${1:?usage: cluster_test.sh BIN_DIR}
tmp=$(mktemp -d)
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"

start_server a --port 0 --actors 2
a_addr=$(json "$tmp/a.json" address)
a_q0=$(json "$tmp/a.json" query 0)
a_q1=$(json "$tmp/a.json" query 1)
start_server b --port 0 --actors 2 --join "$a_addr"
b_q0=$(json "$tmp/b.json" query 0)
b_q1=$(json "$tmp/b.json" query 1)

check "description line printed on stdout" \
  grep -q '^description: {' "$tmp/a.out"

cli() { timeout 10 "$bin/cmud-cli" "$@"; }
# Polls (up to 2 s, the remote deadline) until `cmud-cli -s $1 get $2` prints $3.
eventually_get() {
  for _ in $(seq 1 40); do
    [[ "$(cli -s "$1" get "$2" 2>/dev/null)" == "$3" ]] && return 0
    sleep 0.05
  done
  echo "got: $(cli -s "$1" get "$2" 2>&1)"
  return 1
}

check "cmud-cli put on server A" cli -s "$a_q0" put cat/name "charlie the cat"
check "visible on A's other actor" eventually_get "$a_q1" cat/name "charlie the cat"
check "visible on server B (joined by host:port)" eventually_get "$b_q1" cat/name "charlie the cat"
check "redis-cli SET on B" bash -c "[[ \$(redis-cli -p $(port_of "$b_q0") SET cat/age 7) == OK ]]"
check "B's write reaches A" eventually_get "$a_q0" cat/age 7
check "cmud-cli list with prefix" bash -c \
  "[[ \$('$bin/cmud-cli' -s $b_q0 list cat/ | wc -l) -eq 2 ]]"
check "absent key exits 1" bash -c "'$bin/cmud-cli' -s $a_q0 get nope; [[ \$? -eq 1 ]]"
check "unreachable server exits 2 with a message" bash -c \
  "'$bin/cmud-cli' -s 127.0.0.1:1 get x 2>&1 | grep -qi unavailable"
check "interactive mode from stdin" bash -c \
  "printf 'put k \"a b\"\nget k\n' | '$bin/cmud-cli' -s $a_q1 | grep -qx 'a b'"
check "redis-cli INFO actors" bash -c \
  "redis-cli -p $(port_of "$a_q0") INFO actors | grep -q '^max_pair_msgs_per_sec:'"
check "sync rate stays within 10 per pair per second" bash -c \
  "v=\$(redis-cli -p $(port_of "$a_q0") INFO actors | tr -d '\r' | sed -n 's/^max_pair_msgs_per_sec://p'); [[ \$v -le 10 ]]"
check "redis-cli --scan" bash -c \
  "[[ \$(redis-cli -p $(port_of "$a_q0") --scan --pattern 'cat/*' | wc -l) -ge 2 ]]"
check "redis-cli DEL and eventual absence elsewhere" bash -c \
  "[[ \$(redis-cli -p $(port_of "$a_q0") DEL cat/age) == 1 ]]"
check "redis-benchmark -t get,set" bash -c \
  "timeout 60 redis-benchmark -p $(port_of "$b_q1") -t get,set -n 2000 -c 4 -q 2>&1 | tee /dev/stderr | grep -c 'requests per second' | grep -qx 2"
if /usr/bin/python3 -c 'import redis' 2>/dev/null; then
  check "Python redis package" timeout 60 /usr/bin/python3 - "$(port_of "$b_q0")" <<'PY'
import sys, redis
r = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]), socket_timeout=5)
assert r.ping()
assert r.set("py/key", b"\x00binary\r\n")
assert r.get("py/key") == b"\x00binary\r\n"
assert r.get("py/none") is None
assert r.mget(["py/key", "py/none"]) == [b"\x00binary\r\n", None]
assert r.exists("py/key") == 1
p = r.pipeline(transaction=False)
for i in range(100):
    p.set(f"py/{i}", i)
assert all(p.execute())
assert len(list(r.scan_iter(match="py/*", count=7))) == 101
assert r.delete("py/key") == 1
print("ok")
PY
  check "200 concurrent INCRs split across two servers read 200 everywhere" \
    timeout 60 /usr/bin/python3 - "$(port_of "$a_q0")" "$(port_of "$b_q1")" \
    "$(port_of "$a_q1")" "$(port_of "$b_q0")" <<'PY'
import sys, threading, time, redis
ports = [int(p) for p in sys.argv[1:]]
def bump(port):
    r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)
    for _ in range(100):
        r.incr("py/hits")
writers = [threading.Thread(target=bump, args=(p,)) for p in ports[:2]]
for t in writers: t.start()
for t in writers: t.join()
deadline = time.monotonic() + 2.0  # the remote sync bound
for port in ports:
    r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)
    while r.get("py/hits") != b"200" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert r.get("py/hits") == b"200", (port, r.get("py/hits"))
print("ok")
PY
  check "200 concurrent INCRBYFLOATs split across two servers read 175 everywhere" \
    timeout 60 /usr/bin/python3 - "$(port_of "$a_q0")" "$(port_of "$b_q1")" \
    "$(port_of "$a_q1")" "$(port_of "$b_q0")" <<'PY'
import sys, threading, time, redis
ports = [int(p) for p in sys.argv[1:]]
def bump(port, step):
    r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)
    for _ in range(100):
        r.incrbyfloat("py/float", step)
writers = [threading.Thread(target=bump, args=(p, s))
           for p, s in zip(ports[:2], (0.5, 1.25))]
for t in writers: t.start()
for t in writers: t.join()
deadline = time.monotonic() + 2.0  # the remote sync bound
for port in ports:
    r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)
    while r.get("py/float") != b"175" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert r.get("py/float") == b"175", (port, r.get("py/float"))
print("ok")
PY
  check "a key with EX 2 goes from every port of both servers at one moment" \
    timeout 60 /usr/bin/python3 - "$(port_of "$a_q0")" "$(port_of "$b_q1")" \
    "$(port_of "$a_q1")" "$(port_of "$b_q0")" <<'PY'
import sys, time, redis
clients = [redis.Redis(host="127.0.0.1", port=int(p), socket_timeout=5)
           for p in sys.argv[1:]]
assert clients[0].set("py/ttl", "v", ex=2)
set_at = time.monotonic()
# First it reaches every port (within the remote sync bound)...
for c in clients:
    while c.get("py/ttl") != b"v":
        assert time.monotonic() < set_at + 1.5, "never arrived"
        time.sleep(0.005)
# ...then it goes from all of them.
gone = [None] * len(clients)
while None in gone and time.monotonic() < set_at + 5:
    for i, c in enumerate(clients):
        if gone[i] is None and c.get("py/ttl") is None:
            gone[i] = time.monotonic() - set_at
assert None not in gone, gone
# Each replica drops it when its clock passes the same absolute time.
assert max(gone) - min(gone) <= 0.1, gone
assert 1.9 <= min(gone) and max(gone) <= 2.2, gone
print("ok", gone)
PY
else
  echo "FAIL: Python redis package missing (install python3-redis)"
  failures=$((failures + 1))
fi
# `timeout`: a server that wrongly starts must not hang the test.
check "busy port is a clear error" bash -c \
  "timeout 10 '$bin/cmud-server' --port $(port_of "$a_addr") --actors 1 2>&1 | grep -qi 'cannot listen'; r=\${PIPESTATUS[0]}; [[ \$r -ne 0 && \$r -ne 124 ]]"
check "bad flag is an error" bash -c \
  "timeout 10 '$bin/cmud-server' --no-such-flag; r=\$?; [[ \$r -ne 0 && \$r -ne 124 ]]"
check "a too-short cluster secret is a clear error" bash -c \
  "echo short >'$tmp/short.secret'; timeout 10 '$bin/cmud-server' --port 0 --cluster-secret-file '$tmp/short.secret' 2>&1 | grep -q 'needs 16 to 4096'"
check "a missing cluster secret file is a clear error" bash -c \
  "timeout 10 '$bin/cmud-server' --port 0 --cluster-secret-file '$tmp/none' 2>&1 | grep -qi 'does not exist'"
check "cmud-cli names an unknown flag as a flag" bash -c \
  "timeout 10 '$bin/cmud-cli' --bogus 2>&1 | grep -q \"unknown flag '--bogus'\"; [[ \${PIPESTATUS[0]} -eq 2 ]]"
check "cmud-cli still takes a negative value after the command" \
  cli -s "$a_q0" put neg -1
check "--actors 0 is refused, not taken as the default" bash -c \
  "timeout 10 '$bin/cmud-server' --port 0 --actors 0 2>&1 | grep -q 'not in range'"
check "quit at the game's name prompt leaves and makes no player" bash -c \
  "printf 'quit\\n' | timeout 10 '$bin/cmud' -s $a_q0 --fast >'$tmp/quit.out' && ! grep -q Welcome '$tmp/quit.out' && [[ -z \$(redis-cli -p $(port_of "$a_q0") KEYS '*player/quit*') ]]"
check "malformed join target is an error" bash -c \
  "timeout 10 '$bin/cmud-server' --port 0 --join 'nonsense' 2>&1 | grep -qi 'join target'"

# SIGTERM / SIGINT: clean exit 0.
stop() {  # pid, signal
  kill -"$2" "$1"
  for _ in $(seq 1 100); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.05
  done
  wait "$1"
}
check "SIGINT stops server B with status 0" stop "$b_pid" INT
check "SIGTERM stops server A with status 0" stop "$a_pid" TERM
pids=()

summary
