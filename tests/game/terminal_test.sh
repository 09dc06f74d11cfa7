#!/usr/bin/env bash
# Terminal test: runs cmud inside tmux (its own server socket, no user
# config), types with send-keys and reads the screen with capture-pane:
# the prompt, tab completion, history, colours on a terminal and none with
# NO_COLOR, messages from another player appearing while idle, a storage
# server dying mid-game, failing over when a server hangs, accounts (a
# password typed without echo), and clean exits (quit, Ctrl-D, Ctrl-C). Starts its
# own cmud-server on free ports; every wait is bounded; every process it
# starts is stopped on exit.
# Usage: terminal_test.sh BIN_DIR
set -uo pipefail
bin=${1:?usage: terminal_test.sh BIN_DIR}
command -v tmux >/dev/null || { echo "FAIL: tmux is not installed"; exit 1; }
tmp=$(mktemp -d)
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
sock="cmud-term-$$-$RANDOM"
pids=()

tm() { tmux -L "$sock" -f /dev/null "$@"; }

cleanup() {
  tm kill-server 2>/dev/null
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT

pass() { passes=$((passes + 1)); }
fail() {  # what, [pane to show]
  failures=$((failures + 1))
  echo "FAIL: $1"
  if [[ -n "${2:-}" ]]; then
    tm capture-pane -p -t "$2" 2>/dev/null | grep -v '^$' | tail -15 | sed 's/^/    /'
  fi
}

# screen PANE [-e]: the pane's text (with -e: and its escape sequences).
screen() { tm capture-pane -p ${2:+-e} -t "$1" 2>/dev/null; }

# Waits up to $3 seconds until the screen of pane $1 matches regex $2.
wait_screen() {
  for _ in $(seq 1 $(($3 * 10))); do
    screen "$1" | grep -Eq -- "$2" && return 0
    sleep 0.1
  done
  return 1
}

# Checks that pane $1's screen shows regex $3 within $4 seconds (default 5).
expect_screen() {  # pane, what, regex, [seconds]
  if wait_screen "$1" "$3" "${4:-5}"; then pass; else fail "$2" "$1"; fi
}

# The last non-empty line of pane $1 (capture-pane drops trailing spaces,
# so a prompt "ann@gate> " reads "ann@gate>").
last_line() { screen "$1" | grep -v '^$' | tail -1; }

# Checks that the command in pane $1 exited with status 0 within 5 s.
expect_exit0() {  # pane, what
  if wait_file "$tmp/$1.exit" 5 && [[ $(cat "$tmp/$1.exit") == 0 ]]; then
    pass
  else
    fail "$2 (exit status: $(cat "$tmp/$1.exit" 2>/dev/null || echo none))" "$1"
  fi
}

# Starts cmud in a new tmux session named $1; the rest are env assignments
# and cmud arguments. Its exit status lands in $tmp/$1.exit.
play() {
  local name=$1
  shift
  local envs=() args=()
  for a in "$@"; do
    if [[ $a == *=* && $a != -* ]]; then envs+=("$a"); else args+=("$a"); fi
  done
  local cmd
  cmd="env -u NO_COLOR TERM=screen ${envs[*]} $(printf '%q ' "$bin/cmud" "${args[@]}")"
  tm new-session -d -s "$name" -x 120 -y 40 \
    "$cmd; echo \$? > $tmp/$name.exit; sleep 30"
}

start_server() {  # name, args...
  local name=$1
  shift
  "$bin/cmud-server" --port 0 --desc-file "$tmp/$name.json" "$@" \
    >"$tmp/$name.out" 2>"$tmp/$name.err" &
  pids+=($!)
  eval "${name}_pid=$!"
  disown $!  # no job-control notice when cleanup kills it
  if ! wait_file "$tmp/$name.json" 10; then
    echo "FAIL: server $name did not start"; cat "$tmp/$name.err"; exit 1
  fi
}

query_ports() {  # desc file -> "h:p,h:p"
  python3 -c 'import json,sys; print(",".join(json.load(open(sys.argv[1]))["query"]))' "$1"
}

start_server main --actors 2
servers=$(query_ports "$tmp/main.json")

# --- A session with colours: prompt, help, completion, history, quit.
play ann -s "$servers" --name ann --fast --seed 1
expect_screen ann "the prompt shows name and place" '^ann@gate> ?$' 10
tm send-keys -t ann 'help' Enter
expect_screen ann "help lists the commands" 'give <player> <coins>'
tm send-keys -t ann 'sta' Tab
expect_screen ann "Tab completes 'sta' to 'stats '" '^ann@gate> stats ?$'
tm send-keys -t ann Enter
expect_screen ann "stats shows the rank" 'ann, Undergraduate'
tm send-keys -t ann 'move qu' Tab Enter
expect_screen ann "completing a place and moving there" '^ann@quad> ?$'
tm send-keys -t ann Up
expect_screen ann "Up recalls the last command" '^ann@quad> move quad ?$'
tm send-keys -t ann C-u 'e' Enter
expect_screen ann "a direction walks along an exit" '^ann@cafe> ?$'
tm send-keys -t ann C-u
if screen ann -e | grep -q $'\e\\[[0-9;]*3[0-7]m'; then
  pass
else
  fail "colours on a terminal" ann
fi
tm send-keys -t ann 'quit' Enter
expect_screen ann "quit says goodbye" 'See you tomorrow, ann'
expect_exit0 ann "quit exits with status 0"

# --- NO_COLOR: not a single escape sequence on screen; Ctrl-D leaves.
play bob NO_COLOR=1 -s "$servers" --name bob --fast
expect_screen bob "the prompt (NO_COLOR)" '^bob@gate> ?$' 10
tm send-keys -t bob 'stats' Enter
expect_screen bob "stats (NO_COLOR)" 'bob, Undergraduate'
if screen bob -e | grep -q $'\e'; then
  fail "NO_COLOR leaves no escape codes" bob
  screen bob -e | cat -v | grep -F '^[' | head -3
else
  pass
fi
tm send-keys -t bob C-d
expect_exit0 bob "Ctrl-D exits with status 0"

# --- Messages from another player arrive while idle, above the prompt,
# and the half-typed line survives.
play cat -s "$servers" --name cat --fast
expect_screen cat "the prompt for the listener" '^cat@gate> ?$' 10
tm send-keys -t cat 'say half-typ'
sleep 0.3
printf 'say hello from a script\nemote waves\ntell cat psst\nquit\n' |
  "$bin/cmud" -s "$servers" --name dan --fast >"$tmp/dan.out" 2>&1
expect_screen cat "an idle player sees a message without typing" \
  'dan says: "hello from a script"' 5
expect_screen cat "an emote shows as an action" '^dan waves$' 5
expect_screen cat "a tell reaches its player" 'dan tells you: "psst"' 5
if wait_screen cat '^cat@gate> say half-typ$' 3; then
  pass
else
  fail "the prompt and the half-typed line are redrawn below it" cat
fi
tm send-keys -t cat C-u 'who' Enter
expect_screen cat "who lists the player" 'cat \(Undergraduate\) at the Main Gate'
tm send-keys -t cat C-c
expect_exit0 cat "Ctrl-C exits with status 0"

# --- Ask for the name when none is given.
play eve -s "$servers" --fast
expect_screen eve "asks who you are" 'Who are you\? ?$' 10
tm send-keys -t eve 'bad/name' Enter
expect_screen eve "refuses an invalid name" 'That name will not do'
tm send-keys -t eve 'eve' Enter
expect_screen eve "then logs in" '^eve@gate> ?$'
tm send-keys -t eve 'quit' Enter
expect_exit0 eve "quit after asking the name"

# --- A storage server dies in the middle of a game: a clear message, the
# game keeps running, help still works, quit still exits cleanly.
start_server doomed --actors 1
play fay -s "$(query_ports "$tmp/doomed.json")" --name fay --fast --timeout-ms 1000
expect_screen fay "the prompt before the outage" '^fay@gate> ?$' 10
kill -TERM "$doomed_pid"
for _ in $(seq 1 50); do kill -0 "$doomed_pid" 2>/dev/null || break; sleep 0.1; done
tm send-keys -t fay 'mine 3' Enter
expect_screen fay "a storage error is explained" 'campus network is having a moment' 10
tm send-keys -t fay 'help' Enter
expect_screen fay "the game keeps running after it" 'solve \[rounds\]'
if [[ $(last_line fay) =~ ^fay@gate\>\ ?$ ]]; then pass; else fail "prompt after the error" fay; fi
tm send-keys -t fay 'quit' Enter
expect_exit0 fay "quit exits with status 0 while the store is down"

# --- Failover: the player's server hangs (SIGSTOP: it still accepts
# connections, answers nothing); the next command succeeds on the other
# server within 3 s, and the player is told where the game went.
start_server side --actors 1 --join "$(cat "$tmp/main.json")"
side_ports=$(query_ports "$tmp/side.json")
play hal -s "$side_ports,$servers" --name hal --fast --seed 3
expect_screen hal "the prompt before the hang" '^hal@gate> ?$' 10
tm send-keys -t hal 'mine 1' Enter
expect_screen hal "mining on the first server" 'You have [0-9]+ coin' 5
kill -STOP "$side_pid"
tm send-keys -t hal 'stats' Enter
if wait_screen hal 'you are now on 127\.0\.0\.1:' 4 &&
   wait_screen hal 'hal, Undergraduate' 1; then
  pass
else
  fail "a hung server: the next command succeeds elsewhere within 3 s" hal
fi
if screen hal | grep -q 'campus network is having a moment'; then
  fail "no storage error while moving" hal
else
  pass
fi
tm send-keys -t hal 'quit' Enter
expect_exit0 hal "quit after the move"
kill -CONT "$side_pid"

# --- Accounts (a server with ACL SIGNUP, as `make play` runs them): a new
# player chooses a password, typed twice and never shown; a returning one
# is asked for it; Ctrl-C at the password leaves cleanly with the echo on.
printf 'user default on nopass -@all +@connection -@dangerous +acl|signup resetkeys resetchannels\n' \
  >"$tmp/users.acl"
rules=$("$bin/cmud" --print-signup-rules)
start_server acct --actors 1 --aclfile "$tmp/users.acl" --signup-rules "$rules"
acct_ports=$(query_ports "$tmp/acct.json")
play ivy -s "$acct_ports" --fast
expect_screen ivy "asks the name (accounts)" 'Who are you\? ?$' 10
tm send-keys -t ivy 'ivy' Enter
expect_screen ivy "a new player chooses a password" 'New player ivy\. Choose a password' 5
tm send-keys -t ivy 'sekret-one' Enter
expect_screen ivy "and types it again" 'Again: ?$'
tm send-keys -t ivy 'sekret-one' Enter
expect_screen ivy "then plays" '^ivy@gate> ?$' 5
if screen ivy | grep -q 'sekret'; then fail "the password is never shown" ivy; else pass; fi
tm send-keys -t ivy 'quit' Enter
expect_exit0 ivy "quit after signing up"
play ivy2 -s "$acct_ports" --name ivy --fast
expect_screen ivy2 "a returning player is asked the password" '^Password: ?$' 10
tm send-keys -t ivy2 'sekret-one' Enter
expect_screen ivy2 "and is welcomed back" 'Welcome back, ivy' 5
tm send-keys -t ivy2 'quit' Enter
expect_exit0 ivy2 "quit after signing in"
tm new-session -d -s ivy3 -x 120 -y 40 \
  "$bin/cmud -s $acct_ports --name ivy --fast; echo \$? > $tmp/ivy3.exit; stty -a > $tmp/ivy3.stty; sleep 30"
expect_screen ivy3 "the password prompt" '^Password: ?$' 10
tm send-keys -t ivy3 'half' C-c
expect_exit0 ivy3 "Ctrl-C at the password exits with status 0"
if wait_file "$tmp/ivy3.stty" 5 && grep -Eq '(^| )echo( |$)' "$tmp/ivy3.stty"; then
  pass
else
  fail "the echo is back on after Ctrl-C at the password"
fi

# --- Not a terminal: commands from stdin, the first line is the name, no
# colour, no prompt; an invalid --name is an error.
out=$(printf 'gus\nstats\nmove quad\nmove cafe\nmap\n' | "$bin/cmud" -s "$servers" --fast 2>&1)
status=$?
if [[ $status -eq 0 ]] && grep -q '^gus, Undergraduate' <<<"$out" &&
   grep -q '^\* Cafe Dijkstra (cafe) *gus (you)' <<<"$out" &&
   ! grep -q $'\e' <<<"$out" && grep -q 'See you tomorrow, gus' <<<"$out"; then
  pass
else
  fail "scripted play from stdin (status $status)"
  head -20 <<<"$out" | sed 's/^/    /'
fi
"$bin/cmud" -s "$servers" --name 'Bad Name!' </dev/null >/dev/null 2>"$tmp/bad.err"
if [[ $? -eq 2 ]] && grep -q 'may only use' "$tmp/bad.err"; then
  pass
else
  fail "an invalid --name exits 2 with a reason"
fi

summary
