#!/bin/bash
# The seed's run_tuning.sh for qtune: tunes a TensorFlow Object Detection API
# model with the seed's YAML through infer_detections (the C++ program here).
#
#   bash examples/tf_object_detection/run_tuning.sh --topology=ssd_resnet50_v1 \
#       --dataset_location=/path/to/coco_val.record \
#       --input_model=/tmp/ssd_resnet50_v1_fpn_shared_box_predictor_640x640_coco14_sync_2018_07_03/frozen_inference_graph.pb \
#       --output_model=./tensorflow-ssd_resnet50_v1-tune.onnx
#
# --topology picks <topology>.yaml beside this script (or give --config=FILE);
# --input_model may be a frozen .pb or a checkpoint folder. Other --name=value
# options go to infer_detections as --name value (e.g. --label_map=1:1,2:17,3:18,
# --limit=50, --workspace=DIR, --calibration_location=DIR). The build folder is
# ../../build from here unless QTUNE_BUILD names another.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
topology=ssd_resnet50_v1
config= dataset= input_model= output_model=
extra=()
for arg in "$@"; do
  case $arg in
    --topology=*) topology=${arg#*=} ;;
    --config=*) config=${arg#*=} ;;
    --dataset_location=*) dataset=${arg#*=} ;;
    --input_model=*) input_model=${arg#*=} ;;
    --output_model=*) output_model=${arg#*=} ;;
    --*=*) name=${arg%%=*}; extra+=("${name//_/-}" "${arg#*=}") ;;
    *) echo "run_tuning.sh: unexpected argument '$arg' (expected --name=value)" >&2; exit 2 ;;
  esac
done
config=${config:-$here/$topology.yaml}
bin=${QTUNE_BUILD:-$here/../../build}/examples/tf_object_detection/infer_detections
if [ ! -x "$bin" ]; then
  echo "run_tuning.sh: $bin not found; build it: cmake --build build --target infer_detections" >&2
  exit 2
fi
exec "$bin" --input-graph "$input_model" --config "$config" --dataset-location "$dataset" \
  --output-model "$output_model" ${extra[@]+"${extra[@]}"}
