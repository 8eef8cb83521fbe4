#!/usr/bin/env bash
# `make fuzz`: builds the libFuzzer targets of tests/fuzz with clang-14, ASan and UBSan (in
# build-fuzz/), then runs each for FUZZ_SECONDS (default 180) on its seed corpus and the saved
# regressions. New inputs the fuzzer finds go to build-fuzz/corpus/<target>/ (never into the
# tree); crashes to build-fuzz/crashes/. Prints executions, coverage and findings per target and
# writes the same table to build-fuzz/fuzz-report.md. Exit 1 when any target found a crash.
#   FUZZ_SECONDS=600 make fuzz        FUZZ_TARGETS="ingest config" make fuzz
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-180}"
targets="${FUZZ_TARGETS:-ingest mapping import_rows fed_answers lapor_answers webhook config}"
out=build-fuzz

./scripts/setup.sh clang-14 libclang-rt-14-dev
if [ ! -f "$out/CMakeCache.txt" ]; then
  CC=clang-14 CXX=clang++-14 cmake -S . -B "$out" -DSIMPUL_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$out" -j"${JOBS:-2}" --target fuzzers

mkdir -p "$out/crashes"
report="$out/fuzz-report.md"
{
  echo "# Fuzzing run $(date -u +%Y-%m-%dT%H:%MZ), ${seconds} s per target, $(nproc) cores"
  echo
  echo "| target | executions | exec/s | coverage (edges) | corpus | crashes |"
  echo "|---|---:|---:|---:|---:|---:|"
} > "$report"

failed=0
for t in $targets; do
  mkdir -p "$out/corpus/$t"
  seeds=("tests/fuzz/corpus/$t")
  [ -d "tests/fuzz/regressions/$t" ] && seeds+=("tests/fuzz/regressions/$t")
  log="$out/fuzz-$t.log"
  echo "fuzz: $t for ${seconds} s"
  set +e
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:suppressions=tests/fuzz/ubsan.supp \
    "$out/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$out/crashes/$t-" "$out/corpus/$t" "${seeds[@]}" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
  corpus=$(find "$out/corpus/$t" -type f | wc -l)
  crashes=$(find "$out/crashes" -name "$t-*" -type f | wc -l)
  echo "| $t | ${execs:-?} | ${rate:-?} | ${cov:-?} | $corpus | $crashes |" >> "$report"
  echo "fuzz: $t: ${execs:-?} executions (${rate:-?}/s), coverage ${cov:-?} edges, corpus $corpus, crashes $crashes"
  if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    failed=1
    echo "fuzz: $t FAILED (exit $rc); log: $log"
    grep -E 'ERROR: |SUMMARY: |runtime error' "$log" | head -5 || true
  fi
done
echo
cat "$report"
if [ "$failed" -ne 0 ]; then
  echo
  echo "fuzz: crashes are in $out/crashes/: fix them, then copy each into tests/fuzz/regressions/<target>/"
  exit 1
fi
