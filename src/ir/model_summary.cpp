#include "ir/model_summary.h"

#include <fmt/format.h>
#include <optional>
#include <vector>

namespace qtune {

namespace {

// Shape with symbolic dims as 1; empty optional when unknown.
std::optional<Shape> shape_of(const Graph &g, const std::string &v) {
  if (const Tensor *t = g.initializer(v))
    return t->shape();
  const ValueInfo *info = nullptr;
  for (const auto &i : g.inputs)
    if (i.name == v)
      info = &i;
  for (const auto &o : g.outputs)
    if (o.name == v)
      info = &o;
  auto it = g.value_info.find(v);
  if (!info && it != g.value_info.end())
    info = &it->second;
  if (!info || !info->has_shape)
    return std::nullopt;
  Shape s;
  for (const Dim &d : info->dims)
    s.push_back(d.known() ? d.value : 1);
  return s;
}

// Multiply-accumulates of one node, or -1 when shapes are unknown; 0 for other ops.
int64_t node_macs(const Graph &g, const Node &n) {
  bool conv = n.op_type == "Conv" || n.op_type == "FusedConv" || n.op_type == "ConvTranspose";
  bool gemm = n.op_type == "Gemm" || n.op_type == "FusedGemm";
  bool matmul = n.op_type == "MatMul" || n.op_type == "FusedMatMul";
  if (!conv && !gemm && !matmul)
    return 0;
  auto out = shape_of(g, n.outputs.at(0));
  auto a = shape_of(g, n.inputs.at(0));
  auto w = shape_of(g, n.inputs.at(1));
  if (!out || !a || !w || w->empty() || a->empty())
    return -1;
  if (n.op_type == "ConvTranspose") // every input pixel scatters a W[IC, OC/g, k...] block
    return shape_numel(*a) * (shape_numel(*w) / (*w)[0]);
  if (conv)
    return shape_numel(*out) * (shape_numel(*w) / (*w)[0]);
  if (gemm)
    return shape_numel(*out) * (n.attr_int("transA", 0) ? a->front() : a->back());
  return shape_numel(*out) * a->back();
}

} // namespace

ModelSummary summarize_model(const Graph &g) {
  ModelSummary s;
  for (const auto &n : g.nodes) {
    s.ops[(n.domain.empty() ? "" : n.domain + ":") + n.op_type]++;
    int64_t m = node_macs(g, n);
    if (m < 0)
      s.macs_complete = false;
    else
      s.macs += m;
  }
  for (const auto &[k, t] : g.initializers)
    s.parameters += t.numel();
  return s;
}

std::string dims_str(const ValueInfo &v) {
  if (!v.has_shape)
    return "?";
  std::vector<std::string> parts;
  for (const Dim &d : v.dims)
    parts.push_back(d.known() ? std::to_string(d.value) : (d.symbol.empty() ? "?" : d.symbol));
  return fmt::format("[{}]", fmt::join(parts, ","));
}

} // namespace qtune
