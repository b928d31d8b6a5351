// `qtune inspect MODEL [--json]`: what a model takes and gives, which ops it
// uses, how many parameters and roughly how much compute (ir/model_summary.h:
// FLOPs = 2 x MACs of Conv/ConvTranspose/Gemm/MatMul); for a quantized
// model also each quantizable op's precision and a Q/DQ summary
// (quant/precision_map.h).
#include <cstdio>
#include <fmt/format.h>
#include <map>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "frontends/model_loader.h"
#include "ir/model_summary.h"
#include "quant/precision_map.h"

namespace qtune::cli {

namespace {

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
  std::string sources;
  for (const auto &[source, count] : quant::count_by_source(ops))
    sources += fmt::format("{}{} {}", sources.empty() ? "" : ", ", count, source);
  std::printf("%s\n", sources.empty() ? "" : (" (not int8 because of: " + sources + ")").c_str());
  for (const auto &op : ops)
    std::printf("  %-5s %-16s %s  (%s)\n", quant::precision_name(op.precision), op.op_type.c_str(),
                op.name.c_str(),
                (op.source == "graph" ? op.reason : op.source + ": " + op.reason).c_str());
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
  const ModelSummary m = summarize_model(g);
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
    j["ops"] = m.ops;
    j["nodes"] = g.nodes.size();
    j["parameters"] = m.parameters;
    j["flops"] = 2 * m.macs;
    j["flops_complete"] = m.macs_complete;
    j["precisions"] = nlohmann::json::array();
    for (const auto &op : precisions)
      j["precisions"].push_back(quant::to_json(op));
    j["qdq"] = quant::to_json(qdq);
    j["not_int8_by_source"] = quant::count_by_source(precisions);
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
  for (const auto &[op, count] : m.ops)
    std::printf("  %-24s %lld\n", op.c_str(), static_cast<long long>(count));
  std::printf("parameters: %lld\n", static_cast<long long>(m.parameters));
  std::printf("flops: %.4g G%s\n", 2.0 * static_cast<double>(m.macs) / 1e9,
              m.macs_complete ? "" : " (lower bound: some shapes unknown)");
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
