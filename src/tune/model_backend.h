#pragma once
// The real tuning backend: an FP32 ONNX graph, calibrated once per model-wise
// choice (statistics cached), quantized per plan into a QDQ graph, lowered to
// int8 kernels and run by the executor. Accuracy comes from the user's
// function or the YAML's evaluation; latency from the executor on one batch.
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "dist/comm.h"
#include "frontends/model_loader.h"
#include "ir/graph.h"
#include "tune/backend.h"
#include "tune/config.h"
#include "tune/evaluator.h"
#include "tune/latency.h"

namespace qtune::tune {

// Scores a candidate (FP32 or quantized+lowered) graph.
using EvalGraphFn = std::function<double(const std::shared_ptr<const Graph> &graph)>;
// Calls `fn` for up to `limit` calibration batches (0: all).
using CalibSource =
    std::function<void(size_t limit, const std::function<void(const Inputs &)> &fn)>;

struct ModelBackendSetup {
  const Config *config = nullptr;
  std::shared_ptr<const Graph> fp32;
  std::string model_path; // hashed into the workspace context
  EvalGraphFn eval;       // empty: the YAML's evaluation section
  // Names `eval` for the workspace cache (FP32 baseline, resumed trials): runs
  // with the same name and model share them. Empty: `eval` cannot be told apart
  // from another function, so nothing it measured is reused by a later run.
  std::string eval_name;
  CalibSource calibration; // empty: the YAML's calibration dataloader
  std::FILE *progress = nullptr;
  int threads = 0; // inference threads of every executor (0: all cores / OMP_NUM_THREADS)
  // Under mpirun, parallel trials: `trial_groups` groups of consecutive ranks
  // (dist::group_of), `group` this rank's; each group evaluates one plan of a
  // batch (TuningBackend::evaluate_batch), sharded over its ranks.
  int trial_groups = 1;
  std::shared_ptr<dist::Comm> group;
};

std::unique_ptr<TuningBackend> make_model_backend(ModelBackendSetup setup);

// Distributed tuning (dist/comm.h): rank 0 runs the tuner on its backend,
// which sends every plan it evaluates to the other ranks (with the calibration
// statistics, once per sampling size); each rank evaluates its shard and rank
// 0 gathers the per-sample results. With rank groups, a batch of independent
// plans goes to all ranks at once and each group's rank 0 sends its plan's
// result to rank 0. The other ranks call serve_evaluations()
// instead of run_tuning(); it returns when rank 0 calls release_workers().
void serve_evaluations(TuningBackend &backend);
void release_workers(TuningBackend &backend); // rank 0; nothing in one process

// Loads any supported model through the frontend seam (frontends/model_loader.h);
// saves ONNX. The bridge for the API and CLI.
std::shared_ptr<Graph> load_model_file(const std::string &path, const LoadOptions &options = {});
// The YAML model section as loader options (framework, inputs, outputs).
LoadOptions load_options(const ModelConfig &model);
void save_model_file(const Graph &graph, const std::string &path);

// Latency options of the YAML's evaluation.performance (warmup, iteration),
// three rounds (tune/latency.h).
LatencyOptions latency_options(const PerformanceConfig &p);

// The input a dataloader feeds: model.inputs[0] when the YAML names inputs, else
// the graph's first input that is not an initializer; with its dtype (undefined
// when the graph does not list it).
struct FedInput {
  std::string name;
  DType dtype = DType::undefined;
};
FedInput fed_input(const Graph &graph, const ModelConfig &model);

} // namespace qtune::tune
