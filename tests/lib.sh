# Helpers shared by the shell tests under tests/ (sourced, not run). The
# sourcing script sets `tmp` (a scratch folder) before calling them.

passes=0
failures=0

# check DESCRIPTION COMMAND...: runs the command; counts a pass, or a
# failure printed with the first lines of its output.
check() {
  local what=$1
  shift
  if "$@" >"$tmp/out" 2>&1; then
    passes=$((passes + 1))
  else
    failures=$((failures + 1))
    echo "FAIL: $what"
    sed 's/^/    /' "$tmp/out" | head -20
  fi
}

# Waits up to $2 seconds for file $1 to be non-empty.
wait_file() {
  for _ in $(seq 1 $(($2 * 20))); do
    [[ -s $1 ]] && return 0
    sleep 0.05
  done
  return 1
}

# The closing line every shell test ends with; its status is the test's.
summary() {
  echo "$passes passed, $failures failed"
  [[ $failures -eq 0 ]]
}

# Servers: start_server NAME ARGS... runs $bin/cmud-server with ARGS and
# --desc-file, waits (10 s at most) for its description, and sets NAME_pid;
# the sourcing script sets `bin`. stop_servers (call it on exit) kills them.
pids=()

start_server() {
  local name=$1
  shift
  rm -f "$tmp/$name.json"
  "$bin/cmud-server" --desc-file "$tmp/$name.json" "$@" \
    >"$tmp/$name.out" 2>"$tmp/$name.err" &
  pids+=($!)
  eval "${name}_pid=$!"
  if ! wait_file "$tmp/$name.json" 10; then
    echo "FAIL: server $name did not start"
    cat "$tmp/$name.err"
    exit 1
  fi
}

# The usual exit of a test that starts servers: stop them, remove `tmp`.
# Installed as the EXIT trap; a script that needs more defines its own
# cleanup after sourcing this file.
cleanup() {
  stop_servers
  rm -rf "$tmp"
}
trap cleanup EXIT

stop_servers() {
  local p
  for p in "${pids[@]}"; do
    disown "$p" 2>/dev/null  # no "Killed" line from the shell
    kill -KILL "$p" 2>/dev/null
  done
}

# Field $2 of the JSON in file $1 (a string, or element $3 of a list).
json() {
  python3 - "$@" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))[sys.argv[2]]
print(d[int(sys.argv[3])] if len(sys.argv) > 3 else d)
PY
}

port_of() { echo "${1##*:}"; }

# within HOST:PORT WANT SECONDS ARGS...: polls until `r HOST:PORT ARGS...`
# prints WANT, for at most SECONDS; `r` is the sourcing script's
# redis-cli wrapper.
within() {
  local q=$1 want=$2 secs=$3
  shift 3
  local got
  for _ in $(seq 1 $((secs * 20))); do
    got=$(r "$q" "$@")
    [[ $got == "$want" ]] && return 0
    sleep 0.05
  done
  echo "port $(port_of "$q"): $* gave '$got', wanted '$want' within $secs s"
  return 1
}

# True if nothing listens on 127.0.0.1:$1.
free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A port P in [$1, $1 + 10 * $2) with P, P+1 and P+2 free (a server and two
# query ports). Tests that restart a server at its address use one below
# the kernel's ephemeral range (32768 up): there, the connections other
# tests open can take a port that was freed, or a dial to the dead address
# can connect to itself.
pick_base_port() {
  local low=$1 slots=$2 base
  for _ in $(seq 1 50); do
    base=$((low + (RANDOM % slots) * 10))
    if free "$base" && free $((base + 1)) && free $((base + 2)); then
      echo "$base"
      return 0
    fi
  done
  return 1
}

# $3 base ports B, B+100, ... (the servers of a play cluster, CMUD_PLAY_PORTS)
# with B in [$1, $1 + 10 * $2), each with its two query ports free.
pick_play_ports() {
  local low=$1 slots=$2 n=$3 base k p ok list
  for _ in $(seq 1 50); do
    base=$((low + (RANDOM % slots) * 10))
    ok=1
    list=()
    for ((k = 0; k < n; ++k)); do
      p=$((base + 100 * k))
      free "$p" && free $((p + 1)) && free $((p + 2)) || ok=0
      list+=("$p")
    done
    if ((ok)); then
      echo "${list[*]}"
      return 0
    fi
  done
  return 1
}
