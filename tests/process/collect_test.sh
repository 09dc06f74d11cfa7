#!/usr/bin/env bash
# Process-level test of tombstone collection: two cmud-server processes (2
# actors each, B joining A). Three rounds of 100 000 SETs through A and
# 100 000 DELs of the same keys through B; the deletes' tombstones are
# freed once every member holds them (the cluster's horizon: a short clock
# skew and member timeout keep it a few seconds behind the clock here),
# while writes go on that never pause, so memory comes back and SCAN over
# the emptied store is quick. Loopback
# only; every wait is bounded; every process it starts is stopped on exit.
# Usage: collect_test.sh BIN_DIR
set -uo pipefail
bin=${1:?usage: collect_test.sh BIN_DIR}
tmp=$(mktemp -d)
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"

r() { timeout 10 redis-cli -p "$(port_of "$1")" "${@:2}" 2>/dev/null | tr -d '\r'; }
field() { r "$1" INFO "$2" | sed -n "s/^$3://p"; }
# RESP for `$1 key:0 [v] ... key:99999 [v]`, for redis-cli --pipe.
commands() {
  awk -v cmd="$1" 'BEGIN {
    for (i = 0; i < 100000; i++) {
      k = "key:" i
      if (cmd == "SET") printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$16\r\nvalue-of-sixteen\r\n", length(k), k
      else printf "*2\r\n$3\r\nDEL\r\n$%d\r\n%s\r\n", length(k), k
    }
  }'
}

flags=(--actors 2 --max-clock-skew-ms 1000 --member-timeout-ms 2000)
start_server a --port 0 "${flags[@]}"
a_addr=$(json "$tmp/a.json" address)
start_server b --port 0 "${flags[@]}" --join "$a_addr"
a_q0=$(json "$tmp/a.json" query 0)
a_q1=$(json "$tmp/a.json" query 1)
b_q0=$(json "$tmp/b.json" query 0)
b_q1=$(json "$tmp/b.json" query 1)
ports=("$a_q0" "$a_q1" "$b_q0" "$b_q1")

check "the cluster's horizon follows the clock" bash -c \
  "for i in \$(seq 1 300); do h=\$(redis-cli -p $(port_of "$a_q0") INFO cluster | tr -d '\r' | sed -n 's/^cluster_complete_below_ms://p'); [[ \${h:-0} -gt 0 ]] && exit 0; sleep 0.1; done; exit 1"
base=$(field "$a_q0" memory used_memory)

for round in 1 2 3; do
  commands SET | redis-cli -p "$(port_of "$a_q0")" --pipe >"$tmp/pipe" 2>&1 ||
    cat "$tmp/pipe"
  check "round $round: 100 000 keys on B" within "$b_q1" 100000 30 DBSIZE
  commands DEL | redis-cli -p "$(port_of "$b_q0")" --pipe >"$tmp/pipe" 2>&1 ||
    cat "$tmp/pipe"
  check "round $round: all deleted, on A too" within "$a_q1" 0 30 DBSIZE
done
deleted_at=$(date +%s%N)
# Meanwhile writes never pause (one key on each server, about 40 a second):
# their group's digests hardly ever match, so the horizon has to move by
# the sync streams' claims. Bounded (at most about 3 minutes); stopped below.
busy() {
  local i
  for i in $(seq 1 6000); do
    redis-cli -p "$1" SET "busy:$1" "$i" >/dev/null 2>&1
    sleep 0.02
  done
}
busy "$(port_of "$a_q0")" &
pids+=($!)
busy_a=$!
busy "$(port_of "$b_q1")" &
pids+=($!)
busy_b=$!
# Each replica held up to 100 000 tombstones after each round: all are
# freed.
for q in "${ports[@]}"; do
  check "port $(port_of "$q"): every tombstone freed within 60 s" bash -c \
    "for i in \$(seq 1 600); do t=\$(redis-cli -p $(port_of "$q") INFO replica | tr -d '\r' | sed -n 's/^tombstones://p'); [[ \$t == 0 ]] && exit 0; sleep 0.1; done; echo \"tombstones: \$t\"; exit 1"
  # (A SET of the next round replaces a tombstone not freed yet; a replica
  # whose horizon comes a moment later may drop them as repair finds them
  # freed elsewhere.)
  check "port $(port_of "$q"): at least the last round's were freed" bash -c \
    "i=\$(redis-cli -p $(port_of "$q") INFO replica | tr -d '\r'); c=\$(sed -n 's/^tombstones_collected://p' <<<\"\$i\"); d=\$(sed -n 's/^repair_stale_dropped://p' <<<\"\$i\"); echo \"collected \$c, dropped \$d\"; [[ \$((c + d)) -ge 100000 ]]"
done
freed_ms=$((($(date +%s%N) - deleted_at) / 1000000))
check "the writes went on all along" bash -c \
  "kill -0 $busy_a && kill -0 $busy_b && [[ \$(redis-cli -p $(port_of "$b_q0") GET busy:$(port_of "$a_q0")) -gt 1 ]]"
kill "$busy_a" "$busy_b" 2>/dev/null
wait "$busy_a" "$busy_b" 2>/dev/null
used=$(field "$a_q0" memory used_memory)
echo "tombstones freed everywhere ${freed_ms} ms after the last DEL was answered"
echo "used_memory of A: $base bytes before, $used after three rounds"
# Under a sanitizer's allocator used_memory is the resident set, which
# keeps what was freed (its quarantine): nothing to compare.
if [[ $(field "$a_q0" memory mem_allocator) == libc ]]; then
  check "memory comes back (A: within 32 MiB of the start)" \
    test "$used" -le $((base + (32 << 20)))
fi
# SCAN over the emptied store: one call sees it all.
check "SCAN over the emptied store ends at once" bash -c \
  "[[ \$(redis-cli -p $(port_of "$a_q0") SCAN 0 COUNT 100 | tr -d '\r' | head -1) == 0 ]]"
check "a write after it all travels as ever" bash -c \
  "[[ \$(redis-cli -p $(port_of "$a_q0") SET key:1 again) == OK ]]"
check "  ... within 2 s" within "$b_q1" again 2 GET key:1
summary
