# Helpers shared by the bench/*.sh scripts (sourced, not run).
# Every script: loopback only, bounded in time, stops what it starts.

bench_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${CMUD_BIN:-$bench_root/build/bin}
tmp=$(mktemp -d)
pids=()
# redis-cli/redis-benchmark flags for servers that take only TLS clients.
tls_client=()

cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 0.2
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

need_binaries() {
  for b in "$@"; do
    if [[ ! -x $bin/$b ]]; then
      echo "missing $bin/$b: run 'make test' (or make build) first" >&2
      exit 1
    fi
  done
}

need_redis() {
  bash "$bench_root/scripts/install-deps.sh" --bench >/dev/null
}

# A TCP port nothing listens on now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Waits up to $2 s until something answers PING on port $1; the rest are
# redis-cli flags (--tls ...).
wait_ping() {
  local port=$1 secs=$2
  shift 2
  for _ in $(seq 1 $((secs * 20))); do
    [[ $(redis-cli -p "$port" "$@" PING 2>/dev/null) == PONG ]] && return 0
    sleep 0.05
  done
  echo "nothing answers on port $1" >&2
  return 1
}

# start_redis PORT [OPTIONS...]: no persistence unless OPTIONS turn it on;
# its files go to $tmp/redis-PORT. PORT 0 with --tls-port P in OPTIONS: TLS
# only, pinged on P with $tls_client. Sets redis_pid.
start_redis() {
  local port=$1 ping=$1
  shift
  local args=("$@")
  for i in "${!args[@]}"; do
    [[ ${args[$i]} == --tls-port ]] && ping=${args[$((i + 1))]}
  done
  mkdir -p "$tmp/redis-$port"
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$tmp/redis-$port" --daemonize no "$@" >"$tmp/redis-$port.log" 2>&1 &
  pids+=($!)
  redis_pid=$!
  wait_ping "$ping" 60 "${tls_client[@]}"
}

# start_cmud NAME ARGS...: starts cmud-server --port 0, waits for its
# description, and sets ${NAME}_q0, ${NAME}_q1, ${NAME}_addr, ${NAME}_pid.
start_cmud() {
  local name=$1
  shift
  "$bin/cmud-server" --port 0 --desc-file "$tmp/$name.json" "$@" \
    >"$tmp/$name.out" 2>"$tmp/$name.err" &
  pids+=($!)
  eval "${name}_pid=$!"
  for _ in $(seq 1 600); do
    [[ -s $tmp/$name.json ]] && break
    sleep 0.05
  done
  [[ -s $tmp/$name.json ]] || { echo "cmud-server $name did not start" >&2; cat "$tmp/$name.err" >&2; exit 1; }
  eval "$(python3 - "$tmp/$name.json" "$name" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); n = sys.argv[2]
print(f"{n}_addr={d['address']}")
for i, q in enumerate(d['query']):
    print(f"{n}_q{i}={q.rsplit(':', 1)[1]}")
if 'client' in d:
    print(f"{n}_client={d['client'].rsplit(':', 1)[1]}")
PY
)"
}

# load_keys PORT KEYS: SETs KEYS distinct keys "key:%012d" (16 bytes) with
# 32-byte values, pipelined 1000 at a time, and waits for every reply.
load_keys() {
  python3 - "$1" "$2" <<'PY'
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port))
value = b"v" * 32
batch = 1000
for start in range(0, n, batch):
    out = bytearray()
    for i in range(start, min(n, start + batch)):
        k = b"key:%012d" % i
        out += b"*3\r\n$3\r\nSET\r\n$16\r\n" + k + b"\r\n$32\r\n" + value + b"\r\n"
    s.sendall(out)
    want = (min(n, start + batch) - start) * 5  # "+OK\r\n"
    got = 0
    while got < want:
        chunk = s.recv(65536)
        if not chunk:
            sys.exit("connection closed")
        got += len(chunk)
PY
}

rss_kb() { ps -o rss= -p "$1" | tr -d ' '; }
