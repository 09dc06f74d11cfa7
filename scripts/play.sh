#!/usr/bin/env bash
# make cluster / make play / make stop: a local cluster of cmud-servers (two
# query actors each, every server joined to every other) and the game.
#   scripts/play.sh cluster   start every server that is not running
#   scripts/play.sh play      the same, then open the game on the cluster
#   scripts/play.sh stop      stop the cluster
#   scripts/play.sh status    which servers run, and their ports
# Server k (1-based) has its actor system on base port B_k and query ports
# B_k+1 and B_k+2; by default B = 6000 6100. Logs: run/cluster.log.
#
# Each server runs in a session of its own (setsid), so Ctrl-C in the game
# (or closing its terminal) does not reach it. Each is started with --join
# naming every other server, so any one of them can be stopped and started
# again (`make cluster`) and it rejoins the same world: it reads its own
# state back from run/data/server<k>, and repair brings what it missed.
#
# Accounts: every server reads run/users.acl (made on the first start, mode
# 600) and signs players up (ACL SIGNUP) with the game's rules (`cmud
# --print-signup-rules`, kSignupRules in include/cmud/game/schema.h). Anyone who
# connects is `default`, who may only connect, PING and sign up; the game
# asks a new player for a password, signs up and then signs in as that
# player, who may write only its own keys. The operator is `admin`, whose
# password is in run/admin.secret (the ACL file keeps only its SHA-256):
#   CMUD_USER=admin CMUD_PASSWORD=$(cat run/admin.secret) \
#     build/bin/cmud-cli -s 127.0.0.1:6001
#   redis-cli -p 6001 --user admin --pass "$(cat run/admin.secret)"
# Players' users are replicated records in the servers' data (not in
# users.acl), so they stay with the world. A new admin password: stop the
# cluster, remove run/users.acl, start it again.
#
# Environment (tests): CMUD_PLAY_PORTS="B1 B2 ..." base ports,
# CMUD_PLAY_RUN=DIR for pid files and the log, CMUD_PLAY_BIN=DIR programs.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${CMUD_PLAY_BIN:-$root/build/bin}
run=${CMUD_PLAY_RUN:-$root/run}
read -r -a ports <<<"${CMUD_PLAY_PORTS:-6000 6100}"
log=$run/cluster.log
mkdir -p "$run"

pid_of() { cat "$run/server$1.pid" 2>/dev/null; }
# Running, not a zombie waiting to be reaped, and still a cmud-server (the
# pid may have been reused since).
alive() {
  local pid state
  pid=$(pid_of "$1") || return 1
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ $state != Z ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q cmud-server
}

# True once the query port answers PING (bounded: 10 s).
ready() {
  for _ in $(seq 1 200); do
    [[ $(redis-cli -p "$1" PING 2>/dev/null) == PONG ]] && return 0
    sleep 0.05
  done
  return 1
}

