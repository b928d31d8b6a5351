#pragma once
// The seed's entry point:
//
//   qtune::Quantization q("conf.yaml");
//   qtune::Model best = q(model, q_dataloader, eval_func);
//
// q_dataloader gives calibration batches (null: the YAML's calibration
// dataloader); eval_func scores a candidate model, higher is better unless the
// YAML says higher_is_better: false (empty: the YAML's evaluation dataloader and
// metric). Returns the best model found; summary() tells how it went.
#include <cstdio>
#include <functional>
#include <memory>
#include <string>

#include "qtune/dataloader.h"
#include "qtune/model.h"
#include "qtune/tune_summary.h"

namespace qtune {

using EvalFunc = std::function<double(Model &)>;

class Quantization {
public:
  explicit Quantization(const std::string &config_path);
  ~Quantization();

  Model operator()(const Model &model, DataLoader *q_dataloader = nullptr, EvalFunc eval_func = {});
  Model operator()(const Model &model, DataLoader &q_dataloader, EvalFunc eval_func = {}) {
    return (*this)(model, &q_dataloader, std::move(eval_func));
  }

  // Loads a model file the way the YAML's `model` section describes it
  // (framework, inputs, outputs: e.g. a TensorFlow frozen graph or checkpoint
  // fetching num_detections, detection_boxes ...). The seed's
  // `quantizer(args.input_graph, ...)` is `q(q.load_model(path), ...)`.
  Model load_model(const std::string &path) const;

  // Overrides of the YAML (what `qtune tune` flags set).
  void set_output(const std::string &path);
  void set_workspace(const std::string &dir);
  void set_strategy(const std::string &name);
  void set_max_trials(int64_t n);    // tuning.exit_policy.max_trials
  void set_progress(std::FILE *out); // live progress lines; null = quiet (default stderr)
  // Names the eval_func for the workspace cache: later runs on the same model
  // and workspace with the same name reuse its FP32 baseline (and, with
  // resume, its trials). Change the name when the function changes. Without a
  // name nothing an eval_func measured is reused by another run.
  void set_eval_name(const std::string &name);

  const TuneSummary &summary() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace qtune
