#!/usr/bin/env bash
# Real Redis clients against a two-server cluster (2 actors each, B joining
# A, loopback, ports chosen by the OS), with a password (--requirepass-file,
# handed to the clients as CMUD_TEST_PASSWORD): redis-cli, redis-py
# (Debian's python3-redis, RESP2; ACL users too), node-redis over RESP2 and
# RESP3, and
# ioredis (npm, installed by scripts/install-deps.sh into
# tests/compat/node_modules). Then a TLS pair (--tls --tls-cluster, client
# certificates required; certificates from cmud-test-certs): redis-cli
# --tls and redis-py ssl=True, with and without a good certificate. Every
# process it starts is stopped on exit.
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

# An ACL user made through one server, used through the other.
cli_acl() {
  local admin=(redis-cli -p "$a_q" --user default --pass "$CMUD_TEST_PASSWORD"
    --no-auth-warning)
  local app=(redis-cli -p "$b_q" --user cli-app --pass apppw --no-auth-warning)
  [[ $("${admin[@]}" acl setuser cli-app on '>apppw' '~cli:*' +get) == OK ]] ||
    return 1
  for _ in $(seq 1 100); do
    [[ $("${app[@]}" get cli:k) == v ]] && break
    sleep 0.02
  done
  [[ $("${app[@]}" get cli:k) == v &&
     $("${app[@]}" set cli:k w 2>&1) == *NOPERM*"'set' command"* &&
     $("${app[@]}" get other 2>&1) == *NOPERM*keys* &&
     $("${app[@]}" acl whoami 2>&1) == *NOPERM* &&
     $("${admin[@]}" acl deluser cli-app) == 1 ]]
}
check "redis-cli ACL users" cli_acl

check "redis-py" timeout 60 /usr/bin/python3 "$here/clients.py" "$a_q" "$b_q"
if [[ -d $here/node_modules/redis && -d $here/node_modules/ioredis ]]; then
  check "node-redis and ioredis" timeout 90 node "$here/clients.mjs" "$a_q" "$b_q"
else
  # npm ci could not reach the registry (install-deps.sh --compat said so).
  echo "SKIP: node-redis and ioredis: tests/compat/node_modules is missing;" \
    "run scripts/install-deps.sh --compat"
fi
# TLS: query ports and the link between the servers.
"$bin/cmud-test-certs" "$tmp" || echo "FAIL: cmud-test-certs"
tls_files=(--tls-cert-file "$tmp/server.crt" --tls-key-file "$tmp/server.key"
  --tls-ca-cert-file "$tmp/ca.crt")
start_server c --port 0 --actors 2 --tls --tls-cluster "${tls_files[@]}"
start_server d --port 0 --actors 2 --tls --tls-cluster "${tls_files[@]}" \
  --join "$(json "$tmp/c.json" address)"
c_q=$(port_of "$(json "$tmp/c.json" query 0)")
d_q=$(port_of "$(json "$tmp/d.json" query 1)")
tls_cli() {
  local port=$1
  shift
  timeout 10 redis-cli -p "$port" --tls --cacert "$tmp/ca.crt" \
    --cert "$tmp/client.crt" --key "$tmp/client.key" "$@"
}
cli_tls() {
  [[ $(tls_cli "$c_q" set tls:k v) == OK ]] || return 1
  # Written on c, read on d: the servers' own link is TLS too.
  for _ in $(seq 1 100); do
    [[ $(tls_cli "$d_q" get tls:k) == v ]] && break
    sleep 0.05
  done
  [[ $(tls_cli "$d_q" get tls:k) == v ]] &&
    # Without a client certificate, or without TLS: nothing.
    [[ $(timeout 10 redis-cli -p "$c_q" --tls --cacert "$tmp/ca.crt" \
        get tls:k 2>&1) != v ]] &&
    [[ $(timeout 10 redis-cli -p "$c_q" get tls:k 2>&1) != v ]]
}
check "redis-cli --tls" cli_tls
py_tls() {
  timeout 30 /usr/bin/python3 - "$c_q" "$tmp" <<'PY'
import ssl, sys
import redis
port, d = int(sys.argv[1]), sys.argv[2]
good = redis.Redis(port=port, ssl=True, ssl_ca_certs=f"{d}/ca.crt",
                   ssl_certfile=f"{d}/client.crt", ssl_keyfile=f"{d}/client.key",
                   socket_timeout=5, decode_responses=True)
assert good.set("tls:py", "1") and good.get("tls:py") == "1"
for cert in ("self-signed", "expired"):
    bad = redis.Redis(port=port, ssl=True, ssl_ca_certs=f"{d}/ca.crt",
                      ssl_certfile=f"{d}/{cert}.crt",
                      ssl_keyfile=f"{d}/{cert}.key", socket_timeout=5)
    try:
        bad.get("tls:py")
    except (redis.exceptions.ConnectionError, ssl.SSLError, OSError):
        continue
    sys.exit(f"a client with a {cert} certificate was let in")
PY
}
check "redis-py ssl=True" py_tls
summary
