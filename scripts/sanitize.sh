#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer build in build-asan/, then the
# bad-input corpus and the parser-facing tests under it (a sanitizer report
# aborts the process, which the corpus counts as a crash).
#   bash scripts/sanitize.sh            # default subset
#   bash scripts/sanitize.sh 'Corpus'   # a ctest -R regex
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQTUNE_SANITIZE=address,undefined
cmake --build build-asan -j"$(nproc)" --target qtune test_robustness test_ir test_data test_metrics
# Leaks are off: protobuf/oneDNN keep process-lifetime singletons.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-asan -R "${1:-Corpus|WorkspaceLock|OnnxImport|Coco|TFRecord|Image}" \
  --output-on-failure --timeout 900
