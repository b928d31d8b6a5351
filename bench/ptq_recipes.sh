#!/usr/bin/env bash
# Reproduces the README tables of "Post-training quantization recipes":
#   1. plain `qtune quantize` of a model with each recipe variant (calibrated once,
#      statistics reused; a variant that rewrites the FP32 graph calibrates its own),
#      COCO AP of the written model on val2017_tiny and val2017_241 against FP32;
#   2. (TUNE=1) `qtune tune` on one set, the tuned model measured on the other.
# Results are cached per variant under $OUT (delete a .json to re-run it), so an
# unchanged configuration is never evaluated twice. Every run is single-threaded
# (the machine is shared); timings printed by qtune are then under load.
#
#   bash bench/ptq_recipes.sh yolox                       # recipe table, YOLOX-Nano
#   bash bench/ptq_recipes.sh nanodet                     # recipe table, NanoDet-m 320
#   TUNE=1 bash bench/ptq_recipes.sh yolox                # + both tuning directions
#   VARIANTS="default clip" bash bench/ptq_recipes.sh yolox
#   TUNE=1 TUNE_DIRS=big TUNE_YAML_BIG=my_241.yaml bash bench/ptq_recipes.sh nanodet
set -euo pipefail
cd "$(dirname "$0")/.."
QTUNE=${QTUNE:-build/qtune}
MODEL=${1:-yolox}
OUT=${OUT:-/tmp/qtune_ptq_recipes/$MODEL}
mkdir -p "$OUT"

case "$MODEL" in
yolox)
  TINY=examples/coco/yolox_nano.yaml
  BIG=examples/coco/yolox_nano_241.yaml
  ALL_VARIANTS="none bias dwcheck default fork_off no_concat_prop clip clip_nobias last_fp32 refit"
  ;;
nanodet)
  TINY=examples/coco/nanodet_m_320.yaml
  BIG=$OUT/nanodet_m_320_241.yaml
  sed -e 's|coco/val2017_tiny|coco/val2017_241|' -e 's|workspace/nanodet_m_320|workspace/nanodet_m_320_241|' \
    "$TINY" >"$BIG"
  ALL_VARIANTS="none default fork_off cle cle_clip clip refit"
  ;;
*)
  echo "usage: $0 yolox|nanodet" >&2
  exit 1
  ;;
esac
VARIANTS=${VARIANTS:-$ALL_VARIANTS}

# Recipe overrides of a variant, "key=value" words.
overrides() {
  case "$1" in
  none) echo "bias_correction=false depthwise_range_check=false" ;;
  bias) echo "bias_correction=true depthwise_range_check=false" ;;
  dwcheck) echo "bias_correction=false depthwise_range_check=true" ;;
  default) echo "" ;;
  fork_off) echo "concat_fork_own_scale=false" ;;
  no_concat_prop) echo "scale_propagation_concat=false" ;;
  clip) echo "consumer_error_clipping=true" ;;
  clip_nobias) echo "consumer_error_clipping=true bias_correction=false" ;;
  last_fp32) echo "last_conv_or_matmul_quantization=false" ;;
  cle) echo "cross_layer_equalization=true" ;;
  cle_clip) echo "cross_layer_equalization=true consumer_error_clipping=true" ;;
  refit) echo "weight_refit=true" ;;
  *)
    echo "unknown variant $1" >&2
    exit 1
    ;;
  esac
}

