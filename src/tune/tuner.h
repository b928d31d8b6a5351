#pragma once
// The tuning loop: FP32 baseline (cached in the workspace), the strategy's
// trials under the exit policy, history, and the best plan saved with its
// deploy.yaml. Independent of how plans are evaluated (TuningBackend).
#include <cstdio>
#include <map>
#include <optional>
#include <string>

#include "tune/backend.h"
#include "tune/config.h"
#include "tune/strategy.h"

namespace qtune::tune {

struct TuneOptions {
  std::FILE *progress = nullptr; // live progress lines; null = quiet
  std::string output;            // model path; "" = <workspace>/<name>_int8.onnx
  int threads = 0;               // inference threads (tune_model's backend; 0: all cores)
  // Under mpirun: rank groups that evaluate independent trials at once (each
  // group shards its trial over its ranks); 1 = every trial on all ranks.
  int trial_groups = 1;
};

struct TuneResult {
  bool goal_met = false;
  double baseline_accuracy = 0;
  double baseline_objective = 0;
  bool has_best = false;
  Trial best;
  double relative_loss = 0;     // (baseline - best) / baseline, sign by higher_is_better
  double bootstrap_seconds = 0; // spent on loss intervals (all trials)
  int64_t trials = 0;
  int64_t resumed_trials = 0;
  int64_t full_evaluations = 0; // accuracy evaluations actually run (baseline included)
  int trial_groups = 1;         // plans evaluated at once (rank groups under mpirun)
  int64_t unused_ahead = 0;     // of those, evaluated ahead but not needed (not trials)
  double wall_s = 0;
  int inference_threads = 0; // TuningBackend::inference_threads() at the end
  // The saved best model's quantizable ops: precision and why (quant/precision_map.h).
  std::vector<quant::OpPrecision> precisions;
  int64_t fp32_bytes = 0;
  int64_t best_bytes = 0;
  std::string output, deploy, history;
  std::string objective_kind;
  std::vector<Trial> history_trials; // this run's trials in order
  std::vector<TuneOp> ops;           // quantizable ops with the precisions allowed (report)
};

TuneResult run_tuning(const Config &config, TuningBackend &backend, const TuneOptions &options);

// Model-wise search space: the YAML's lists where given, else the backend's.
std::vector<QuantChoice> quant_space(const QuantizationConfig &q, const OpOptions &supported);
// Quantizable ops with the precisions the YAML's op_wise / optype_wise allow.
std::vector<TuneOp> constrain_ops(std::vector<TuneOp> ops, const QuantizationConfig &q);
// The tuner's ops: the backend's quantizable ops, constrained by the YAML with
// its op_wise names resolved (`messages` gets the resolver's warnings).
std::vector<TuneOp> tuning_ops(TuningBackend &backend, const QuantizationConfig &q,
                               std::vector<std::string> &messages);

} // namespace qtune::tune
