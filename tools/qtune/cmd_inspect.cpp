// `qtune inspect MODEL [--json]`: what a model takes and gives, which ops it
// uses, how many parameters and roughly how much compute (FLOPs = 2 x MACs of
// Conv/ConvTranspose/Gemm/MatMul, symbolic dims counted as 1); for a quantized
// model also each quantizable op's precision and a Q/DQ summary
// (quant/precision_map.h).
#include <cstdio>
#include <fmt/format.h>
#include <map>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "frontends/model_loader.h"
#include "quant/precision_map.h"

namespace qtune::cli {

namespace {

std::string dims_str(const ValueInfo &v) {
  if (!v.has_shape)
    return "?";
  std::vector<std::string> parts;
  for (const Dim &d : v.dims)
    parts.push_back(d.known() ? std::to_string(d.value) : (d.symbol.empty() ? "?" : d.symbol));
  return fmt::format("[{}]", fmt::join(parts, ","));
}

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

nlohmann::json value_json(const ValueInfo &v) {
  nlohmann::json shape = nlohmann::json::array();
  for (const Dim &d : v.dims)
    shape.push_back(d.known() ? nlohmann::json(d.value)
                              : nlohmann::json(d.symbol.empty() ? "?" : d.symbol));
  return {{"name", v.name},
          {"dtype", std::string(dtype_name(v.dtype))},
          {"shape", v.has_shape ? shape : nlohmann::json(nullptr)}};
}

// Precisions and Q/DQ counts, printed only when the model is quantized (has any
// int8 or bf16 op) so FP32 models read as before.
void print_precisions(const std::vector<quant::OpPrecision> &ops, const quant::QdqSummary &s) {
  std::printf("precision (quantizable ops):");
  for (const auto &[p, count] : s.ops_by_precision)
    std::printf(" %s %lld", p.c_str(), static_cast<long long>(count));
  std::printf("\n");
  for (const auto &op : ops)
    std::printf("  %-5s %-16s %s  (%s)\n", quant::precision_name(op.precision), op.op_type.c_str(),
                op.name.c_str(), op.evidence.c_str());
  std::printf("Q/DQ: %lld QuantizeLinear, %lld DequantizeLinear (%lld of constants, %lld of "
              "activations), %lld per-channel, %lld QOperator ops; types:",
              static_cast<long long>(s.quantize_nodes), static_cast<long long>(s.dequantize_nodes),
              static_cast<long long>(s.dq_of_constants),
              static_cast<long long>(s.dq_of_activations), static_cast<long long>(s.per_channel),
              static_cast<long long>(s.qoperator_ops));
  for (const auto &[t, count] : s.zero_point_types)
    std::printf(" %s %lld", t.c_str(), static_cast<long long>(count));
  std::printf("\n");
}

int inspect(const std::string &path, bool json) {
  Graph g = load_model(path);
  const std::vector<quant::OpPrecision> precisions = quant::op_precisions(g);
  const quant::QdqSummary qdq = quant::qdq_summary(g, precisions);
  const bool quantized = qdq.ops_by_precision.count("int8") || qdq.ops_by_precision.count("bf16");
  std::map<std::string, int64_t> ops;
  int64_t macs = 0;
  bool macs_complete = true;
  for (const auto &n : g.nodes) {
    ops[(n.domain.empty() ? "" : n.domain + ":") + n.op_type]++;
    int64_t m = node_macs(g, n);
    if (m < 0)
      macs_complete = false;
    else
      macs += m;
  }
  int64_t params = 0;
  for (const auto &[k, t] : g.initializers)
    params += t.numel();
  if (json) {
    nlohmann::json j;
    j["model"] = path;
    j["opset"] = g.opset;
    j["inputs"] = nlohmann::json::array();
    for (const auto &v : g.inputs)
      j["inputs"].push_back(value_json(v));
    j["outputs"] = nlohmann::json::array();
    for (const auto &v : g.outputs)
      j["outputs"].push_back(value_json(v));
    j["ops"] = ops;
    j["nodes"] = g.nodes.size();
    j["parameters"] = params;
    j["flops"] = 2 * macs;
    j["flops_complete"] = macs_complete;
    j["precisions"] = nlohmann::json::array();
    for (const auto &op : precisions)
      j["precisions"].push_back(quant::to_json(op));
    j["qdq"] = quant::to_json(qdq);
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("model: %s\nopset: %lld\n", path.c_str(), static_cast<long long>(g.opset));
  std::printf("inputs:\n");
  for (const auto &v : g.inputs)
    std::printf("  %s %s %s\n", v.name.c_str(), std::string(dtype_name(v.dtype)).c_str(),
                dims_str(v).c_str());
  std::printf("outputs:\n");
  for (const auto &v : g.outputs)
    std::printf("  %s %s %s\n", v.name.c_str(), std::string(dtype_name(v.dtype)).c_str(),
                dims_str(v).c_str());
  std::printf("nodes: %zu\nops:\n", g.nodes.size());
  for (const auto &[op, count] : ops)
    std::printf("  %-24s %lld\n", op.c_str(), static_cast<long long>(count));
  std::printf("parameters: %lld\n", static_cast<long long>(params));
  std::printf("flops: %.4g G%s\n", 2.0 * static_cast<double>(macs) / 1e9,
              macs_complete ? "" : " (lower bound: some shapes unknown)");
  if (quantized)
    print_precisions(precisions, qdq);
  return 0;
}

} // namespace

Command add_inspect_command(CLI::App &app) {
  auto *sub = app.add_subcommand("inspect",
                                 "Show a model's inputs, outputs, ops, parameters and FLOPs; for a "
                                 "quantized model each op's precision and a Q/DQ summary");
  auto path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  sub->add_option("MODEL", *path, "ONNX model file")->required();
  sub->add_flag("--json", *json, "Print one JSON object");
  return {sub, [path, json] { return inspect(*path, *json); }};
}

} // namespace qtune::cli
