#!/usr/bin/env bash
# Repair: time and bytes until two servers agree after N keys were written
# on one while the other was cut off, for each N given (default 10, 100000
# and 1000000), on the deterministic simulator (2 servers x ACTORS actors,
# LATENCY ms one-way). Times are simulated; CPU is this machine's.
# Usage: bench/repair.sh [ACTORS] [LATENCY_MS] [N...]
set -euo pipefail
source "$(dirname "$0")/common.sh"
actors=${1:-2}
latency=${2:-250}
shift $(($# < 2 ? $# : 2))
sizes=("$@")
((${#sizes[@]})) || sizes=(10 100000 1000000)
need_binaries cmud-sim
for n in "${sizes[@]}"; do
  "$bin/cmud-sim" --measure-repair "$n" --actors "$actors" --latency-ms "$latency"
done
