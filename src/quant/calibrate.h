#pragma once
// Calibration: runs the FP32 model over samples with the executor's node hook
// and feeds every f32 tensor (graph inputs and node outputs) to its observer.
// One pass: the histograms grow adaptively (quant/observer.h), so nothing is
// run twice and memory stays bounded whatever the sample count.
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "ir/graph.h"
#include "quant/calibration_stats.h"
#include "runtime/executor.h"

namespace qtune::quant {

class Calibrator {
public:
  Calibrator(std::shared_ptr<const Graph> fp32, ExecutorOptions options = {});
  // Runs one batch; returns the model outputs (so callers may also evaluate).
  std::vector<Tensor> add(const std::unordered_map<std::string, Tensor> &inputs);
  const CalibrationStats &stats() const { return stats_; }
  CalibrationStats &stats() { return stats_; }
  CalibrationStats take() { return std::move(stats_); }

  // A distributed calibration (tune/dist_calibration.h) adds a batch only once
  // it knows the histogram ranges one process would have had then: capture()
  // runs the batch and returns copies of the tensors add() would observe, in
  // order; observe() adds one of them.
  using Observed = std::vector<std::pair<std::string, Tensor>>;
  Observed capture(const std::unordered_map<std::string, Tensor> &inputs);
  void observe(const std::string &name, const Tensor &t);
  // Whether `name` also gets per-channel sums (an input of a conv that bias
  // correction may shift).
  bool tracks_channels(const std::string &name) const { return conv_inputs_.count(name) > 0; }

private:
  std::shared_ptr<const Graph> graph_;
  Executor executor_;
  CalibrationStats stats_;
  std::unordered_set<std::string> conv_inputs_; // get per-channel means (bias correction)
  Observed *capturing_ = nullptr;               // capture(): collect instead of adding
  void see(const std::string &name, const Tensor &t);
};

} // namespace qtune::quant
