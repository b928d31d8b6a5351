#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer build in build-asan/, then the
# test binaries that feed user files to parsers and the CLI (a sanitizer report
# aborts the process; the bad-input corpus counts that as a crash):
# test_robustness (bad-input corpus, SIGKILL crash safety, workspace lock),
# test_ir, test_data, test_metrics, test_tf. The numeric kernels
# (test_runtime, test_conformance, test_quant, test_tune) are left to the
# Release run: under ASan they would add ~10 minutes to CI.
#   bash scripts/sanitize.sh            # those binaries, all their tests
#   bash scripts/sanitize.sh 'Corpus'   # a ctest -R regex
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
targets=(qtune test_robustness test_ir test_data test_metrics test_tf)
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQTUNE_SANITIZE=address,undefined \
  >/dev/null
cmake --build build-asan -j"$(nproc)" --target "${targets[@]}"
built=$(date +%s)
echo "sanitize: build $((built - start)) s"
# Leaks are off: protobuf/oneDNN keep process-lifetime singletons.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export QTUNE_SHARED_DATA=${QTUNE_SHARED_DATA:-$(pwd)/../shared/data}
# Only the binaries built above (the others are listed as *_NOT_BUILT).
ctest --test-dir build-asan -j"$(nproc)" -R "${1:-.}" -E "NOT_BUILT" --output-on-failure \
  --timeout 900
echo "sanitize: tests $(($(date +%s) - built)) s, total $(($(date +%s) - start)) s"
