#pragma once
// The cheap sensitivity ranking's one graph: the FP32 graph with a
// qtune:QuantSwitch (runtime/kernels/quant_switch.cpp) in front of every input
// of every ranked op, carrying the quantization that op gets in the QDQ graph
// (activation scale / zero point, dequantized int8 weight, int32 bias). The
// graph input `selector` (i64 scalar) picks the op that is quantized: -1 none
// (exactly FP32), k the op with id k alone, -2 all of them. So ranking N ops
// is one graph build and one executor, run N + 1 times per batch, instead of N
// quantize + lower + kernel-preparation rounds.
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/graph.h"
#include "qtune/tensor.h"

namespace qtune::quant {

struct SwitchGraph {
  Graph graph;
  std::string selector;         // graph input name
  std::vector<std::string> ops; // op id -> node name (ops with at least one switch)
};

// `qdq`: quantize_graph(fp32, stats, plan) with the `ops` at int8 (their node
// names are those of `fp32`). Ops not int8 in `qdq` get no switch.
SwitchGraph build_switch_graph(const Graph &fp32, const Graph &qdq,
                               const std::vector<std::string> &ops);

using InputBatch = std::unordered_map<std::string, Tensor>;

// Damage of each op of `sg` alone, in `sg.ops` order: the sum over the model
// outputs of |out - out_fp32|^2 / |out_fp32|^2, averaged over `batches`. The
// graph is optimized (fusions) and prepared once; (ops + 1) runs per batch.
std::vector<double> score_ops_alone(SwitchGraph sg, const std::vector<InputBatch> &batches);

} // namespace qtune::quant
