#!/usr/bin/env bash
# The security review's hostile inputs against one cmud-server (2 actors,
# a cluster secret, default limits), with its resident set (RSS) before,
# during and after each, to show the limits hold and memory comes back:
#   frames   16 connections to the actor-system port that send only a
#            64 MiB frame length, before any handshake
#   idle     N idle query connections (default 9000, under maxclients
#            10000), then closed
#   bulk     24 query connections that each send 30 MiB of a command of
#            32 MiB arguments and never finish it, then close
#   unread   a client that asks for KEYS * over 200 000 keys and never reads
# Usage: bench/hostile.sh [IDLE_CONNECTIONS]
set -euo pipefail
source "$(dirname "$0")/common.sh"
idle=${1:-9000}
need_binaries cmud-server
need_redis
ulimit -n $((idle + 1000)) 2>/dev/null || true

python3 -c 'import secrets; print(secrets.token_hex(32))' >"$tmp/secret"
start_cmud cmud --actors 2 --cluster-secret-file "$tmp/secret"
wait_ping "$cmud_q0" 10
python3 -u - "$cmud_pid" "${cmud_addr##*:}" "$cmud_q0" "$cmud_q1" "$idle" <<'PY'
import socket, struct, sys, time
pid, cluster, q0, q1, idle = (int(x) for x in sys.argv[1:6])

def rss_mb():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0

def settle(seconds=1.5):
    time.sleep(seconds)
    return rss_mb()

def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s

def closed_by_server(s, seconds=5):
    s.settimeout(seconds)
    try:
        while True:
            b = s.recv(65536)
            if not b:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False

rows = []
def row(name, before, during, after, note):
    print(f"  {name}: {before:.1f} -> {during:.1f} -> {after:.1f} MB; {note}", file=sys.stderr)
    rows.append((name, before, during, after, note))

# frames
base = settle(0.5)
peers = [connect(cluster) for _ in range(16)]
for p in peers:
    p.sendall(struct.pack("<I", 64 << 20))
during = settle(1.0)
closed = sum(closed_by_server(p, 6) for p in peers)
for p in peers:
    p.close()
row("frames", base, during, settle(), f"{closed}/16 closed by the server")

# idle
base = settle(0.5)
conns = []
for i in range(idle):
    conns.append(connect(q0 if i % 2 == 0 else q1))
during = settle(2.0)
per_conn_kb = (during - base) * 1024 / idle
for s in conns:
    s.close()
row(f"idle x{idle}", base, during, settle(3.0), f"{per_conn_kb:.1f} KB a connection")

# bulk: *3 $3 SET $1 k $33554432 <30 MiB, never finished>
base = settle(0.5)
conns = []
chunk = b"x" * (1 << 20)
for i in range(24):
    s = connect(q0 if i % 2 == 0 else q1)
    s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$33554432\r\n")
    for _ in range(30):
        s.sendall(chunk)
    conns.append(s)
during = settle(1.0)
# Another client is served meanwhile.
c = connect(q0)
t = time.monotonic()
c.sendall(b"PING\r\n")
pong = c.recv(64)
ping_ms = (time.monotonic() - t) * 1000
c.close()
for s in conns:
    s.close()
row("bulk", base, during, settle(2.0),
    f"PING meanwhile {pong.strip().decode()} in {ping_ms:.1f} ms")

# unread: KEYS * over 200 000 keys, never read
loader = connect(q0)
batch = []
for i in range(200000):
    k = b"key:%012d" % i
    batch.append(b"*3\r\n$3\r\nSET\r\n$16\r\n" + k + b"\r\n$32\r\n" + b"v" * 32 + b"\r\n")
    if len(batch) == 1000:
        loader.sendall(b"".join(batch))
        batch = []
        got = 0
        while got < 5 * 1000:
            b = loader.recv(1 << 20)
            if not b:
                sys.exit("the server closed the loading connection")
            got += len(b)
loader.close()
def clients():
    c = connect(q1)
    c.sendall(b"INFO clients\r\n")
    time.sleep(0.05)
    text = c.recv(65536).decode()
    c.close()
    for line in text.split("\r\n"):
        if line.startswith("connected_clients:"):
            return int(line.split(":")[1]) - 1  # not this one
    return -1

base = settle(1.0)
s = connect(q0)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
# 300 replies of ~5 MB each: over the 1 GiB client-output-buffer-limit.
for _ in range(300):
    s.sendall(b"KEYS *\r\n")
peak = rss_mb()
kicked = False
for _ in range(600):  # at most 60 s
    peak = max(peak, rss_mb())
    if clients() == 0:
        kicked = True
        break
    time.sleep(0.1)
s.close()
row("unread", base, peak, settle(2.0),
    "closed at the output limit" if kicked else "still open after 60 s")

print(f"{'attack':12} {'RSS before MB':>14} {'peak':>8} {'after':>8}  note")
for name, b, d, a, note in rows:
    print(f"{name:12} {b:14.1f} {d:8.1f} {a:8.1f}  {note}")
PY
