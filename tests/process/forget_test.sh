#!/usr/bin/env bash
# Process-level test of forgetting a dead member: three cmud-server
# processes (A; B and C joining A). C is killed; CLUSTER FORGET on B drops
# it from every member, and a server that joins later never hears of it
# (before, every later joiner asked the dead address forever). A new start
# of C at the same address joins again; once it is dead once more, a
# server started with --forget drops it from the whole cluster too.
# Loopback only; every wait is bounded; every process it starts is stopped
# on exit.
# Usage: forget_test.sh BIN_DIR
set -uo pipefail
bin=${1:?usage: forget_test.sh BIN_DIR}
tmp=$(mktemp -d)
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"

q() { port_of "$(json "$tmp/$1.json" query "${2:-0}")"; }
# Polls for up to $3 s until INFO cluster on server $1's first query port
# matches (grep -E) $2, or (with $4 = absent) no longer does.
cluster_within() {
  local server=$1 pattern=$2 secs=$3 mode=${4:-present}
  for _ in $(seq 1 $((secs * 20))); do
    if redis-cli -p "$(q "$server")" INFO cluster | tr -d '\r' |
      grep -Eq "$pattern"; then
      [[ $mode == present ]] && return 0
    else
      [[ $mode == absent ]] && return 0
    fi
    sleep 0.05
  done
  echo "server $server INFO cluster after $secs s (wanted $pattern $mode):"
  redis-cli -p "$(q "$server")" INFO cluster
  return 1
}
kill_server() {
  disown "$1"  # no "Killed" line from the shell
  kill -KILL "$1"
  for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.05; done
}

# C is restarted at its address (see pick_base_port in lib.sh).
c_port=$(pick_base_port 12000 800) || { echo "FAIL: no free ports"; exit 1; }
start_server a --port 0 --actors 2 --member-timeout-ms 1500
a_addr=$(json "$tmp/a.json" address)
start_server b --port 0 --actors 2 --join "$a_addr" --member-timeout-ms 1500
b_addr=$(json "$tmp/b.json" address)
start_server c --port "$c_port" --actors 1 --join "$a_addr"
c_addr=$(json "$tmp/c.json" address)
c_inc=$(json "$tmp/c.json" incarnation)

check "B knows C, up" cluster_within b "address=$c_addr,state=up,incarnation=$c_inc," 5
check "a member that answers is not forgotten" bash -c \
  "redis-cli -p $(q b) CLUSTER FORGET $c_addr | grep -q 'only a server marked down'"
check "nor is an unknown address" bash -c \
  "redis-cli -p $(q b) CLUSTER FORGET 127.0.0.1:1 | grep -q 'Unknown server'"
check "nor the server itself" bash -c \
  "redis-cli -p $(q b) CLUSTER FORGET $b_addr | grep -q \"can't forget myself\""

kill_server "$c_pid"
check "B marks C down" cluster_within b "address=$c_addr,state=down" 10
check "CLUSTER FORGET of C (by its query port) on B" bash -c \
  "[[ \$(redis-cli -p $(q b) CLUSTER FORGET 127.0.0.1:$((c_port + 1)) | tr -d '\r') == OK ]]"
check "B no longer lists C" cluster_within b "address=$c_addr,state" 2 absent
check "  ... and says it forgot that start" \
  cluster_within b "forgotten0:address=$c_addr,incarnation=$c_inc" 2
check "A forgets C too (gossip)" cluster_within a "address=$c_addr,state" 5 absent
check "  ... and is not taught it again" bash -c \
  "sleep 2.5; ! redis-cli -p $(q a) INFO cluster | grep -q 'address=$c_addr,state'"

start_server d --port 0 --actors 1 --join "$b_addr"
check "a later joiner learns A and B" cluster_within d "cluster_known_servers:2" 5
check "  ... and never asks the forgotten server" bash -c \
  "sleep 3; ! grep -q '$c_addr' '$tmp/d.err' && ! redis-cli -p $(q d) INFO cluster | grep -q 'address=$c_addr,state'"

start_server c --port "$c_port" --actors 1 --join "$a_addr"
c_inc2=$(json "$tmp/c.json" incarnation)
check "a new start of C joins again" \
  cluster_within d "address=$c_addr,state=up,incarnation=$c_inc2," 10
check "  ... and syncs: C's write reaches D" bash -c \
  "[[ \$(redis-cli -p $(q c) SET back 1 | tr -d '\r') == OK ]] &&
   for i in \$(seq 1 60); do [[ \$(redis-cli -p $(q d) GET back | tr -d '\r') == 1 ]] && exit 0; sleep 0.05; done; exit 1"

kill_server "$c_pid"
check "A marks C down again" cluster_within a "address=$c_addr,state=down" 10
start_server e --port 0 --actors 1 --join "$a_addr" --forget "$c_addr"
check "--forget: every member drops C" cluster_within a "address=$c_addr,state" 5 absent
check "  ... B too" cluster_within b "address=$c_addr,state" 5 absent
check "  ... and E names the start it forgot" \
  cluster_within e "forgotten0:address=$c_addr,incarnation=$c_inc2" 5
check "a malformed --forget is refused at start" bash -c \
  "out=\$(timeout 10 $bin/cmud-server --port 0 --forget nonsense 2>&1); rc=\$?
   [[ \$rc -ne 0 && \$rc -ne 124 && \$out == *host:port* ]] || { echo \"rc \$rc: \$out\"; exit 1; }"

summary
