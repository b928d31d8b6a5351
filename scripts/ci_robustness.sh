#!/usr/bin/env bash
# Issue 13's CI steps after the Release suite: the ASan+UBSan build with the
# parser-facing tests (scripts/sanitize.sh) and a libFuzzer smoke run of every
# fuzz target on its seed corpus (scripts/fuzz.sh, QTUNE_FUZZ_SMOKE_SECONDS
# each, default 15). Each step prints its wall time.
#   QTUNE_CI_ROBUSTNESS=1 bash scripts/test.sh   # the suite, then both
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)
bash scripts/sanitize.sh
t1=$(date +%s)
echo "ci: sanitizer step $((t1 - t0)) s"
bash scripts/fuzz.sh "${QTUNE_FUZZ_SMOKE_SECONDS:-15}"
echo "ci: fuzz smoke step $(($(date +%s) - t1)) s"
