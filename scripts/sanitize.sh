#!/usr/bin/env bash
# The ASan+UBSan test step (issue 13; CI runs it through scripts/ci_robustness.sh).
# Builds the CLI and the test binaries that feed user files to parsers in
# build-fuzz/ (clang -O1, ASan + UBSan + libFuzzer coverage: the same
# instrumented library objects scripts/fuzz.sh links its targets against, so CI
# compiles the library instrumented once) and runs all their tests:
# test_robustness (bad-input corpus, SIGKILL crash safety, workspace lock),
# test_ir, test_data, test_metrics, test_tf. The numeric kernel suites
# (test_runtime, test_conformance, test_quant, test_tune) and the CLI
# end-to-end suite (test_cli) run in the Release build only: they drive
# full-size models through oneDNN, which is not instrumented, so ASan adds
# little there and their runtime would dominate the CI step.
#   bash scripts/sanitize.sh            # those binaries, all their tests
#   bash scripts/sanitize.sh 'Corpus'   # a ctest -R regex
set -euo pipefail
cd "$(dirname "$0")/.."
# Leaks are off: protobuf/oneDNN keep process-lifetime singletons. A failed
# allocation returns null as in the Release build (a model asking for 4 TiB is a
# corpus case: qtune must name it, ASan must not abort on it). Set before the
# build: gtest_discover_tests runs each instrumented test binary to list it.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
start=$(date +%s)
targets=(qtune test_robustness test_ir test_data test_metrics test_tf)
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Fuzz -DCMAKE_CXX_COMPILER=clang++ -DQTUNE_FUZZ=ON \
  >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]}"
built=$(date +%s)
echo "sanitize: build $((built - start)) s"
export QTUNE_SHARED_DATA=${QTUNE_SHARED_DATA:-$(pwd)/../shared/data}
# Only the binaries built above (the others are listed as *_NOT_BUILT).
ctest --test-dir build-fuzz -j"$(nproc)" -R "${1:-.}" -E "NOT_BUILT|PublicHeaderAlone" \
  --output-on-failure --timeout 900
echo "sanitize: tests $(($(date +%s) - built)) s, total $(($(date +%s) - start)) s"
