#!/usr/bin/env bash
# Process-level test of the play cluster (scripts/play.sh): three servers
# that each join the others. Checks that Ctrl-C in the game leaves the
# cluster running, and that any one server, killed and started again, is
# back in the same world: a key written on each server reaches every query
# port of every other within the remote sync deadline (2 s), and what was
# written while it was down reaches it too (written and read as the admin
# of run/admin.secret: strangers may only sign up). Loopback only; every
# wait is bounded; every process it starts is stopped on exit.
# Usage: play_cluster_test.sh SOURCE_DIR BIN_DIR
set -uo pipefail
src=${1:?usage: play_cluster_test.sh SOURCE_DIR BIN_DIR}
bin=${2:?usage: play_cluster_test.sh SOURCE_DIR BIN_DIR}
tmp=$(mktemp -d)
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
play=(env CMUD_PLAY_RUN="$tmp/run" CMUD_PLAY_BIN="$bin" bash "$src/scripts/play.sh")

cleanup() {
  "${play[@]}" stop >/dev/null 2>&1
  [[ -n ${game_pgid:-} ]] && kill -KILL -- "-$game_pgid" 2>/dev/null
  exec 7>&- 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

# Three base ports below the kernel's ephemeral range (so no test that
# binds port 0 can take them), each with its two query ports free.
ports_list=$(pick_play_ports 20000 1200 3) || { echo "FAIL: no free ports"; exit 1; }
export CMUD_PLAY_PORTS=$ports_list
read -r -a ports <<<"$ports_list"

# redis-cli's arguments that sign in as the play cluster's admin (set once
# the cluster has made run/admin.secret).
admin=()
get() { timeout 5 redis-cli "${admin[@]}" -p "$1" GET "$2" 2>/dev/null; }
# Every query port of every server answers $2 for key $1 within $3 seconds.
everywhere() {
  local key=$1 want=$2 secs=$3 p missing
  local start_ms=$(($(date +%s%N) / 1000000))
  while true; do
    missing=()
    for b in "${ports[@]}"; do
      for p in $((b + 1)) $((b + 2)); do
        [[ $(get "$p" "$key") == "$want" ]] || missing+=("$p")
      done
    done
    ((${#missing[@]} == 0)) && return 0
    if (($(date +%s%N) / 1000000 - start_ms > secs * 1000)); then
      echo "key $key not '$want' after ${secs}s on ports ${missing[*]}"
      return 1
    fi
    sleep 0.05
  done
}

check "make cluster starts three servers" "${play[@]}" cluster
admin=(--no-auth-warning --user admin --pass "$(cat "$tmp/run/admin.secret")")
check "status lists them running" bash -c \
  "[[ \$(${play[*]@Q} status | grep -c running) -eq 3 ]]"
check "a second 'cluster' is a no-op" bash -c \
  "${play[*]@Q} cluster && [[ \$(${play[*]@Q} status | grep -c running) -eq 3 ]]"

# Ctrl-C in the game: the terminal sends SIGINT to the game's whole process
# group. Run `play` as its own process group reading a FIFO, then signal it.
mkfifo "$tmp/in"
set -m
"${play[@]}" play <"$tmp/in" >"$tmp/game.out" 2>&1 &
game_pgid=$!
set +m
exec 7>"$tmp/in"
printf 'ann\n' >&7
for _ in $(seq 1 100); do
  grep -q 'ann' "$tmp/game.out" 2>/dev/null && break
  sleep 0.05
done
kill -INT -- "-$game_pgid" 2>/dev/null
for _ in $(seq 1 100); do kill -0 "$game_pgid" 2>/dev/null || break; sleep 0.05; done
check "the game left on Ctrl-C" bash -c "! kill -0 $game_pgid 2>/dev/null"
exec 7>&-
game_pgid=
check "Ctrl-C in the game leaves every server running" bash -c \
  "[[ \$(${play[*]@Q} status | grep -c running) -eq 3 ]]"
check "and answering" bash -c \
  "for b in ${ports[*]}; do [[ \$(redis-cli -p \$((b + 1)) PING) == PONG ]] || exit 1; done"

for k in 1 2 3; do
  victim=${ports[k - 1]}
  kill -KILL "$(cat "$tmp/run/server$k.pid")"
  for _ in $(seq 1 100); do free "$((victim + 1))" && break; sleep 0.05; done
  # Written while server k is down: must reach it once it is back.
  others=()
  for b in "${ports[@]}"; do [[ $b == "$victim" ]] || others+=("$b"); done
  check "write on port $((others[0] + 1)) while server $k is down" \
    bash -c "[[ \$(redis-cli ${admin[*]@Q} -p $((others[0] + 1)) SET down/$k v$k) == OK ]]"
  check "make cluster restarts server $k alone" bash -c \
    "${play[*]@Q} cluster | grep -q 'started server(s) $k'"
  check "what was written while server $k was down reaches it" \
    everywhere "down/$k" "v$k" 2
  # A key written on each server reaches every port within 2 s.
  for b in "${ports[@]}"; do
    check "after restarting $k: write on port $((b + 2))" bash -c \
      "[[ \$(redis-cli ${admin[*]@Q} -p $((b + 2)) SET after/$k/$b x$b) == OK ]]"
  done
  for b in "${ports[@]}"; do
    check "after restarting $k: key from $((b + 2)) reaches every port in 2 s" \
      everywhere "after/$k/$b" "x$b" 2
  done
done

check "make stop stops them all" "${play[@]}" stop
check "nothing left running" bash -c \
  "[[ \$(${play[*]@Q} status | grep -c running) -eq 0 ]]"

summary
