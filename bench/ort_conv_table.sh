#!/bin/bash
# ort_conv_table.sh QTUNE MODEL [THREADS] [ROUNDS] [RUNS]: qtune beside ONNX Runtime conv by
# conv (markdown). Each side is profiled ROUNDS times (default 3), alternating, RUNS runs each
# (default 30; ORT: its own profiler, bench/ort/ort_profile.cpp; qtune: `benchmark --profile
# --json`), and every node keeps its smallest per-run time over the rounds, so both sides see
# the same machine states. ORT names a conv it runs in NCHWc by the last output of the chain it
# fused (Conv -> Relu / Add -> Relu) plus `_nchwc`; bench/ort_conv_table.py maps that back to
# the ONNX Conv node, which is the name qtune's FusedConv keeps. Benchmarks only.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
Q=${1:?QTUNE}; M=${2:?MODEL}; T=${3:-1}; R=${4:-3}; N=${5:-30}
PEERS=${PEERS:-${XDG_CACHE_HOME:-$HOME/.cache}/qtune-peers}
BIN=$PEERS/bin/ort_profile
[ -x "$BIN" ] || { echo "ort_conv_table.sh: run bench/ort_profile.sh once (it builds $BIN)" >&2; exit 1; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
for r in $(seq "$R"); do
  mkdir -p "$W/ort$r"
  (cd "$W/ort$r" && "$BIN" "$M" "$T" "$N" ort > /dev/null)
  "$Q" benchmark "$M" --threads "$T" --iterations "$N" --warmup 5 --profile --json > "$W/qtune$r.json"
done
/usr/bin/python3 "$HERE/bench/ort_conv_table.py" "$M" "$W"/ort*/ort_*.json -- "$W"/qtune*.json
