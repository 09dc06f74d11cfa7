#!/usr/bin/env bash
# Real Redis clients against a two-server cluster (2 actors each, B joining
# A, loopback, ports chosen by the OS): redis-py (Debian's python3-redis,
# RESP2), node-redis over RESP2 and RESP3, and ioredis (npm, installed by
# scripts/install-deps.sh into tests/compat/node_modules). Every process it
# starts is stopped on exit.
# Usage: compat_test.sh BIN_DIR
set -uo pipefail
bin=${1:?usage: compat_test.sh BIN_DIR}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
# shellcheck source=../lib.sh
source "$here/../lib.sh"

start_server a --port 0 --actors 2
start_server b --port 0 --actors 2 --join "$(json "$tmp/a.json" address)"
a_q=$(port_of "$(json "$tmp/a.json" query 1)")
b_q=$(port_of "$(json "$tmp/b.json" query 0)")

check "redis-py" timeout 60 /usr/bin/python3 "$here/clients.py" "$a_q" "$b_q"
if [[ -d $here/node_modules/redis && -d $here/node_modules/ioredis ]]; then
  check "node-redis and ioredis" timeout 90 node "$here/clients.mjs" "$a_q" "$b_q"
else
  # npm ci could not reach the registry (install-deps.sh --compat said so).
  echo "SKIP: node-redis and ioredis: tests/compat/node_modules is missing;" \
    "run scripts/install-deps.sh --compat"
fi
summary
