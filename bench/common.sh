# Helpers shared by the bench/*.sh scripts (sourced, not run).
# Every script: loopback only, bounded in time, stops what it starts.

bench_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${CMUD_BIN:-$bench_root/build/bin}
tmp=$(mktemp -d)
pids=()

cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  sleep 0.2
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
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

# Waits up to $2 s until something answers PING on port $1.
wait_ping() {
  for _ in $(seq 1 $(($2 * 20))); do
    [[ $(redis-cli -p "$1" PING 2>/dev/null) == PONG ]] && return 0
    sleep 0.05
  done
  echo "nothing answers on port $1" >&2
  return 1
}

start_redis() {  # port
  redis-server --port "$1" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize no >"$tmp/redis-$1.log" 2>&1 &
  pids+=($!)
  wait_ping "$1" 10
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
  for _ in $(seq 1 200); do
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

rss_kb() { ps -o rss= -p "$1" | tr -d ' '; }
