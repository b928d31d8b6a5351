#!/usr/bin/env bash
# README command (b): build and run the whole test suite (GoogleTest via CTest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
ctest --test-dir build -j"$(nproc)" --output-on-failure --timeout 900
bash scripts/docs.sh # API reference of include/qtune/, doxygen warnings are errors
# qtune as a package: install, examples/api out of tree, both examples run.
bash scripts/test_install.sh
# Sanitizer build + fuzz smoke (issue 13; each prints its duration). Opt-in with
# QTUNE_CI_ROBUSTNESS=1 until both have been run clean and timed on 2 cores.
if [ "${QTUNE_CI_ROBUSTNESS:-0}" = 1 ]; then bash scripts/ci_robustness.sh; fi