# $1 YAML, $2 output YAML, rest key=value: set each key under quantization.recipes.
with_recipes() {
  local src=$1 dst=$2
  shift 2
  cp "$src" "$dst"
  grep -q "^  recipes:$" "$dst" || sed -i "s|^evaluation:$|  recipes:\n    bias_correction: true\n\nevaluation:|" "$dst"
  for kv in "$@"; do
    local k=${kv%%=*} v=${kv#*=}
    if grep -q "^    $k:" "$dst"; then
      sed -i "s|^    $k:.*|    $k: $v|" "$dst"
    else
      sed -i "s|^  recipes:$|  recipes:\n    $k: $v|" "$dst"
    fi
  done
}

# AP of model $2 under evaluation YAML $1, cached in $3.
ap() {
  local yaml=$1 model=$2 cache=$3
  if [ ! -s "$cache" ]; then
    "$QTUNE" evaluate --config "$yaml" ${model:+--model "$model"} --threads 1 --json >"$cache.tmp"
    mv "$cache.tmp" "$cache"
  fi
  python3 -c 'import json, sys; print("%.4f" % json.load(open(sys.argv[1]))["stats"][0])' "$cache"
}

loss() { awk -v f="$1" -v q="$2" 'BEGIN { printf "loss %.1f%%", 100 * (f - q) / f }'; }

FP_TINY=$(ap "$TINY" "" "$OUT/fp32_tiny.json")
FP_BIG=$(ap "$BIG" "" "$OUT/fp32_241.json")
echo "| recipes | AP val2017_tiny (80) | AP val2017_241 (241) | quantize summary |"
echo "|---|---|---|---|"
echo "| FP32 | $FP_TINY | $FP_BIG | |"
for v in $VARIANTS; do
  yaml=$OUT/$v.yaml
  # shellcheck disable=SC2046
  with_recipes "$TINY" "$yaml" $(overrides "$v")
  stats=$OUT/stats.json
  case "$v" in cle*) stats=$OUT/stats_cle.json ;; esac # equalized graph: its own statistics
  if [ ! -s "$OUT/$v.onnx" ]; then
    if [ -s "$stats" ]; then load=(--load-stats "$stats"); else load=(--save-stats "$stats"); fi
    "$QTUNE" quantize --config "$yaml" -o "$OUT/$v.onnx" --threads 1 "${load[@]}" >"$OUT/$v.quantize.txt" 2>"$OUT/$v.quantize.err"
  fi
  t=$(ap "$TINY" "$OUT/$v.onnx" "$OUT/$v.tiny.json")
  b=$(ap "$BIG" "$OUT/$v.onnx" "$OUT/$v.241.json")
  msg=$( (grep -oE "int8 [0-9]+ / bf16 [0-9]+ / fp32 [0-9]+" "$OUT/$v.quantize.txt" | head -1
    grep -ioE "(cross-layer equalization|consumer-error clipping|weight refit)[^;]*" "$OUT/$v.quantize.err" || true) |
    tr '\n' ';')
  echo "| $v | $t ($(loss "$FP_TINY" "$t")) | $b ($(loss "$FP_BIG" "$b")) | $msg |"
done

[ "${TUNE:-0}" = 1 ] || exit 0
# Tune on one set, measure the tuned model on the other (held-out) set.
echo
echo "| tuned on -> measured on | FP32 tuned / other | INT8 tuned / other | held-out loss | tune summary |"
echo "|---|---|---|---|---|"
TUNE_YAML_TINY=${TUNE_YAML_TINY:-$TINY}
TUNE_YAML_BIG=${TUNE_YAML_BIG:-$BIG}
for dir in ${TUNE_DIRS:-tiny big}; do
  if [ $dir = tiny ]; then
    y=$TUNE_YAML_TINY other=$BIG fp_t=$FP_TINY fp_o=$FP_BIG name="val2017_tiny -> val2017_241"
  else
    y=$TUNE_YAML_BIG other=$TINY fp_t=$FP_BIG fp_o=$FP_TINY name="val2017_241 -> val2017_tiny"
  fi
  model=$OUT/tuned_$dir.onnx
  if [ ! -s "$model" ]; then
    "$QTUNE" tune --config "$y" --output "$model" --workspace "$OUT/ws_$dir" --threads 1 \
      >"$OUT/tune_$dir.txt" 2>&1 || true
  fi
  [ -s "$model" ] || { echo "| $name | tuning wrote no model (see $OUT/tune_$dir.txt) | | | |"; continue; }
  o=$(ap "$other" "$model" "$OUT/tuned_$dir.other.json")
  t=$(ap "$y" "$model" "$OUT/tuned_$dir.self.json")
  summary=$(grep -E "goal|trials|int8" "$OUT/tune_$dir.txt" | tail -3 | tr '\n' ';' | head -c 300)
  echo "| $name | $fp_t / $fp_o | $t / $o | $(loss "$fp_o" "$o") | $summary |"
done
