// The seed's TensorFlow Object Detection API tuning flow (LPOT's
// examples/tensorflow/object_detection: infer_detections.py + run_tuning.sh) as a
// C++ program on the public API. Like the seed it reads the user's YAML unchanged
// (it has no dataloaders) and supplies both pieces itself:
//   - q_dataloader: the dataset's images, batch 1, as the graph's uint8
//     image_tensor (own size when the graph resizes internally; TF1 bilinear
//     resize to the input's size when the graph fixes it, as the OD API's
//     fixed_shape_resizer does);
//   - eval_func: runs a candidate on the images, turns num_detections /
//     detection_boxes / detection_scores / detection_classes into COCO
//     detections and returns COCO bbox AP@[.5:.95].
//
//   infer_detections --input-graph frozen_inference_graph.pb --config ssd_resnet50_v1.yaml
//                    --dataset-location coco_val.record --output-model tuned.onnx
//
// --input-graph takes what the YAML's framework loads: a frozen .pb, a checkpoint
// prefix or folder, a SavedModel folder. --dataset-location is a COCO folder
// (annotations/instances_*.json + images) or an OD-API TFRecord. --label-map maps
// model class ids to COCO ids for models not trained on the 90 COCO ids (e.g.
// 1:1,2:17,3:18); only those categories are then scored.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "qtune/qtune.h"

namespace {

struct Args {
  std::string input_graph, config, dataset, output, workspace, calibration;
  std::map<int64_t, int64_t> label_map; // empty: class ids are COCO ids
  size_t limit = 0;
  int64_t max_trials = 0; // 0: the YAML's
};

[[noreturn]] void usage(const char *argv0, const std::string &problem) {
  std::fprintf(stderr,
               "%s\nusage: %s --input-graph MODEL --config YAML --dataset-location DIR|RECORD "
               "--output-model OUT [--calibration-location DIR|RECORD] [--label-map 1:1,2:17] "
               "[--limit N] [--max-trials N] [--workspace DIR]\n",
               problem.c_str(), argv0);
  std::exit(2);
}

std::map<int64_t, int64_t> parse_label_map(const std::string &text) {
  std::map<int64_t, int64_t> m;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    auto colon = item.find(':');
    if (colon == std::string::npos)
      throw qtune::InputError("--label-map: '" + item + "' is not MODEL_ID:COCO_ID");
    m[std::stoll(item.substr(0, colon))] = std::stoll(item.substr(colon + 1));
  }
  return m;
}

Args parse_args(int argc, char **argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (i + 1 >= argc)
      usage(argv[0], "missing value for " + k);
    std::string v = argv[++i];
    if (k == "--input-graph")
      a.input_graph = v;
    else if (k == "--config")
      a.config = v;
    else if (k == "--dataset-location")
      a.dataset = v;
    else if (k == "--calibration-location")
      a.calibration = v;
    else if (k == "--output-model")
      a.output = v;
    else if (k == "--workspace")
      a.workspace = v;
    else if (k == "--label-map")
      a.label_map = parse_label_map(v);
    else if (k == "--limit")
      a.limit = std::stoul(v);
    else if (k == "--max-trials")
      a.max_trials = std::stoll(v);
    else
      usage(argv[0], "unknown option " + k);
  }
  if (a.input_graph.empty() || a.config.empty() || a.dataset.empty() || a.output.empty())
    usage(argv[0], "--input-graph, --config, --dataset-location and --output-model are needed");
  return a;
}

// The image as the graph's input wants it: its own size, or resized to the fixed
// H x W of a [1,H,W,3] input.
qtune::Tensor model_input(const qtune::CocoDetectionSet::Image &img, const qtune::Shape &shape) {
  if (shape.size() == 4 && shape[1] > 0 && shape[2] > 0)
    return qtune::resize_bilinear_tf1(img.pixels, static_cast<int>(shape[1]),
                                      static_cast<int>(shape[2]));
  return img.pixels;
}

// The OD API outputs of one image -> COCO detections in original-image pixels.
class DetectionReader {
public:
  DetectionReader(const std::vector<std::string> &names, std::map<int64_t, int64_t> label_map)
      : label_map_(std::move(label_map)) {
    for (const char *want :
         {"num_detections", "detection_boxes", "detection_scores", "detection_classes"}) {
      size_t i = 0;
      while (i < names.size() && names[i] != want)
        ++i;
      if (i == names.size())
        throw qtune::InputError(std::string("the model has no output '") + want +
                                "' (list the four OD API outputs in the YAML's model.outputs)");
      index_.push_back(i);
    }
  }

