#pragma once
// The YAML metric (evaluation.accuracy.metric): LPOT 1.x's names plus qtune's
// label-free fidelity metrics, checked at load so that every name that parses
// also runs. The fidelity metrics score a candidate against the FP32 model's
// own outputs on the evaluation images (no labels or annotations used):
//   FidelityCOCOmAP: {score_threshold: 0.3}  COCO mAP of the candidate's
//       detections with the FP32 model's detections (score >= threshold) as
//       ground truth; needs a detection decoder (postprocess). FP32 scores ~1.
//   FidelityTop1: {}        share of samples whose top-1 class equals FP32's.
//   FidelityRelativeL2: {}  sqrt(sum |out - fp32|^2 / sum |fp32|^2) over all
//       outputs and samples (lower is better; SQNR in dB = -20 log10 of it).
// LPOT's MSE / RMSE / MAE compare outputs with labels by default; the datasets
// qtune reads carry class or box labels only, so they run with
// `compare_label: false` (LPOT's switch: compare with the FP32 outputs) and are
// refused otherwise. `Loss`: the model's first output is a loss; the metric is
// its mean over samples (LPOT: sum of predictions / samples).
#include <string>
#include <vector>
#include <yaml-cpp/yaml.h>

namespace qtune::tune {

struct Config;

enum class MetricKind {
  topk,
  accuracy,
  coco_map,
  mse,
  rmse,
  mae,
  loss,
  fidelity_coco_map,
  fidelity_top1,
  fidelity_relative_l2
};

struct MetricSpec {
  MetricKind kind = MetricKind::topk;
  std::string name;             // as in the YAML
  int k = 1;                    // topk
  double score_threshold = 0.3; // FidelityCOCOmAP: FP32 detections kept as ground truth
  bool higher_is_better = true; // the metric's own direction
  bool uses_fp32 = false;       // scored against the FP32 model's outputs
  // The FP32 model scores 0 against itself (MSE..., FidelityRelativeL2), so
  // only an absolute criterion means anything.
  bool perfect_is_zero = false;
};

// Every name evaluation.accuracy.metric accepts.
const std::vector<std::string> &metric_names();

// Reads the one-entry metric mapping; InputError "<file>:<line>:<col>: ..." on
// parameters that cannot run.
MetricSpec read_metric_spec(const YAML::Node &metric, const std::string &file);

// Checks the metric against tuning.accuracy_criterion and sets the tuning
// direction from the metric when the YAML does not give higher_is_better.
// `criterion` is the YAML's tuning.accuracy_criterion node (may be undefined).
void apply_metric_to_tuning(const YAML::Node &metric, const YAML::Node &criterion, Config &c);

} // namespace qtune::tune