# The users every server starts with, made once (a run/ from before
# accounts gets them on its next start): `default`, who anyone is on
# connecting, may only connect, PING and sign up (-@dangerous: not CLIENT
# KILL or LIST, which +@connection holds); `admin` may do everything, with a
# random password kept in run/admin.secret for the operator and only as its
# SHA-256 in the ACL file. Both files are mode 600.
users_file() {
  [[ -s $run/users.acl ]] && return 0
  (
    umask 077
    rm -f "$run/admin.secret"  # a new file, so mode 600 whatever was there
    python3 - "$run/admin.secret" "$run/users.acl.tmp" <<'PY'
import hashlib, secrets, sys
password = secrets.token_hex(16)
with open(sys.argv[1], "w") as f:
    f.write(password + "\n")
with open(sys.argv[2], "w") as f:
    f.write("user default on nopass -@all +@connection -@dangerous "
            "+acl|signup resetkeys resetchannels\n")
    f.write("user admin on #%s ~* &* +@all\n"
            % hashlib.sha256(password.encode()).hexdigest())
PY
    mv "$run/users.acl.tmp" "$run/users.acl"
  )
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {  # server number k (1-based)
  local k=$1 port=${ports[$(($1 - 1))]}
  alive "$k" && return 0
  local p
  for p in "$port" "$((port + 1))" "$((port + 2))"; do
    if port_busy "$p"; then
      echo "play: port $p is in use by another program; stop it" \
           "(or run 'make stop') and try again" >&2
      exit 1
    fi
  done
  local join=() other
  for other in "${ports[@]}"; do
    [[ $other == "$port" ]] || join+=(--join "127.0.0.1:$other")
  done
  # One secret for the cluster, made once: only its servers can connect to
  # each other's actor-system ports.
  if [[ ! -s $run/cluster.secret ]]; then
    (umask 077 && python3 -c 'import secrets; print(secrets.token_hex(32))' \
      >"$run/cluster.secret")
  fi
  users_file
  # What a player's account may do: the game's own rules, next to its key
  # schema (kSignupRules in include/cmud/game/schema.h).
  local signup_rules
  signup_rules=$("$bin/cmud" --print-signup-rules)
  echo "=== $(date '+%F %T') starting server $k on port $port" >>"$log"
  # setsid: a session of its own, out of reach of the terminal's signals.
  # In a script, a background job is no group leader, so setsid execs in
  # place and $! is the server's own pid.
  # Each server keeps its world in run/data/server<k>, so `make stop &&
  # make play` brings everyone back where they were.
  setsid "$bin/cmud-server" --port "$port" --actors 2 "${join[@]}" \
    --cluster-secret-file "$run/cluster.secret" \
    --aclfile "$run/users.acl" --signup-rules "$signup_rules" \
    --data-dir "$run/data/server$k" </dev/null >>"$log" 2>&1 &
  echo $! >"$run/server$k.pid"
}

cluster() {
  local k started=()
  for k in $(seq 1 ${#ports[@]}); do
    if ! alive "$k"; then
      start "$k"
      started+=("$k")
    fi
  done
  for k in "${started[@]}"; do
    if ! ready "$((ports[k - 1] + 1))"; then
      echo "play: server $k did not start; see $log" >&2
      exit 1
    fi
  done
  if ((${#started[@]} > 0)); then
    echo "play: started server(s) ${started[*]} (logs: $log)"
  fi
}

stop() {
  local k pid
  for k in $(seq ${#ports[@]} -1 1); do
    if alive "$k"; then
      pid=$(pid_of "$k")
      kill -TERM "$pid"
      for _ in $(seq 1 100); do alive "$k" || break; sleep 0.05; done
      if alive "$k"; then kill -KILL "$pid" 2>/dev/null || true; fi
      echo "stopped server $k"
    fi
    rm -f "$run/server$k.pid"
  done
}

status() {
  local k
  for k in $(seq 1 ${#ports[@]}); do
    if alive "$k"; then
      echo "server $k: running (pid $(pid_of "$k"), actor system" \
           "${ports[k - 1]}, query ports $((ports[k - 1] + 1))-$((ports[k - 1] + 2)))"
    else
      echo "server $k: stopped"
    fi
  done
}

play() {
  cluster
  # Players alternate between servers: one world, several entrances. The
  # game gets every query port, its own server's first and then one of each
  # other server, so it can move on when its server fails.
  local n k first list=()
  n=$(($(cat "$run/players" 2>/dev/null || echo 0) + 1))
  echo "$n" >"$run/players"
  first=$(((n - 1) % ${#ports[@]}))
  for a in 1 2; do
    for k in $(seq 0 $((${#ports[@]} - 1))); do
      list+=("127.0.0.1:$((ports[(first + k) % ${#ports[@]}] + a))")
    done
  done
  echo "play: you are on server $((first + 1)) (ports" \
       "$((ports[first] + 1))-$((ports[first] + 2))); 'make play' in another" \
       "terminal adds a player on the next server; 'make stop' stops the cluster."
  local IFS=,
  exec "$bin/cmud" -s "${list[*]}"
}

case "${1:-play}" in
  cluster) cluster ;;
  play) play ;;
  stop) stop ;;
  status) status ;;
  *)
    echo "usage: $0 [cluster|play|stop|status]" >&2
    exit 2
    ;;
esac
