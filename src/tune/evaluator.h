#pragma once
// The YAML's built-in evaluation: the accuracy dataloader (data factory), an
// optional detection decoder (postprocess) and the metric (topk / COCOmAP),
// driven over any function that runs the model on one batch. Also turns a
// dataloader section into input batches for calibration and benchmarking.
#include <array>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "data/pipeline.h"
#include "dist/comm.h"
#include "qtune/metric.h"
#include "qtune/tensor.h"
#include "tune/config.h"
#include "tune/sample_scorer.h"

namespace qtune::tune {

// The ground truth a COCOmAP metric scores against: its `anno_path` when given,
// else the evaluation dataset's own (`dataset_gt`, may be null), restricted to
// its `category_ids` (or `override_ids` when not empty). `params` is the
// {anno_path, category_ids ...} mapping (may be null); `file` names the YAML.
coco::Dataset coco_metric_ground_truth(const YAML::Node &params, const coco::Dataset *dataset_gt,
                                       const std::string &file,
                                       const std::vector<int64_t> &override_ids = {});

using Inputs = std::unordered_map<std::string, Tensor>;
using RunFn = std::function<std::vector<Tensor>(const Inputs &)>;

// How one evaluation runs (qtune evaluate's options; the tuner uses the defaults).
struct EvaluationOptions {
  size_t limit = 0;                  // only the first N samples (0: all; COCO ground truth cut too)
  int pipeline_threads = 1;          // decode + preprocess threads
  std::vector<int64_t> category_ids; // COCO mAP over these categories (overrides the YAML's)
};

// What the last evaluation measured.
struct EvaluationResult {
  std::string metric;                  // "COCOmAP" | "topk"
  double value = 0;                    // the metric's result (AP@[.5:.95], top-k accuracy)
  std::array<double, 12> coco_stats{}; // COCOmAP: pycocotools' summarize() numbers
  std::vector<Detection> detections;   // COCOmAP: every decoded detection
  size_t samples = 0;                  // run through the model
  std::vector<std::string> skipped;    // bad images skipped (skip_bad_images), one line each
};
// Preprocessed batches from a dataloader section, fed as `input_name` in the
// input's dtype (`undefined`: the transforms' dtype; u8: 8-bit images as uint8).
class BatchSource {
public:
  BatchSource(const DataloaderConfig &section, const std::string &where,
              const std::string &input_name, DType input_dtype = DType::undefined,
              int pipeline_threads = 1);
  ~BatchSource();
  // Up to `limit` samples (0: all) in batches of the section's batch_size,
  // starting at sample `first` (a rank's shard). fn(inputs, samples-in-batch)
  // is called once per batch. Returns the images skipped as bad (the section's
  // skip_bad_images), one message each.
  using BatchFn = std::function<void(const Inputs &, const std::vector<data::PreparedSample> &)>;
  std::vector<std::string> for_each(size_t limit, const BatchFn &fn, size_t first = 0);
  size_t size() const;
  size_t batch_size() const;
  const data::Dataset &dataset() const;
  std::string describe() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class AccuracyEvaluator {
public:
  // `output_names`: the model's outputs in order (detection decoders find them by name).
  AccuracyEvaluator(const Config &config, const std::string &input_name,
                    std::vector<std::string> output_names, DType input_dtype = DType::undefined,
                    EvaluationOptions options = {});
  ~AccuracyEvaluator();
  // The metric's value; `is_fp32`: `run` is the FP32 model (label-free
  // metrics take their reference from it). Details in last_run(). The
  // evaluation set is sharded over `comm`'s ranks (null: dist::world()); its
  // rank 0 gets the result, the others an empty run.
  double evaluate(const RunFn &run, bool is_fp32 = false, dist::Comm *comm = nullptr);
  // Label-free metrics (metric_config.h): how to run the FP32 model when no
  // reference is at hand, and the file the reference is cached in ("": none).
  void set_reference(RunFn fp32, std::string cache_file);
  bool uses_fp32_reference() const;
  // The last evaluate()'s value, per-sample results, COCO stats, detections.
  const ScoredRun &last_run() const;
  const EvaluationResult &last_result() const; // qtune evaluate's view of last_run()
  std::string describe() const;                // "topk on FashionMNIST ... (10000 samples)"
  bool higher_is_better() const;

private:
  ScoredRun score(const RunFn &run, bool capture, dist::Comm &comm);

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace qtune::tune
