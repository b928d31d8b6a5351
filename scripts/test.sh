#!/usr/bin/env bash
# README command (b): build and run the whole test suite (GoogleTest via CTest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
ctest --test-dir build -j"$(nproc)" --output-on-failure --timeout 900
bash scripts/docs.sh # API reference of include/qtune/, doxygen warnings are errors
# qtune as a package: install, examples/api out of tree, both examples run.
bash scripts/test_install.sh
# Sanitizer build + fuzz smoke (issue 13; each prints its duration). On by
# default (about 25 of CI's 90 minutes on 2 idle cores, README "Robustness");
# QTUNE_CI_ROBUSTNESS=0 skips them for a quick local run.
if [ "${QTUNE_CI_ROBUSTNESS:-1}" = 1 ]; then bash scripts/ci_robustness.sh; fi
