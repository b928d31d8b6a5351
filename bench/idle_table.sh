#!/bin/bash
# idle_table.sh [QTUNE]: the README's issue-12 performance table in one run (~8 min idle),
# for the idle machine. From the repository root:
#
#   bash bench/idle_table.sh build/qtune | tee /tmp/idle_table.md
#
# Prints markdown:
#   1. qtune / ONNX Runtime 1.30 (../shared/peers ort_bench) on the same files, 1 and 2 threads:
#      FP32 YOLOX-Nano, UltraFace RFB-320, ResNet-50, MobileNetV2; their ORT-style QDQ files
#      (make_qdq.py --extend); qtune's tuned YOLOX-Nano INT8 (goals: FP32 <= 0.9, INT8 <= 0.75)
#   2. qtune INT8 / qtune FP32 speedup: tuned YOLOX-Nano (goal >= 2.5x at 1 thread) and
#      qtune's INT8 ResNet-50 (goal >= 3.5x)
# Every cell is the smallest of ROUNDS (3) medians; qtune and ORT (or FP32 and INT8) alternate
# round by round so that both see the same machine state. `uptime` before and after: a
# table taken under load is labelled so by its load line.
#
# Inputs live outside the repository, in $BENCH_MODELS (default /work/bench_models);
# `bash bench/make_bench_models.sh build/qtune` makes all of them (its header says how
# each is made). Env: BENCH_MODELS, PEERS, ROUNDS, THREADS.
set -eu
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
Q=${1:-$HERE/build/qtune}
BM=${BENCH_MODELS:-/work/bench_models}
PEERS=${PEERS:-${XDG_CACHE_HOME:-$HOME/.cache}/qtune-peers}
ORT=$PEERS/bin/ort_bench
D=$HERE/../shared/data/models
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-"1 2"}
PY=/usr/bin/python3

FP32=("$D/yolox_nano/yolox_nano.onnx" "$D/ultraface/version-RFB-320.onnx"
      "$BM/peers/resnet50.onnx" "$BM/peers/mobilenet_v2.onnx")
QDQ=("$BM/peers/yolox_nano_ext_qdq.onnx" "$BM/peers/ultraface_rfb320_ext_qdq.onnx"
     "$BM/peers/resnet50_ext_qdq.onnx" "$BM/peers/mobilenet_v2_ext_qdq.onnx")
Y8=$BM/yolox_nano_tuned_int8.onnx
R8=$BM/resnet50_int8.onnx
missing=0
for f in "$Q" "$ORT" "${FP32[@]}" "${QDQ[@]}" "$Y8" "$R8"; do
  [ -e "$f" ] || { echo "idle_table.sh: missing $f (make it with bench/make_bench_models.sh)" >&2; missing=1; }
done
[ $missing = 0 ] || exit 1

# Iterations per measurement: ~1 s of runs for the model's size (qtune times exactly these).
iters() {
  case "$(basename "$1")" in
    resnet50*) echo 40 ;;
    yolox*) echo 80 ;;
    *) echo 250 ;;
  esac
}
json_median() { $PY -c 'import json,sys; print(json.load(sys.stdin)["latency_ms_median"])'; }
qtune_ms() { "$Q" benchmark "$1" --threads "$2" --iterations "$(iters "$1")" --warmup 5 --json 2>/dev/null | json_median; }
ort_ms() { "$ORT" "$1" --threads "$2" --iters "$(iters "$1")" --warmup 5 --min-time 1 --json 2>/dev/null | json_median; }
minf() { $PY -c "print(min($1, $2))"; }
div() { $PY -c "print(f'{$1 / $2:.2f}')"; }
ms() { $PY -c "print(f'{$1:.3g}' if $1 < 10 else f'{$1:.1f}')"; }

# best_of CMD_A FILE_A CMD_B FILE_B THREADS: "a b" = min over ROUNDS of each, alternating.
best_of() {
  local a=1e9 b=1e9 r
  for r in $(seq "$ROUNDS"); do
    a=$(minf "$a" "$($1 "$2" "$5")")
    b=$(minf "$b" "$($3 "$4" "$5")")
  done
  echo "$a $b"
}

# table TITLE COL_A COL_B RATIO_NAME CMD_A CMD_B "FILE_A FILE_B"...: one markdown table, a row per
# pair, per thread count A ms | B ms | A / B.
table() {
  local title=$1 ca=$2 cb=$3 rn=$4 fa=$5 fb=$6 hdr="| model |" sep="|---|" t a b row
  shift 6
  echo "### $title (ms, min of $ROUNDS medians; $rn)"
  echo
  for t in $THREADS; do hdr="$hdr $ca ${t}T | $cb ${t}T | ratio ${t}T |"; sep="$sep---:|---:|---:|"; done
  echo "$hdr"; echo "$sep"
  for pair in "$@"; do
    read -r a b <<<"$pair"
    row="| $(basename "$a") |"
    [ "$a" = "$b" ] || row="| $(basename "$b") vs $(basename "$a") |"
    for t in $THREADS; do
      read -r ma mb <<<"$(best_of "$fa" "$a" "$fb" "$b" "$t")"
      row="$row $(ms "$ma") | $(ms "$mb") | $(div "$ma" "$mb") |"
    done
    echo "$row"
  done
  echo
}

echo "load before: $(uptime)"
echo
pairs=()
for f in "${FP32[@]}" "${QDQ[@]}" "$Y8"; do pairs+=("$f $f"); done
table "qtune vs ONNX Runtime 1.30" qtune ORT "ratio = qtune / ORT" qtune_ms ort_ms "${pairs[@]}"
table "qtune FP32 vs qtune INT8" FP32 INT8 "ratio = FP32 / INT8, the INT8 speedup" qtune_ms qtune_ms \
  "${FP32[0]} $Y8" "${FP32[2]} $R8"
echo "load after: $(uptime)"
