#!/bin/bash
# ort_profile.sh QTUNE MODEL [THREADS] [RUNS]: where the time goes, qtune beside ONNX Runtime,
# per op type (ms per run). ORT's side is its own profiler (bench/ort/ort_profile.cpp, built here
# against ../shared/peers' ORT 1.30 from `bash ../shared/peers/setup.sh`); qtune's is
# `qtune benchmark --profile`. ORT fuses differently (Conv+Sigmoid+Mul -> Conv + QuickGelu, NCHWc
# reorders), so compare the totals of a family (convolutions + their activation) rather than
# names. Benchmarks only.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
Q=${1:?QTUNE}; M=${2:?MODEL}; T=${3:-1}; R=${4:-50}
PEERS=${PEERS:-${XDG_CACHE_HOME:-$HOME/.cache}/qtune-peers}
LIB=$PEERS/ort/node_modules/onnxruntime-node/bin/napi-v6/linux/x64
BIN=$PEERS/bin/ort_profile
SRC=$HERE/bench/ort/ort_profile.cpp
[ -f "$LIB/libonnxruntime.so.1" ] || { echo "ort_profile.sh: run bash ../shared/peers/setup.sh first" >&2; exit 1; }
if [ ! -x "$BIN" ] || [ "$SRC" -nt "$BIN" ]; then
  g++ -O2 -std=c++17 -Wall -I"$HERE/../shared/peers" "$SRC" -o "$BIN" -L"$LIB" -l:libonnxruntime.so.1 -Wl,-rpath,"$LIB"
fi
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
(cd "$W" && "$BIN" "$M" "$T" "$R" ort)
"$Q" benchmark "$M" --threads "$T" --iterations "$R" --warmup 5 --profile > "$W/qtune.txt"
/usr/bin/python3 - "$W" <<'PY'
import collections, glob, json, sys
w = sys.argv[1]
ev = json.load(open(glob.glob(w + "/ort_*.json")[0]))
# The first 5 model runs are warm-ups (ort_profile.cpp): count only what starts
# at or after the 6th, as qtune's profile counts only its timed runs.
model = sorted((e["ts"], e["dur"]) for e in ev if e.get("cat") == "Session" and e["name"] == "model_run")
start = model[5][0] if len(model) > 5 else 0
timed = [d for t, d in model if t >= start]
n = len(timed) or 1
ops, nodes = collections.Counter(), collections.Counter()
for e in ev:
    if e.get("cat") == "Node" and e["name"].endswith("_kernel_time") and e["ts"] >= start:
        ops[e["args"]["op_name"]] += e["dur"]
        nodes[(e["name"][: -len("_kernel_time")], e["args"]["op_name"])] += e["dur"]
print("ONNX Runtime (profiler on): median model_run %.3f ms over %d runs" % (sorted(timed)[len(timed) // 2] / 1000, len(timed)))
total = sum(ops.values()) or 1
for op, us in ops.most_common():
    print("  %-22s %8.3f ms/run  %5.1f%%" % (op, us / 1000 / n, 100 * us / total))
print("  top nodes")
for (name, op), us in nodes.most_common(12):
    print("  %-48s %-12s %8.3f" % (name[-48:], op, us / 1000 / n))
print("qtune:")
print(open(w + "/qtune.txt").read())
PY
