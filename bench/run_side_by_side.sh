#!/bin/bash
# The README's qtune-vs-ONNX-Runtime table (issue 12), on the idle machine:
# FP32 YOLOX-Nano, UltraFace RFB-320, ResNet-50, MobileNetV2; the ORT-style QDQ
# files of the four (make_qdq.py --extend, made by qdq_bench.sh); qtune's own
# int8 YOLOX-Nano. Ratio = qtune / ORT median (min over ROUNDS rounds), 1 and 2
# threads, plus qtune's INT8-vs-FP32 YOLOX speedup at 1 thread.
#
#   bash bench/run_side_by_side.sh [QTUNE_INT8_YOLOX.onnx]
# Needs ../shared/peers/setup.sh (ORT), gen_bench_models.sh (ResNet-50, MobileNetV2)
# and qdq_bench.sh (the *_ext_qdq.onnx files); the int8 YOLOX file defaults to a
# fresh `qtune quantize --config examples/coco/yolox_nano.yaml` (~2 min idle).
set -eu
cd "$(dirname "$0")/.."
Q=${QTUNE:-build/qtune}
SHARED=../shared
PEERS=${PEERS:-${XDG_CACHE_HOME:-$HOME/.cache}/qtune-peers}
M=$PEERS/models
Y8=${1:-/tmp/qtune_yolox_int8.onnx}
if [ ! -f "$Y8" ]; then
  "$Q" quantize $SHARED/data/models/yolox_nano/yolox_nano.onnx \
    --config examples/coco/yolox_nano.yaml -o "$Y8" >/dev/null
fi
echo "load: $(uptime)"
ROUNDS=${ROUNDS:-3} bash $SHARED/peers/side_by_side.sh "$Q" \
  $SHARED/data/models/yolox_nano/yolox_nano.onnx $SHARED/data/models/ultraface/version-RFB-320.onnx \
  "$M/resnet50.onnx" "$M/mobilenet_v2.onnx" \
  "$M/yolox_nano_ext_qdq.onnx" "$M/ultraface_rfb320_ext_qdq.onnx" \
  "$M/resnet50_ext_qdq.onnx" "$M/mobilenet_v2_ext_qdq.onnx" "$Y8"
# qtune INT8 vs qtune FP32 (goal 3), back to back, 1 thread, min of 3 medians.
med() { "$Q" benchmark "$1" --threads 1 --iterations 50 --warmup 5 --json |
  /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["latency_ms_median"])'; }
for pair in "$SHARED/data/models/yolox_nano/yolox_nano.onnx $Y8" \
  "$M/resnet50.onnx ${RESNET_INT8:-}"; do
  set -- $pair
  [ $# -eq 2 ] && [ -f "$2" ] || continue
  f=999999 i=999999
  for r in 1 2 3; do
    f=$(/usr/bin/python3 -c "print(min($f, $(med "$1")))")
    i=$(/usr/bin/python3 -c "print(min($i, $(med "$2")))")
  done
  echo "qtune $(basename "$2") vs $(basename "$1"), 1 thread: FP32 $f ms, INT8 $i ms," \
    "speedup $(/usr/bin/python3 -c "print(round($f/$i, 2))")x"
done
echo "load after: $(uptime)"
