#pragma once
// What the strategies need from the world: the quantizable ops, a full
// accuracy evaluation of a plan, its objective (latency or size), and a cheap
// per-op damage estimate. The real backend quantizes ONNX graphs and runs the
// executor; tests use a fake one.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "metrics/sample_results.h"
#include "quant/precision_map.h"
#include "tune/config.h"
#include "tune/plan.h"

namespace qtune::tune {

// What evaluate_batch() found for one plan.
struct PlanResult {
  double accuracy = 0;
  double objective = 0;
  double seconds = 0;                            // wall time of this plan's evaluation
  std::optional<metrics::SampleResults> samples; // when the evaluation keeps them
};

class TuningBackend {
public:
  virtual ~TuningBackend() = default;

  // Quantizable ops in topological order.
  virtual std::vector<TuneOp> quantizable_ops() = 0;
  // Model-wise options the backend implements (used where the YAML gives none).
  virtual OpOptions supported_options() = 0;
  // Full evaluation on the evaluation set; plan == nullptr means FP32.
  virtual double evaluate(const TunePlan *plan) = 0;
  // Per-sample results of the last evaluate() (for the bootstrap interval), or
  // null when the evaluation does not keep them (e.g. a user's eval_func).
  virtual const metrics::SampleResults *sample_results() { return nullptr; }
  // Whether evaluate() keeps per-sample results (so a baseline cached without
  // them is evaluated again).
  virtual bool keeps_sample_results() const { return false; }
  // How many plans evaluate_batch() evaluates at once (under mpirun: rank
  // groups, one plan each); 1 = one after another.
  virtual int parallel_trials() const { return 1; }
  // Accuracy and objective (`kind`) of independent plans, concurrently where
  // the backend can; results in the plans' order. Default: one after another.
  virtual std::vector<PlanResult> evaluate_batch(const std::vector<TunePlan> &plans,
                                                 const std::string &kind);
  // Objective, lower is better: latency in ms ("performance") or bytes ("modelsize").
  virtual double objective(const TunePlan *plan, const std::string &kind) = 0;
  // Latency in ms of each plan (nullptr: FP32) measured interleaved, round by
  // round, so that load changes hit all alike (tune/latency.h): the final
  // FP32-vs-best speedup comes from one such measurement. Default: three
  // rounds of objective() per plan in turn, the smallest of each plan's.
  virtual std::vector<double> interleaved_latency(const std::vector<const TunePlan *> &plans);
  // Damage each int8 op of `plan` does, measured cheaply on a small subset
  // (larger = more harmful). Ops not at int8 may be absent.
  virtual std::map<std::string, double> op_damage(const TunePlan &plan) = 0;
  // Most OpenMP threads the backend's inference ran with so far (evaluation and
  // latency; Executor::threads_used), 0 when it ran none or cannot tell.
  virtual int inference_threads() const { return 0; }
  // Writes the model for `plan` (nullptr: FP32) to `path`.
  virtual void save(const TunePlan *plan, const std::string &path) = 0;
  // Each quantizable op of the model save() wrote for `plan` at `path`: its
  // precision and why, as `qtune inspect` reads the file (quant/precision_map.h).
  virtual std::vector<quant::OpPrecision> saved_precisions(const TunePlan &plan,
                                                           const std::string &path) = 0;
  // Identifies model + evaluation data + metric, for the baseline cache and history.
  virtual std::string context_key() = 0;
  // Bytes of the serialized model for `plan` (nullptr: FP32).
  virtual int64_t model_bytes(const TunePlan *plan) = 0;
  // `op_wise` re-keyed by the op names its (user, e.g. TensorFlow) names mean,
  // with one note or warning line per name that was not an exact op name
  // (quant/op_names.h). Default: names kept as they are, a warning for each that
  // is no quantizable op.
  virtual std::map<std::string, OpOptions>
  resolve_op_wise(const std::map<std::string, OpOptions> &op_wise,
                  std::vector<std::string> &messages);
};

} // namespace qtune::tune
