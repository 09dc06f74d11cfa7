#!/usr/bin/env bash
# Process-level test of the play cluster's accounts (scripts/play.sh): two
# servers started as `make cluster` starts them, with run/users.acl and the
# signup template. Checks that a stranger (the default user) may only
# connect, PING and sign up; that a signup on one server signs in on the
# other within the remote sync deadline (2 s); that a player may write only
# the keys that name it as their writer and read only its own tells; that
# the admin of run/admin.secret may do everything; and that a run/ from
# before accounts gets its users file on the next start, keeping the
# players. Loopback only; every wait is bounded; every process it starts is
# stopped on exit.
# Usage: play_accounts_test.sh SOURCE_DIR BIN_DIR
set -uo pipefail
src=${1:?usage: play_accounts_test.sh SOURCE_DIR BIN_DIR}
bin=${2:?usage: play_accounts_test.sh SOURCE_DIR BIN_DIR}
tmp=$(mktemp -d)
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
run=$tmp/run
play=(env CMUD_PLAY_RUN="$run" CMUD_PLAY_BIN="$bin" bash "$src/scripts/play.sh")

cleanup() {
  "${play[@]}" stop >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT

# Two base ports from 8000 to 11890: below the ranges of the other process
# tests (12000-19990, and 20000 up for the play cluster test), and below the
# kernel's ephemeral range.
ports_list=$(pick_play_ports 8000 380 2) || { echo "FAIL: no free ports"; exit 1; }
export CMUD_PLAY_PORTS=$ports_list
read -r -a ports <<<"$ports_list"
one=$((ports[0] + 1))  # a query port of server one
two=$((ports[1] + 1))  # and of server two

# One command, and its reply (errors too) on stdout. `cli` connects as the
# default user, as anyone does; `cli_as USER PASSWORD` signs in first (a
# failed sign-in prints "AUTH failed" first, which no check accepts).
cli() { timeout 5 redis-cli -p "$@" 2>&1; }
cli_as() {
  local user=$1 pass=$2
  shift 2
  timeout 5 redis-cli --no-auth-warning --user "$user" --pass "$pass" -p "$@" 2>&1
}
ann() { cli_as ann pw-ann-123 "$@"; }
bob() { cli_as bob pw-bob-123 "$@"; }
admin() { cli_as admin "$(cat "$run/admin.secret")" "$@"; }

# answers WANT COMMAND...: the reply's first line is WANT.
answers() {
  local want=$1 got
  shift
  got=$("$@")
  [[ ${got%%$'\n'*} == "$want" ]] && return 0
  echo "$* gave '$got', wanted '$want'"
  return 1
}
# starts PREFIX COMMAND...: the reply starts with PREFIX (an error's code).
starts() {
  local want=$1 got
  shift
  got=$("$@")
  [[ $got == "$want"* ]] && return 0
  echo "$* gave '$got', wanted $want..."
  return 1
}
refused() { starts NOPERM "$@"; }
# signs_in_within PORT USER PASSWORD SECONDS: AUTH USER PASSWORD on PORT
# answers OK within SECONDS (by the clock).
signs_in_within() {
  local port=$1 user=$2 pass=$3 secs=$4 got
  local start_ms=$(($(date +%s%N) / 1000000))
  while true; do
    got=$(cli "$port" AUTH "$user" "$pass")
    [[ $got == OK ]] && return 0
    if (($(date +%s%N) / 1000000 - start_ms > secs * 1000)); then
      echo "AUTH $user on port $port: '$got' after ${secs}s"
      return 1
    fi
    sleep 0.05
  done
}
mode() { stat -c %a "$1"; }

check "make cluster starts two servers" "${play[@]}" cluster
check "users.acl is made, mode 600" answers 600 mode "$run/users.acl"
check "admin.secret is made, mode 600" answers 600 mode "$run/admin.secret"
check "users.acl keeps the admin password only as its SHA-256" bash -c "
  pass=\$(cat ${run@Q}/admin.secret)
  hash=\$(printf %s \"\$pass\" | sha256sum | cut -d' ' -f1)
  [[ -n \$pass ]] && ! grep -qF \"\$pass\" ${run@Q}/users.acl &&
    grep -q \"^user admin on #\$hash \" ${run@Q}/users.acl"

# A stranger: connect, PING, sign up; nothing else.
check "a stranger may PING" answers PONG cli "$one" PING
check "a stranger may ask whether a name is free" \
  answers 1 cli "$one" ACL SIGNUP ann
check "a stranger may not GET" refused cli "$one" GET game/player/ann
check "a stranger may not SET" refused cli "$one" SET game/player/ann x
check "a stranger may not LIST" refused cli "$one" LIST game/
check "a stranger may not KEYS" refused cli "$one" KEYS '*'
check "a stranger may not FLUSHALL" refused cli "$one" FLUSHALL
check "a stranger may not CONFIG GET" refused cli "$one" CONFIG GET '*'
check "a stranger may not ACL SETUSER" \
  refused cli "$one" ACL SETUSER eve on '>pw' '~*' '+@all'
check "a stranger may not ACL LIST" refused cli "$one" ACL LIST
check "a stranger may not CLIENT LIST (+@connection holds it)" \
  refused cli "$one" CLIENT LIST
check "a stranger may not CLIENT KILL" refused cli "$one" CLIENT KILL USER admin
check "a signup name may not hold a glob character" \
  starts ERR cli "$one" ACL SIGNUP 'a*' pw

# Signing up.
check "ACL SIGNUP ann with a password makes ann" \
  answers 1 cli "$one" ACL SIGNUP ann pw-ann-123
check "a second ACL SIGNUP ann is refused" \
  answers 0 cli "$one" ACL SIGNUP ann pw-other-1
check "ann is no longer free" answers 0 cli "$one" ACL SIGNUP ann
check "ACL SIGNUP bob makes bob" answers 1 cli "$one" ACL SIGNUP bob pw-bob-123
check "ann signed up on server one signs in on server two within 2 s" \
  signs_in_within "$two" ann pw-ann-123 2
check "so does bob" signs_in_within "$two" bob pw-bob-123 2
check "the second signup did not change ann's password" \
  starts WRONGPASS cli "$one" AUTH ann pw-other-1

# A player: reads the world, writes only the keys naming it as their writer.
check "admin writes a tell to bob" answers OK admin "$one" SET game/tell/bob/1/x hi
check "admin writes a tell to ann" answers OK admin "$one" SET game/tell/ann/1/y yo
check "bob may SET game/player/bob" answers OK bob "$one" SET game/player/bob B
check "ann may SET game/player/ann" answers OK ann "$one" SET game/player/ann A
check "ann may GET game/player/bob" answers B ann "$one" GET game/player/bob
check "ann may SET game/seen/ann" answers OK ann "$one" SET game/seen/ann t
check "ann may SET game/hit/1/0/ann" answers OK ann "$one" SET game/hit/1/0/ann 3
check "ann may SET game/give/bob/ann/1 (a gift from ann)" \
  answers OK ann "$one" SET game/give/bob/ann/1 5
check "ann may SET game/say/gate/1/123-x/ann" \
  answers OK ann "$one" SET game/say/gate/1/123-x/ann hello PX 60000
check "ann may SET game/tell/bob/1/123-x/ann (a tell from ann)" \
  answers OK ann "$one" SET game/tell/bob/1/123-x/ann psst
check "ann may GET her tells" answers yo ann "$one" GET game/tell/ann/1/y
for key in game/player/bob game/seen/bob game/hit/1/0/bob game/give/ann/bob/1 \
  game/say/gate/1/123-x/bob game/news/1/123-x/bob game/tell/ann/1/123-x/bob \
  other/key; do
  check "ann may not SET $key" refused ann "$one" SET "$key" forged
done
check "ann may not GET bob's tells" refused ann "$one" GET game/tell/bob/1/x
check "ann's LIST game/tell/ shows only hers" bash -c "
  got=\$(redis-cli --no-auth-warning --user ann --pass pw-ann-123 -p $one \
    LIST game/tell/ | tr '\n' ' ')
  [[ \$got == 'game/tell/ann/1/y yo ' ]] || { echo \"got '\$got'\"; exit 1; }"
check "ann may PUBLISH game/say/gate" answers 0 ann "$one" PUBLISH game/say/gate x
check "ann may not PUBLISH game/tell/bob" \
  refused ann "$one" PUBLISH game/tell/bob x
check "ann may not SUBSCRIBE game/tell/bob" \
  refused ann "$one" SUBSCRIBE game/tell/bob
check "ann may not FLUSHALL" refused ann "$one" FLUSHALL
check "ann may not DEL game/player/bob" refused ann "$one" DEL game/player/bob
check "ann may not DEL her own record" refused ann "$one" DEL game/player/ann
check "ann may not CONFIG GET" refused ann "$one" CONFIG GET '*'
check "ann may not ACL SETUSER" refused ann "$one" ACL SETUSER ann '~*' '+@all'
check "ann may not ACL SIGNUP" refused ann "$one" ACL SIGNUP carol pw-carol-1
check "ann may not CLIENT KILL" refused ann "$one" CLIENT KILL USER bob
check "bob's record is intact" answers B admin "$two" GET game/player/bob

# The operator.
check "admin may SET any key" answers OK admin "$two" SET other/key v
check "admin may GET any tell" answers hi admin "$one" GET game/tell/bob/1/x
check "admin may DEL" answers 1 admin "$one" DEL game/give/bob/ann/1
check "admin may CONFIG GET" starts maxclients admin "$one" CONFIG GET maxclients
check "admin may ACL SETUSER" \
  answers OK admin "$one" ACL SETUSER carol on '>pw-carol-1' '~*' '+@all'
check "admin may ACL DELUSER" answers 1 admin "$one" ACL DELUSER carol
check "admin may CLIENT LIST" starts id= admin "$one" CLIENT LIST
check "admin may FLUSHALL" answers OK admin "$one" FLUSHALL
check "FLUSHALL leaves the players" answers OK cli "$two" AUTH ann pw-ann-123

# Restarts: users.acl is made once; a run/ from before accounts (no users
# file) gets one on its next start, and its players stay.
secret=$(cat "$run/admin.secret")
check "make stop stops both" "${play[@]}" stop
check "make cluster starts them again" "${play[@]}" cluster
check "a restart keeps the admin password" \
  answers "$secret" cat "$run/admin.secret"
check "ann signs in after the restart" \
  signs_in_within "$one" ann pw-ann-123 2
check "make stop stops both again" "${play[@]}" stop
rm -f "$run/users.acl" "$run/admin.secret"
check "a run/ without users.acl starts" "${play[@]}" cluster
check "and has a users file again" answers 600 mode "$run/users.acl"
check "with a new admin password" bash -c \
  "[[ -s ${run@Q}/admin.secret && \$(cat ${run@Q}/admin.secret) != ${secret@Q} ]]"
check "which works" answers PONG admin "$two" PING
check "the admin may still write" answers OK admin "$two" SET after/restart v
check "ann still signs in" signs_in_within "$two" ann pw-ann-123 2
check "strangers are still confined" refused cli "$two" GET after/restart

check "make stop stops them all" "${play[@]}" stop
check "nothing left running" bash -c \
  "[[ \$(${play[*]@Q} status | grep -c running) -eq 0 ]]"

summary
