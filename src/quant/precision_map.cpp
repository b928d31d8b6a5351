#include "quant/precision_map.h"

#include <algorithm>
#include <unordered_set>

#include "quant/op_descriptor.h"

namespace qtune::quant {

namespace {

bool is_q(const Node &n) {
  return n.op_type == "QuantizeLinear";
}
bool is_dq(const Node &n) {
  return n.op_type == "DequantizeLinear";
}

// ONNX's integer ops: they consume and produce integer tensors themselves.
bool is_qoperator(const Node &n) {
  if (!n.domain.empty() && n.domain != "ai.onnx" && n.domain != "com.microsoft")
    return false;
  const std::string &t = n.op_type;
  return t.rfind("QLinear", 0) == 0 || t == "ConvInteger" || t == "MatMulInteger" ||
         t == "DynamicQuantizeLinear";
}

bool fed_by_dq(const Graph &g, const Node &n, const std::unordered_map<std::string, size_t> &prod) {
  for (const std::string &in : n.inputs) {
    auto it = prod.find(in);
    if (!in.empty() && it != prod.end() && is_dq(g.nodes[it->second]))
      return true;
  }
  return false;
}

std::string int_type_name(DType t) {
  switch (t) {
  case DType::i8:
    return "int8";
  case DType::u8:
    return "uint8";
  case DType::i32:
    return "int32";
  default:
    return std::string(dtype_name(t));
  }
}

} // namespace

namespace {

// "source: text" as recorded by the quantizer, else the graph's own evidence.
void set_reason(const Node &n, const std::string &fallback, OpPrecision &p) {
  const std::string recorded = n.attr_string(kPrecisionReasonAttr, "");
  const size_t colon = recorded.find(": ");
  if (colon == std::string::npos) {
    p.source = "graph", p.reason = fallback;
    return;
  }
  p.source = recorded.substr(0, colon), p.reason = recorded.substr(colon + 2);
}

} // namespace

std::vector<OpPrecision> op_precisions(const Graph &g) {
  const auto prod = g.producers();
  std::unordered_set<std::string> quantizable;
  for (const QuantizableNode &q : list_quantizable_nodes(g))
    quantizable.insert(q.name);
  std::vector<OpPrecision> out;
  for (const Node &n : g.nodes) {
    if (is_q(n) || is_dq(n) || n.op_type == "DynamicQuantizeLinear")
      continue;
    const bool qop = is_qoperator(n), dq_fed = !qop && find_descriptor(n) && fed_by_dq(g, n, prod);
    if (!qop && !dq_fed && !quantizable.count(n.name))
      continue; // no int8 form (or a SiLU gate): always fp32, not part of the map
    OpPrecision p{n.name, n.op_type, Precision::fp32, "graph", ""};
    if (qop) {
      p.precision = Precision::int8, p.reason = "QOperator op";
    } else if (n.attr_string(kPrecisionAttr, "") == "bf16") {
      p.precision = Precision::bf16;
      set_reason(n, "bf16 mark (qtune.bf16_nodes)", p);
    } else if (dq_fed) {
      p.precision = Precision::int8, p.reason = "fed by DequantizeLinear";
    } else {
      set_reason(n, "no Q/DQ around it", p);
    }
    out.push_back(std::move(p));
  }
  return out;
}

std::map<std::string, int64_t> count_by_precision(const std::vector<OpPrecision> &ops) {
  std::map<std::string, int64_t> out;
  for (const auto &op : ops)
    out[precision_name(op.precision)]++;
  return out;
}

int64_t count_at(const std::vector<OpPrecision> &ops, Precision p) {
  return std::count_if(ops.begin(), ops.end(), [p](const auto &op) { return op.precision == p; });
}

std::vector<std::string> names_at(const std::vector<OpPrecision> &ops, Precision p) {
  std::vector<std::string> out;
  for (const auto &op : ops)
    if (op.precision == p)
      out.push_back(op.name);
  return out;
}

std::map<std::string, int64_t> count_by_source(const std::vector<OpPrecision> &ops) {
  std::map<std::string, int64_t> out;
  for (const auto &op : ops)
    if (op.precision != Precision::int8)
      out[op.source]++;
  return out;
}

QdqSummary qdq_summary(const Graph &g, const std::vector<OpPrecision> &ops) {
  QdqSummary s;
  for (const Node &n : g.nodes) {
    if (is_qoperator(n))
      ++s.qoperator_ops;
    if (!is_q(n) && !is_dq(n))
      continue;
    (is_q(n) ? s.quantize_nodes : s.dequantize_nodes)++;
    if (is_dq(n))
      (g.initializer(n.inputs.at(0)) ? s.dq_of_constants : s.dq_of_activations)++;
    if (n.has_input(1))
      if (const Tensor *scale = g.initializer(n.inputs[1]); scale && scale->numel() > 1)
        ++s.per_channel;
    // The zero point's type is the quantized type; without one, ONNX means uint8
    // (a DQ of a constant then has the constant's type).
    DType qt = DType::u8;
    if (n.has_input(2) && g.initializer(n.inputs[2]))
      qt = g.initializer(n.inputs[2])->dtype();
    else if (is_dq(n) && g.initializer(n.inputs.at(0)))
      qt = g.initializer(n.inputs[0])->dtype();
    const std::string zp_type = int_type_name(qt);
    s.zero_point_types[zp_type]++;
  }
  s.ops_by_precision = count_by_precision(ops);
  return s;
}

nlohmann::json to_json(const OpPrecision &op) {
  return {{"name", op.name},
          {"op_type", op.op_type},
          {"precision", precision_name(op.precision)},
          {"source", op.source},
          {"reason", op.reason}};
}

nlohmann::json to_json(const QdqSummary &s) {
  return {{"quantize_linear", s.quantize_nodes},
          {"dequantize_linear", s.dequantize_nodes},
          {"dequantize_of_constants", s.dq_of_constants},
          {"dequantize_of_activations", s.dq_of_activations},
          {"per_channel", s.per_channel},
          {"zero_point_types", s.zero_point_types},
          {"qoperator_ops", s.qoperator_ops},
          {"ops_by_precision", s.ops_by_precision}};
}

} // namespace qtune::quant
