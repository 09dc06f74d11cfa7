#!/usr/bin/env bash
# Fuzzes one libFuzzer harness for a bounded time on top of its checked-in
# seed corpus (ctest fuzz.<name>, in the CMUD_FUZZ build).
# Usage: run.sh FUZZER CORPUS SECONDS WORKDIR
# New inputs go to WORKDIR/new (the checked-in corpus is only read); a
# crash, leak, timeout or out-of-memory input goes to WORKDIR/artifacts and
# fails the test. Copy it into the corpus once fixed: it stays a
# regression test (fuzz_replay.<name> in every other build).
set -uo pipefail
fuzzer=$1 corpus=$2 seconds=$3 work=$4
rm -rf "$work"
mkdir -p "$work/new" "$work/artifacts"
"$fuzzer" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 \
  -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
  "$work/new" "$corpus" >"$work/log" 2>&1
rc=$?
grep -E "^(#[0-9]+ *DONE|stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added|stat::peak_rss_mb)" "$work/log"
if [[ $rc -ne 0 ]]; then
  tail -n 60 "$work/log"
  echo "fuzz: $(basename "$fuzzer") failed (exit $rc); inputs in $work/artifacts:"
  ls -l "$work/artifacts"
  exit 1
fi
echo "fuzz: $(basename "$fuzzer"): no finding in ${seconds} s"
