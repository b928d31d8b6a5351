// Constant folding: a node whose inputs are all initializers is evaluated once
// (by the runtime's kernels through the evaluator) and replaced by its outputs.
#include <algorithm>
#include <fmt/format.h>
#include <optional>
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

// Shape(x) when x's shape is static (declared inputs, which the executor
// enforces, and ONNX shape inference from them at import) is a constant: torch exports compute
// Reshape targets from it (YOLOX's head: Concat(Slice(Shape(x), 0, 2), [-1])), and folded they let
// passes see the target (fold_head_transpose).
std::optional<Tensor> static_shape(const Graph &g, const Node &n) {
  if (n.op_type != "Shape" || !n.domain.empty() || n.inputs.size() != 1 || n.outputs.size() != 1 ||
      g.is_graph_output(n.outputs[0]))
    return std::nullopt;
  auto s = passes::inferred_shape(g, n.inputs[0]);
  if (!s)
    return std::nullopt;
  const auto rank = static_cast<int64_t>(s->size());
  const auto clamp = [rank](int64_t v) {
    return std::clamp(v < 0 ? v + rank : v, int64_t{0}, rank);
  };
  const int64_t start = clamp(n.attr_int("start", 0)), end = clamp(n.attr_int("end", rank));
  std::vector<int64_t> dims(s->begin() + start, s->begin() + std::max(start, end));
  return Tensor::from_vector<int64_t>({static_cast<int64_t>(dims.size())}, dims);
}

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
    if (auto shape = static_shape(g, n)) {
      g.initializers[n.outputs[0]] = std::move(*shape);
      dead[i] = changed = true;
      continue;
    }
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
