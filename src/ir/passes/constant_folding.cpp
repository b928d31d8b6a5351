// Constant folding: a node whose inputs are all initializers is evaluated once
// (by the runtime's kernels through the evaluator) and replaced by its outputs.
#include <fmt/format.h>
#include <set>
#include <string_view>

#include "ir/passes/pass.h"
#include "ir/passes/pass_util.h"
#include "qtune/error.h"

namespace qtune {

namespace {
// Never folded: random ops, and Q/DQ pairs the quantizer and int8 lowering must see.
const std::set<std::string> kKeep = {
    "QuantizeLinear",    "DequantizeLinear", "RandomNormal", "RandomUniform", "RandomNormalLike",
    "RandomUniformLike", "Multinomial",      "If",           "Loop",          "Scan"};

bool foldable(const Graph &g, const Node &n) {
  if (!n.domain.empty() || kKeep.count(n.op_type))
    return false;
  for (const auto &in : n.inputs)
    if (!in.empty() && !g.is_initializer(in))
      return false;
  for (const auto &o : n.outputs)
    if (g.is_graph_output(o))
      return false; // graph outputs stay node outputs
  return true;
}
} // namespace

bool fold_constants(Graph &g, const ConstantEvaluator &eval) {
  if (!eval)
    return false;
  std::vector<bool> dead(g.nodes.size(), false);
  bool changed = false;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node &n = g.nodes[i];
    if (!foldable(g, n))
      continue;
    std::vector<Tensor> inputs;
    for (const auto &in : n.inputs)
      inputs.push_back(in.empty() ? Tensor() : *g.initializer(in));
    std::vector<Tensor> outputs;
    try {
      outputs = eval(n, inputs);
    } catch (const UnsupportedError &) {
      continue; // left for the runtime, which reports it when the model runs
    } catch (const InputError &e) {
      if (std::string_view(e.what()).find(n.name) != std::string_view::npos)
        throw;
      throw InputError(
          fmt::format("{}{}: {}", g.source.empty() ? "" : g.source + ": ", n.describe(), e.what()));
    }
    for (size_t k = 0; k < n.outputs.size() && k < outputs.size(); ++k)
      if (!n.outputs[k].empty())
        g.initializers[n.outputs[k]] = std::move(outputs[k]);
    dead[i] = true;
    changed = true;
  }
  passes::erase_nodes(g, dead);
  return changed;
}

} // namespace qtune
