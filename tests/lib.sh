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
