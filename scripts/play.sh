#!/usr/bin/env bash
# make play / make stop: a local cluster of two cmud-servers (two query
# actors each, the second joined to the first) and the game.
#   scripts/play.sh         start the cluster if needed, open the game
#   scripts/play.sh stop    stop the cluster
# Server one: actor system 127.0.0.1:6000, query ports 6001-6002.
# Server two: actor system 127.0.0.1:6100, query ports 6101-6102.
# Logs: run/cluster.log. Each `make play` opens the game on the other server.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/build/bin
run=$root/run
log=$run/cluster.log
mkdir -p "$run"

alive() { [[ -f $run/$1.pid ]] && kill -0 "$(cat "$run/$1.pid")" 2>/dev/null; }

stop() {
  for s in two one; do
    if alive "$s"; then
      kill -TERM "$(cat "$run/$s.pid")"
      for _ in $(seq 1 100); do alive "$s" || break; sleep 0.05; done
      echo "stopped server $s"
    fi
    rm -f "$run/$s.pid"
  done
}

# Waits up to 10 s for a query port to answer.
ready() {
  for _ in $(seq 1 200); do
    [[ $(redis-cli -p "$1" PING 2>/dev/null) == PONG ]] && return 0
    sleep 0.05
  done
  return 1
}

start() {  # name, base port, extra args...
  local name=$1 port=$2
  shift 2
  alive "$name" && return 0
  if redis-cli -p "$((port + 1))" PING >/dev/null 2>&1 ||
     (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "play: port $port or $((port + 1)) is in use by another program;" \
         "stop it (or run 'make stop') and try again" >&2
    exit 1
  fi
  echo "=== $(date '+%F %T') starting server $name on port $port" >>"$log"
  nohup "$bin/cmud-server" --port "$port" --actors 2 "$@" >>"$log" 2>&1 &
  echo $! >"$run/$name.pid"
  if ! ready "$((port + 1))"; then
    echo "play: server $name did not start; see $log" >&2
    exit 1
  fi
}

case "${1:-play}" in
  stop)
    stop
    exit 0
    ;;
  play) ;;
  *)
    echo "usage: $0 [play|stop]" >&2
    exit 2
    ;;
esac

start one 6000
start two 6100 --join 127.0.0.1:6000

# Alternate players between the two servers: one world, two entrances.
n=$(( $(cat "$run/players" 2>/dev/null || echo 0) + 1 ))
echo "$n" >"$run/players"
if (( n % 2 == 1 )); then
  servers=127.0.0.1:6001,127.0.0.1:6002
  where="server one (ports 6001-6002)"
else
  servers=127.0.0.1:6101,127.0.0.1:6102
  where="server two (ports 6101-6102)"
fi
echo "play: cluster up (logs: run/cluster.log; 'make stop' stops it)."
echo "play: you are on $where; run 'make play' in another terminal for a second player."
exec "$bin/cmud" -s "$servers"
