#!/usr/bin/env bash
# cmud vs Redis with the same redis-benchmark command, alternating A B A B.
# Usage: bench/vs-redis.sh [ROUNDS] [REQUESTS] [PERSIST] [TESTS] [TLS]
#   (defaults 3, 1000000, off, set,get, off). PERSIST everysec|always turns
#   persistence on on both sides: Redis appendonly with that appendfsync,
#   cmud --data-dir with that --fsync, each in a directory of its own under
#   one temp dir. TESTS is redis-benchmark's -t list; "default" means every
#   test of its default list whose commands cmud has:
#   ping_inline,ping_mbulk,set,get,incr,mset (the others need lists, sets,
#   hashes or sorted sets). TLS on: both servers take only TLS clients
#   that show a certificate (Redis --tls-port, cmud --tls; certificates from
#   cmud-test-certs), and redis-benchmark connects with --tls.
set -euo pipefail
source "$(dirname "$0")/common.sh"
rounds=${1:-3}
n=${2:-1000000}
persist=${3:-off}
tests=${4:-set,get}
tls=${5:-off}
[[ $tests == default ]] && tests=ping_inline,ping_mbulk,set,get,incr,mset
redis_opts=()
cmud_opts=()
case $persist in
  off) ;;
  everysec | always)
    redis_opts=(--appendonly yes --appendfsync "$persist")
    cmud_opts=(--data-dir "$tmp/cmud-data" --fsync "$persist")
    ;;
  *) echo "PERSIST must be off, everysec or always" >&2; exit 2 ;;
esac
need_binaries cmud-server
need_redis

redis_port=$(free_port)
if [[ $tls == on ]]; then
  need_binaries cmud-test-certs
  mkdir -p "$tmp/certs"
  "$bin/cmud-test-certs" "$tmp/certs"
  c=$tmp/certs
  files=(--tls-cert-file "$c/server.crt" --tls-key-file "$c/server.key"
    --tls-ca-cert-file "$c/ca.crt")
  tls_client=(--tls --cacert "$c/ca.crt" --cert "$c/client.crt"
    --key "$c/client.key")
  redis_opts+=(--tls-port "$redis_port" "${files[@]}")
  cmud_opts+=(--tls "${files[@]}")
  redis_listen=0
else
  redis_listen=$redis_port
fi
start_redis "$redis_listen" "${redis_opts[@]}"
cmud_client_port=$(free_port)
start_cmud cmud --actors 2 --client-port "$cmud_client_port" "${cmud_opts[@]}"
wait_ping "$cmud_client_port" 10 "${tls_client[@]}"

# run TARGET PORT MODE ROUND: appends "target mode test rps p50 p99" lines.
run() {
  local extra=()
  [[ $3 == P16 ]] && extra=(-P 16)
  timeout 600 redis-benchmark -p "$2" -t "$tests" -n "$n" -r 100000 -c 50 \
    -d 32 "${extra[@]}" "${tls_client[@]}" --csv 2>/dev/null |
    python3 -c '
import csv, sys
for row in csv.reader(sys.stdin):
    if row and row[0] != "test":
        name = row[0].split(" ")[0]  # "MSET (10 keys)" -> MSET
        print(sys.argv[1], sys.argv[2], name, row[1], row[4], row[6])
' "$1" "$3" >>"$tmp/results"
}

for mode in P1 P16; do
  for r in $(seq 1 "$rounds"); do
    run redis "$redis_port" "$mode" "$r"
    run cmud "$cmud_client_port" "$mode" "$r"
  done
done

python3 - "$tmp/results" "$persist, TLS $tls" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
print(f"{'mode':5} {'test':11} {'redis req/s':>12} {'cmud req/s':>12} {'ratio':>6}  "
      f"{'redis p50/p99 ms':>17} {'cmud p50/p99 ms':>16}")
worst = None
tests = list(dict.fromkeys(r[2] for r in rows))
for mode in ("P1", "P16"):
    for test in tests:
        def pick(target):
            return [r for r in rows if r[0] == target and r[1] == mode and r[2] == test]
        rd, cm = pick("redis"), pick("cmud")
        ratios = [float(c[3]) / float(r[3]) for r, c in zip(rd, cm)]
        med = statistics.median(ratios)
        worst = med if worst is None else min(worst, med)
        m = lambda xs, i: statistics.median(float(x[i]) for x in xs)
        print(f"{mode:5} {test:11} {m(rd,3):12.0f} {m(cm,3):12.0f} {med:6.2f}  "
              f"{m(rd,4):8.3f}/{m(rd,5):<8.3f} {m(cm,4):7.3f}/{m(cm,5):<8.3f}")
print(f"summary: persistence {sys.argv[2]}: worst median ratio cmud/redis = "
      f"{worst:.2f} (target >= 1.00)")
PY
