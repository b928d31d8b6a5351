// Tune YOLOX-Nano with your own evaluation loop: qtune's COCO dataloader with
// the LPOT transforms, its YOLOX decoder and its pycocotools-exact COCO mAP,
// put together by hand into the eval_func (the parameters are those of
// examples/coco/yolox_nano.yaml, so `qtune evaluate` with that YAML measures
// the same AP).
//
//   tune_yolox_coco examples/coco/yolox_nano.yaml ../shared/data out.onnx [WORKSPACE]
#include <cstdio>
#include <string>

#include "qtune/qtune.h"

namespace {

// YOLOX: letterbox to the top-left of 416x416 (pad 114), BGR, 0..255, NCHW.
const char *kPreprocess = R"(
Letterbox: {size: [416, 416], pad_value: 114, position: top_left,
            interpolation: bilinear_antialias}
ChannelOrder: {order: BGR}
Transpose: {perm: [2, 0, 1]}
Cast: {dtype: float32}
)";
const char *kDecoder =
    "yolox: {strides: [8, 16, 32], score_threshold: 0.01, nms_iou: 0.65, max_detections: 100}";

// COCO AP@[.5:.95] of `model` on `val`: run every image, decode, score.
double coco_ap(qtune::Model &model, const qtune::Dataset &val, const qtune::Transforms &pre,
               const qtune::DetectionDecoder &decoder) {
  const std::string input = model.input_names().at(0);
  const std::vector<std::string> outputs = model.output_names();
  qtune::ImageDataLoader loader(val, pre, input);
  qtune::CocoMAP map(val);
  while (auto sample = loader.next_sample()) {
    std::vector<qtune::Tensor> out = model.run({{input, sample->input}});
    map.add(decoder.decode(out, outputs, *sample));
  }
  return map.result();
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s CONFIG.yaml SHARED_DATA OUTPUT.onnx [WORKSPACE]\n", argv[0]);
    return 2;
  }
  const std::string data = argv[2];
  try {
    qtune::Transforms pre(kPreprocess);
    qtune::DetectionDecoder yolox(kDecoder);
    qtune::Dataset val = qtune::Dataset::coco_raw(data + "/coco/val2017_tiny");
    qtune::Dataset calib_set = qtune::Dataset::coco_raw(data + "/coco/train2017_128", "train2017",
                                                        "annotations/instances_train2017.json");
    // Calibration never sees the evaluation images.
    qtune::ImageDataLoader calib(calib_set, pre, "images");

    qtune::EvalFunc eval = [&](qtune::Model &m) { return coco_ap(m, val, pre, yolox); };

    qtune::Quantization q(argv[1]);
    q.set_output(argv[3]);
    if (argc > 4)
      q.set_workspace(argv[4]);
    q.set_strategy("basic");
    q.set_max_trials(2); // a short run: the first all-int8 plan usually meets 1%
    // Names this eval_func so a rerun on the workspace reuses its FP32 baseline.
    q.set_eval_name("yolox-val2017_tiny-COCOmAP");
    qtune::Model fp32(data + "/models/yolox_nano/yolox_nano.onnx");
    qtune::Model best = q(fp32, calib, eval);

    const qtune::TuneSummary &s = q.summary();
    std::printf("FP32 AP %.4f -> INT8 AP %.4f (goal %s), ops int8/fp32 %d/%d, %lld trials\n",
                s.baseline_accuracy, s.best_accuracy, s.goal_met ? "met" : "not met", s.ops_int8,
                s.ops_fp32, static_cast<long long>(s.trials));
    // The saved model, as `qtune evaluate` would load it, scored again.
    std::printf("fp32_ap %.9f\nint8_ap %.9f\nsaved %s\n", s.baseline_accuracy,
                coco_ap(best, val, pre, yolox), s.output.c_str());
    return 0;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
