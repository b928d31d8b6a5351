#!/usr/bin/env bash
# libFuzzer run over every parser target in fuzz/ (issue 13).
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]   # default 60 s each, all targets
#   QTUNE_FUZZ_JOBS=2 bash scripts/fuzz.sh 1800  # two targets at a time
# Builds build-fuzz/ (clang, -DQTUNE_FUZZ=ON: ASan + UBSan + coverage), writes
# the seed corpora from ../shared/data into build-fuzz/seeds/, runs each target
# for SECONDS on its growing corpus build-fuzz/corpus/<target>/ and prints
# execs, coverage and the wall time. A crash, leak, timeout or out-of-memory
# leaves its input in build-fuzz/artifacts/<target>/ and fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
shift || true
DATA=${QTUNE_SHARED_DATA:-$(pwd)/../shared/data}
start=$(date +%s)
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Fuzz -DCMAKE_CXX_COMPILER=clang++ \
  -DQTUNE_FUZZ=ON >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_all fuzz_make_seeds
echo "fuzz: build $(($(date +%s) - start)) s"
rm -rf build-fuzz/seeds
build-fuzz/fuzz/fuzz_make_seeds "$DATA" "$(pwd)" build-fuzz/seeds
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(onnx graphdef graphdef_text checkpoint tfjs tfrecord coco detections yaml_config image idx)
fi
# Leaks are reported; protobuf's and yaml-cpp's process-lifetime singletons are
# released at exit, so a leak report is a real one.
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# One target: its log, then one result line (also kept in build-fuzz/fuzz_$t.result).
run_one() {
  local t=$1 corpus=build-fuzz/corpus/$1 artifacts=build-fuzz/artifacts/$1 status=0
  mkdir -p "$corpus" "$artifacts" "build-fuzz/seeds/$t"
  local t0
  t0=$(date +%s)
  # CPU seconds next to the wall time: on a shared machine only they say how
  # much fuzzing a target really got.
  /usr/bin/time -f "cpu %U+%S" -o "build-fuzz/fuzz_$t.time" \
    "build-fuzz/fuzz/fuzz_$t" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
    -max_len=262144 -print_final_stats=1 -artifact_prefix="$artifacts/" \
    "$corpus" "build-fuzz/seeds/$t" >"build-fuzz/fuzz_$t.log" 2>&1 || status=1
  local execs last cpu line
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "build-fuzz/fuzz_$t.log" | grep -o '[0-9]*$' || true)
  last=$(grep -E '^#[0-9]+' "build-fuzz/fuzz_$t.log" | tail -1 || true)
  cpu=$(grep -o 'cpu [0-9.+]*' "build-fuzz/fuzz_$t.time" || true)
  line="fuzz: $t $(($(date +%s) - t0)) s, ${cpu:-cpu ?} s, execs ${execs:-?}, $(echo "$last" | grep -o 'cov: [0-9]*' || true) $(echo "$last" | grep -o 'ft: [0-9]*' || true) $(echo "$last" | grep -o 'corp: [0-9]*/[0-9a-zA-Z]*' || true)"
  if [ $status -ne 0 ]; then
    line="$line
fuzz: $t FAILED, see build-fuzz/fuzz_$t.log and $artifacts/
$(grep -E "^==[0-9]+==ERROR|SUMMARY|runtime error|uncaught" "build-fuzz/fuzz_$t.log" | head -5)"
  fi
  echo "$line" | tee "build-fuzz/fuzz_$t.result"
  return $status
}
JOBS=${QTUNE_FUZZ_JOBS:-1}
for t in "${targets[@]}"; do
  rm -f "build-fuzz/fuzz_$t.result"
done
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do
    wait -n || true
  done
  run_one "$t" &
done
wait || true
echo "fuzz: total $(($(date +%s) - start)) s"
# A target failed if its result says so, or if it wrote none (killed).
failed=0
for t in "${targets[@]}"; do
  if [ ! -s "build-fuzz/fuzz_$t.result" ] || grep -q FAILED "build-fuzz/fuzz_$t.result"; then
    failed=1
  fi
done
exit $failed
