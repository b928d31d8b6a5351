#!/usr/bin/env bash
# README command (b): build and run the whole test suite (GoogleTest via CTest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
ctest --test-dir build -j"$(nproc)" --output-on-failure --timeout 900
bash scripts/docs.sh # API reference of include/qtune/, doxygen warnings are errors
# Sanitizer build + fuzz smoke (issue 13); each prints its duration.
if [ "${QTUNE_CI_ROBUSTNESS:-1}" != 0 ]; then bash scripts/ci_robustness.sh; fi
