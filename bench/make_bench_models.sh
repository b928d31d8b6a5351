#!/bin/bash
# make_bench_models.sh [QTUNE]: makes every model file bench/idle_table.sh and
# bench/qdq_vs_ort.sh read, in $BENCH_MODELS (default /work/bench_models; outside
# the repository, ~300 MB). From the repository root, after the build:
#
#   bash bench/make_bench_models.sh build/qtune      # ~10 min, installs torch from apt once
#
#   peers/{resnet50,mobilenet_v2,retinanet_r50}.onnx  ../shared/peers/gen_bench_models.sh
#                                       (random fixed-seed torchvision weights, checked against PyTorch)
#   peers/*_qdq.onnx, peers/*_ext_qdq.onnx  ../shared/peers/qdq_bench.sh (make_qdq.py, as ONNX
#                                       Runtime's quantizer writes them; --extend also quantizes
#                                       Add/Mul/Sigmoid/Concat/pools)
#   resnet50_int8.onnx                  qtune quantize with bench/resnet50_random.yaml
#   yolox_nano_tuned_int8.onnx          qtune tune --config examples/coco/yolox_nano.yaml
# ~/.cache/qtune-peers/models is made a link to $BENCH_MODELS/peers (where the peers scripts write).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
Q=$(realpath "${1:-$HERE/build/qtune}")
BM=${BENCH_MODELS:-/work/bench_models}
PEERS=${PEERS:-${XDG_CACHE_HOME:-$HOME/.cache}/qtune-peers}
P=$HERE/../shared/peers
mkdir -p "$BM/peers" "$PEERS"
if [ -L "$PEERS/models" ]; then
  [ "$(realpath "$PEERS/models")" = "$(realpath "$BM/peers")" ] ||
    { echo "make_bench_models.sh: $PEERS/models points to $(realpath "$PEERS/models"), not $BM/peers" >&2; exit 1; }
else
  [ -e "$PEERS/models" ] && { echo "make_bench_models.sh: $PEERS/models exists and is not a link; move it away" >&2; exit 1; }
  ln -s "$BM/peers" "$PEERS/models"
fi
bash "$P/setup.sh"
echo "== torchvision models (gen_bench_models.sh)"
bash "$P/gen_bench_models.sh" > "$BM/gen_bench_models.log" 2>&1 || { tail -20 "$BM/gen_bench_models.log"; exit 1; }
echo "== ORT-style QDQ files (qdq_bench.sh)"
SKIP_DETAGREE=1 SKIP_LATENCY=1 bash "$P/qdq_bench.sh" > "$BM/qdq_bench.log" 2>&1 || { tail -20 "$BM/qdq_bench.log"; exit 1; }
cd "$HERE"
echo "== qtune INT8 ResNet-50"
"$Q" quantize "$BM/peers/resnet50.onnx" --config bench/resnet50_random.yaml -o "$BM/resnet50_int8.onnx"
echo "== qtune tuned YOLOX-Nano INT8"
"$Q" tune --config examples/coco/yolox_nano.yaml -o "$BM/yolox_nano_tuned_int8.onnx"
ls -la "$BM" "$BM/peers"
