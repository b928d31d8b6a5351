#!/bin/bash
# qdq_vs_ort.sh [QTUNE]: the issue-12 goal-2 numbers on an idle machine, one command.
#   1. the QDQ files: ORT-style (../shared/peers/make_qdq.py --extend) for YOLOX-Nano, UltraFace
#      RFB-320, ResNet-50, MobileNetV2 (needs ../shared/peers/setup.sh + gen_bench_models.sh),
#      and qtune's own YOLOX-Nano INT8 (qtune quantize with examples/coco/yolox_nano.yaml)
#   2. ../shared/peers/side_by_side.sh on them: qtune vs ONNX Runtime, 1 and 2 threads,
#      ROUNDS rounds, min of medians (ratio = qtune / ORT, goal <= 0.75)
#   3. the lowering counts and per-op profile of each QDQ file (qtune benchmark --profile)
#   4. bench_lut (LUT SiLU / 256x256 Add vs the fp32 ops between Q/DQ they replace)
#   5. output agreement on a QOperator model (make_qoperator_model.py: QLinearConv, QLinearSigmoid,
#      QLinearMul, QLinearAdd, QLinearConcat, QLinearGlobalAveragePool): qtune vs ORT
#      (measured 2026-12-02: 16 of 16 outputs equal, max abs err 0)
# Prints `uptime` before and after: numbers taken under load are noise.
set -eu
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QTUNE=${1:-$HERE/build/qtune}
PEERS=${PEERS:-$HOME/.cache/qtune-peers}; M=$PEERS/models; D=$HERE/../shared/data
PY=/usr/bin/python3
mkdir -p "$M"
uptime
if [ ! -f "$M/yolox_nano_ext_qdq.onnx" ] || [ ! -f "$M/ultraface_rfb320_ext_qdq.onnx" ]; then
  mkdir -p "$PEERS/qdq/img"
  CAL=$(ls "$D"/coco/train2017_128/train2017/*.jpg | sort | head -n 16)
  # shellcheck disable=SC2086
  YCAL=$($PY "$D/../peers/prep_images.py" --kind yolox "$PEERS/qdq/img" $CAL)
  # shellcheck disable=SC2086
  UCAL=$($PY "$D/../peers/prep_images.py" --kind ultraface "$PEERS/qdq/img" $CAL)
  $PY "$D/../peers/make_qdq.py" "$D/models/yolox_nano/yolox_nano.onnx" "$M/yolox_nano_ext_qdq.onnx" --calib "images=$YCAL" --extend --quiet
  $PY "$D/../peers/make_qdq.py" "$D/models/ultraface/version-RFB-320.onnx" "$M/ultraface_rfb320_ext_qdq.onnx" --calib "input=$UCAL" --extend --quiet
fi
for m in resnet50 mobilenet_v2; do
  [ -f "$M/${m}_ext_qdq.onnx" ] || $PY "$D/../peers/make_qdq.py" "$M/$m.onnx" "$M/${m}_ext_qdq.onnx" --random 16 --range 0,1 --extend --quiet
done
OWN=$PEERS/models/yolox_nano_qtune_int8.onnx
[ -f "$OWN" ] || (cd "$HERE" && "$QTUNE" quantize "$D/models/yolox_nano/yolox_nano.onnx" --config examples/coco/yolox_nano.yaml -o "$OWN" >/dev/null)
FILES=("$M/yolox_nano_ext_qdq.onnx" "$M/ultraface_rfb320_ext_qdq.onnx" "$M/resnet50_ext_qdq.onnx" "$M/mobilenet_v2_ext_qdq.onnx" "$OWN")
ROUNDS=${ROUNDS:-3} bash "$D/../peers/side_by_side.sh" "$QTUNE" "${FILES[@]}"
for f in "${FILES[@]}"; do
  echo "== $(basename "$f")"; "$QTUNE" benchmark "$f" --threads 1 --iterations 30 --rounds 3 --profile | sed -n '2,22p'
done
[ -x "$HERE/build/bench/bench_lut" ] && "$HERE/build/bench/bench_lut" --benchmark_min_time=0.5
Q=$(mktemp -d)
$PY "$HERE/bench/make_qoperator_model.py" "$Q/qop.onnx" "$Q/x.f32"
"$PEERS/bin/ort_bench" "$Q/qop.onnx" --input "x=$Q/x.f32" --iters 1 --warmup 0 --min-time 0 --dump-dir "$Q/ort" >/dev/null 2>&1
"$QTUNE" run "$Q/qop.onnx" --input "x=$Q/x.f32" --output-dir "$Q/qtune" >/dev/null
echo "QOperator model, qtune vs ORT: $($PY "$D/../peers/compare_raw.py" "$Q/qtune/y.f32" "$Q/ort/y.raw")"
uptime
