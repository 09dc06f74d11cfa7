#!/usr/bin/env bash
# Real Redis clients against a two-server cluster (2 actors each, B joining
# A, loopback, ports chosen by the OS), with a password (--requirepass-file,
# handed to the clients as CMUD_TEST_PASSWORD): redis-cli, redis-py
# (Debian's python3-redis, RESP2), node-redis over RESP2 and RESP3, and
# ioredis (npm, installed by scripts/install-deps.sh into
# tests/compat/node_modules). Every process it starts is stopped on exit.
# Usage: compat_test.sh BIN_DIR
set -uo pipefail
bin=${1:?usage: compat_test.sh BIN_DIR}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
# shellcheck source=../lib.sh
source "$here/../lib.sh"

export CMUD_TEST_PASSWORD="compat pass $RANDOM"
printf '%s\n' "$CMUD_TEST_PASSWORD" >"$tmp/password"
start_server a --port 0 --actors 2 --requirepass-file "$tmp/password"
start_server b --port 0 --actors 2 --requirepass-file "$tmp/password" \
  --join "$(json "$tmp/a.json" address)"
a_q=$(port_of "$(json "$tmp/a.json" query 1)")
b_q=$(port_of "$(json "$tmp/b.json" query 0)")

# redis-cli with the password from its environment, and without it.
cli_auth() {
  [[ $(REDISCLI_AUTH=$CMUD_TEST_PASSWORD redis-cli -p "$a_q" set cli:k v) == OK &&
     $(REDISCLI_AUTH=$CMUD_TEST_PASSWORD redis-cli -p "$a_q" get cli:k) == v &&
     $(redis-cli -p "$a_q" get cli:k) == *NOAUTH* &&
     $(redis-cli -p "$a_q" --user default --pass wrong --no-auth-warning \
       get cli:k 2>&1) == *WRONGPASS* ]]
}
check "redis-cli AUTH" cli_auth

check "redis-py" timeout 60 /usr/bin/python3 "$here/clients.py" "$a_q" "$b_q"
if [[ -d $here/node_modules/redis && -d $here/node_modules/ioredis ]]; then
  check "node-redis and ioredis" timeout 90 node "$here/clients.mjs" "$a_q" "$b_q"
else
  # npm ci could not reach the registry (install-deps.sh --compat said so).
  echo "SKIP: node-redis and ioredis: tests/compat/node_modules is missing;" \
    "run scripts/install-deps.sh --compat"
fi
summary