  void read(const std::vector<qtune::Tensor> &out, const qtune::CocoDetectionSet::Image &img,
            std::vector<qtune::Detection> &dets) const {
    const qtune::Tensor &num = out[index_[0]], &boxes = out[index_[1]], &scores = out[index_[2]],
                        &classes = out[index_[3]];
    const int64_t n = std::min<int64_t>(static_cast<int64_t>(num.get_f64(0)), scores.numel());
    for (int64_t i = 0; i < n; ++i) {
      int64_t cls = std::llround(classes.get_f64(i));
      if (!label_map_.empty()) {
        auto it = label_map_.find(cls);
        if (it == label_map_.end())
          continue;
        cls = it->second;
      }
      // Boxes are normalised ymin, xmin, ymax, xmax of the image.
      double y0 = boxes.get_f64(4 * i) * img.height, x0 = boxes.get_f64(4 * i + 1) * img.width;
      double y1 = boxes.get_f64(4 * i + 2) * img.height, x1 = boxes.get_f64(4 * i + 3) * img.width;
      dets.push_back({img.id, cls, x0, y0, x1 - x0, y1 - y0, scores.get_f64(i)});
    }
  }

private:
  std::map<int64_t, int64_t> label_map_;
  std::vector<size_t> index_;
};

} // namespace

int main(int argc, char **argv) {
  Args a = parse_args(argc, argv);
  try {
    qtune::Quantization quantizer(a.config);
    quantizer.set_output(a.output);
    if (!a.workspace.empty())
      quantizer.set_workspace(a.workspace);
    if (a.max_trials > 0)
      quantizer.set_max_trials(a.max_trials);
    qtune::Model fp32 = quantizer.load_model(a.input_graph);
    const std::string input = fp32.input_names().at(0);
    const qtune::Shape shape = fp32.input_shape(input);

    qtune::CocoDetectionSet eval_set(a.dataset, a.limit);
    qtune::CocoDetectionSet calib_set(a.calibration.empty() ? a.dataset : a.calibration, a.limit);
    std::printf("model %s: input %s %s; evaluation on %s (%zu images)\n", a.input_graph.c_str(),
                input.c_str(), qtune::shape_str(shape).c_str(), eval_set.describe().c_str(),
                eval_set.size());

    // q_dataloader: the seed's generator over the dataset's images.
    qtune::CallbackDataLoader q_dataloader([&](size_t i) -> std::optional<qtune::Batch> {
      if (i >= calib_set.size())
        return std::nullopt;
      return qtune::Batch{{input, model_input(calib_set.image(i), shape)}};
    });

    // eval_func: the seed's accuracy_check.
    std::vector<int64_t> categories;
    for (const auto &[model_id, coco_id] : a.label_map)
      categories.push_back(coco_id);
    DetectionReader reader(fp32.output_names(), a.label_map);
    qtune::EvalFunc eval_func = [&](qtune::Model &m) {
      auto t0 = std::chrono::steady_clock::now();
      std::vector<qtune::Detection> dets;
      for (size_t i = 0; i < eval_set.size(); ++i) {
        qtune::CocoDetectionSet::Image img = eval_set.image(i);
        reader.read(m.run({{input, model_input(img, shape)}}), img, dets);
      }
      double ap = eval_set.evaluate(dets, categories)[0];
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf("  COCO bbox AP %.6f (%zu images, %zu detections, %.1f s)\n", ap, eval_set.size(),
                  dets.size(), s);
      std::fflush(stdout);
      return ap;
    };

    qtune::Model best = quantizer(fp32, q_dataloader, eval_func);
    const qtune::TuneSummary &r = quantizer.summary();
    std::printf("FP32 AP %.6f -> INT8 AP %.6f (relative loss %.4f, goal %s); ops int8/bf16/fp32 "
                "%d/%d/%d; %lld trials; latency %.3f -> %.3f ms\nsaved %s\n",
                r.baseline_accuracy, r.best_accuracy, r.relative_loss,
                r.goal_met ? "met" : "not met", r.ops_int8, r.ops_bf16, r.ops_fp32,
                static_cast<long long>(r.trials), r.baseline_latency_ms, r.best_latency_ms,
                r.output.c_str());
    return r.goal_met ? 0 : 3;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "infer_detections: error: %s\n", e.what());
    return 1;
  }
}
