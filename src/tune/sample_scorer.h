#pragma once
// Scores one evaluation run of the YAML metric (tune/metric_config.h) sample by
// sample: while the model runs, add() keeps what each sample contributes (its
// detections, top-1 class, or error against the FP32 outputs); finish() turns
// that into the metric value and metrics::SampleResults for the bootstrap.
// Label-free metrics compare with a reference taken from one FP32 run
// (capture), which can be saved to and loaded from a file so a resumed tuning
// run does not need the FP32 model again.
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "data/coco.h"
#include "data/pipeline.h"
#include "metrics/sample_results.h"
#include "qtune/metric.h"
#include "qtune/tensor.h"
#include "tune/metric_config.h"

namespace qtune::data {
class DetectionDecoder;
}

namespace qtune::tune {

struct ScoredRun {
  double value = 0;
  metrics::SampleResults samples;
  bool has_coco_stats = false;
  std::array<double, 12> coco_stats{};
  std::vector<Detection> detections; // detection metrics: every decoded detection
};

// One process's part of a run: its samples' contributions in sample order
// (FidelityTop1 already compared with the reference). A sharded evaluation
// (dist/comm.h) concatenates the ranks' shards in rank order, which is sample
// order, and finishes on rank 0 exactly as one process would.
struct ScoredShard {
  std::vector<int64_t> image_ids;
  std::vector<Detection> detections; // (Fidelity)COCOmAP
  std::vector<double> num, den;      // additive metrics
  void append(ScoredShard other);
};

class SampleScorer {
public:
  // `ground_truth`: the labelled COCOmAP's annotations (null otherwise);
  // `decoder`: the detection decoder for (Fidelity)COCOmAP (null otherwise).
  SampleScorer(MetricSpec spec, std::unique_ptr<coco::Dataset> ground_truth,
               std::unique_ptr<data::DetectionDecoder> decoder,
               std::vector<std::string> output_names);
  ~SampleScorer();

  const MetricSpec &spec() const { return spec_; }
  bool needs_reference() const { return spec_.uses_fp32 && !has_reference_; }

  // Starts a run; with `capture` the run's outputs become the FP32 reference.
  void begin(bool capture);
  // Sample `row` of a batch of `batch` samples: `outputs` are the batch's outputs.
  void add(const std::vector<Tensor> &outputs, int row, int batch, const data::PreparedSample &s);
  // This process's samples of the run (ends the run's per-sample state).
  ScoredShard take_shard();
  // The metric over `all` samples of the run, in sample order.
  ScoredRun finish(ScoredShard all);
  ScoredRun finish() { return finish(take_shard()); }

  void save_reference(const std::string &path) const;
  bool load_reference(const std::string &path); // false: no usable file

private:
  struct Reference {
    std::vector<int64_t> image_ids;          // in run order
    std::vector<Detection> detections;       // FidelityCOCOmAP: all of FP32's detections
    std::vector<int64_t> top1;               // FidelityTop1
    std::vector<std::vector<float>> outputs; // MSE/RMSE/MAE/FidelityRelativeL2
  };
  ScoredRun finish_coco(ScoredShard all);
  coco::Dataset reference_ground_truth() const;

  MetricSpec spec_;
  std::unique_ptr<coco::Dataset> gt_;
  std::unique_ptr<data::DetectionDecoder> decoder_;
  std::vector<std::string> output_names_;
  bool capture_ = false;
  bool has_reference_ = false;
  Reference ref_;
  // This run.
  size_t index_ = 0;
  std::vector<int64_t> image_ids_;
  std::vector<Detection> detections_;
  std::vector<int64_t> top1_;
  std::vector<double> num_, den_;
};

} // namespace qtune::tune
