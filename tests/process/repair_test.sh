#!/usr/bin/env bash
# Process-level test of repair and membership: two cmud-server processes (2
# actors each, B joining A). A is killed (-9) while B takes writes, then
# started again at the same address WITHOUT --join. B finds it by gossip,
# sync runs both ways again, and anti-entropy brings A everything written
# while it was down. Loopback only; every wait is bounded; every process it
# starts is stopped on exit.
# Usage: repair_test.sh BIN_DIR
set -uo pipefail
bin=${1:?usage: repair_test.sh BIN_DIR}
tmp=$(mktemp -d)
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"

r() { timeout 5 redis-cli -p "$(port_of "$1")" "${@:2}" 2>/dev/null | tr -d '\r'; }

# A is restarted at its address: a port below the ephemeral range (the
# play cluster test picks from 20000 up, this one from 12000 to 19990).
a_port=$(pick_base_port 12000 800) || { echo "FAIL: no free ports"; exit 1; }
start_server a --port "$a_port" --actors 2
a_addr=$(json "$tmp/a.json" address)
start_server b --port 0 --actors 2 --join "$a_addr" --member-timeout-ms 2000
b_q0=$(json "$tmp/b.json" query 0)
b_q1=$(json "$tmp/b.json" query 1)
a_q0=$(json "$tmp/a.json" query 0)

check "A's write reaches B" bash -c "[[ \$(redis-cli -p $(port_of "$a_q0") SET before 1) == OK ]]"
check "  ... within 2 s" within "$b_q1" 1 2 GET before

disown "$a_pid"  # no "Killed" line from the shell
kill -KILL "$a_pid"
for _ in $(seq 1 100); do kill -0 "$a_pid" 2>/dev/null || break; sleep 0.05; done
check "B marks A down once it stops answering" bash -c \
  "for i in \$(seq 1 200); do redis-cli -p $(port_of "$b_q0") INFO cluster | tr -d '\r' | grep -q 'address=$a_addr,state=down' && exit 0; sleep 0.05; done; exit 1"
for i in $(seq 1 500); do echo "SET down:$i v$i"; done |
  redis-cli -p "$(port_of "$b_q0")" >/dev/null
check "B took 500 writes while A was down" within "$b_q1" 501 2 DBSIZE

start_server a --port "$a_port" --actors 2  # no --join
a_q0=$(json "$tmp/a.json" query 0)
a_q1=$(json "$tmp/a.json" query 1)
check "A, restarted without --join, gets what B took meanwhile (repair)" \
  within "$a_q1" 501 10 DBSIZE
check "  ... on both of its actors" within "$a_q0" 501 2 DBSIZE
check "B marks A up again" bash -c \
  "for i in \$(seq 1 100); do redis-cli -p $(port_of "$b_q0") INFO cluster | tr -d '\r' | grep -q 'address=$a_addr,state=up' && exit 0; sleep 0.05; done; exit 1"
check "A's new write reaches B (B found A again)" \
  bash -c "[[ \$(redis-cli -p $(port_of "$a_q0") SET after 2) == OK ]]"
check "  ... within 2 s" within "$b_q0" 2 2 GET after
check "B's new write reaches A" \
  bash -c "[[ \$(redis-cli -p $(port_of "$b_q0") SET later 3) == OK ]]"
check "  ... within 2 s" within "$a_q1" 3 2 GET later
check "repair counted in INFO replica" bash -c \
  "redis-cli -p $(port_of "$b_q0") INFO replica | tr -d '\r' | grep -Eq '^repair_entries_sent:[1-9]'"
check "sync and repair stay within 10 messages per pair per second" bash -c \
  "v=\$(redis-cli -p $(port_of "$b_q0") INFO actors | tr -d '\r' | sed -n 's/^max_pair_msgs_per_sec://p'); [[ \$v -le 10 ]]"

summary
