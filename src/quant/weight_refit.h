#pragma once
// Recipe `weight_refit` (qtune's; AdaQuant-style layer reconstruction, closed
// form). Bias correction matches the mean of a conv's output; this matches
// the output itself. For every int8 conv the weights and bias are refitted by
// least squares so that, on the inputs the quantized model really gives it
// (DQ(Q(x)) after every quantized op upstream), the conv reproduces the FP32
// model's conv output (W x_fp32 + b) as closely as a linear map can:
//   w' = argmin sum || w' [DQ(Q(x_q)); 1] - w [x_fp32; 1] ||^2 + lambda ||w' - w||^2
// over calibration positions (im2col patches, per group), then w' is rounded
// to int8 (new scales where the weights have per-channel scales) and the bias
// re-solved for the rounded weights (exact mean matching). Unlike bias correction this also repairs
// error that arrives from upstream, so convs are refitted in stages: a stage holds convs none of
// which feeds another, and measures their inputs with every earlier stage
// already refitted (one FP32 and one QDQ run over the inputs per stage).
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/graph.h"
#include "qtune/tensor.h"

namespace qtune::quant {

struct WeightRefitReport {
  int convs = 0;      // convs refitted
  int skipped = 0;    // int8 convs left alone (shared or non-4D weights, too large a patch
                      // or statistics, too few sampled positions)
  size_t samples = 0; // calibration inputs used
  int stages = 0;     // sequential stages (the conv depth of the graph)
  // Sum over refitted convs of the squared error against the FP32 conv
  // output on the calibration positions, relative to the output's energy:
  // before (as quantized) and after the refit (rounded weights).
  double error_before = 0, error_after = 0;
  std::string summary() const;
};

// The defaults are the best of the variants measured on YOLOX-Nano (README
// "Post-training quantization recipes"): a weaker ridge (1e-3) and 8 inputs
// overfitted the 13x13 convs (676 positions for 257 unknowns).
struct WeightRefitOptions {
  // Calibration inputs used (each stage runs the FP32 and the QDQ graph on them).
  size_t max_batches = 16;
  // Ridge towards the FP32 weights, relative to the mean input energy per tap.
  double ridge = 0.1;
  // A conv is refitted only with at least this many sampled positions per unknown.
  double min_positions_per_unknown = 8;
  // Multiply-adds of statistics per conv and calibration batch, at most:
  // positions are subsampled (evenly, offset per batch) beyond it.
  double work_per_input = 2e7;
};

// `qdq` = quantize_graph(fp32, ...) (after any other recipe): same node names.
WeightRefitReport refit_weights(Graph &qdq, const Graph &fp32,
                                const std::vector<std::unordered_map<std::string, Tensor>> &batches,
                                const WeightRefitOptions &options = {});

} // namespace qtune::quant
