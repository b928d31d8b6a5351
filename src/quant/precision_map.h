#pragma once
// The one answer to "what precision does each quantizable op of this model run
// at, and why", read from the model itself so `qtune inspect`, report.html,
// the tune summary and `tune --json` all say the same (and it works for models
// made by any tool). The precision comes from the graph:
// - int8: a QOperator op (QLinearConv, ConvInteger, ...) or, in a QDQ model, an
//   op fed by at least one DequantizeLinear (its int8 pattern);
// - bf16: an op carrying the bf16 mark of our precision plan (kPrecisionAttr,
//   restored from the model metadata by the ONNX importer);
// - fp32: every other quantizable op.
// Quantizable: what the plan can set (quant/plan.h list_quantizable_nodes: ops
// with an int8 form, minus SiLU / HardSwish gate Muls, which run fused into
// their producer), plus any other op another tool made int8.
// The reason for an op kept out of int8 is the one the quantizer recorded on
// the node (kPrecisionReasonAttr, ir/precision_reason.h; saved as model
// metadata) as "source: text":
//   tuner     - the tuning strategy fell it back;
//   yaml      - the YAML's model_wise / optype_wise / op_wise set it;
//   recipe    - a recipe kept it (first/last conv, depthwise_range_check);
//   quantizer - int8 was planned but impossible (no statistics, no int8 reader,
//               attributes the int8 kernels cannot do, ...);
//   graph     - nothing recorded (another tool's model): "no Q/DQ around it".
// Plus a summary of the Q/DQ nodes.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/precision_reason.h"
#include "quant/plan.h"

namespace qtune::quant {

struct OpPrecision {
  std::string name;
  std::string op_type;
  Precision precision = Precision::fp32;
  std::string source; // "graph" for int8 / unrecorded; tuner / yaml / recipe / quantizer
  std::string reason; // "fed by DequantizeLinear", "no int8 op reads its output", ...
};

struct QdqSummary {
  int64_t quantize_nodes = 0;   // QuantizeLinear
  int64_t dequantize_nodes = 0; // DequantizeLinear
  int64_t dq_of_constants = 0;  // DequantizeLinear of an initializer (weights, biases)
  int64_t dq_of_activations = 0;
  int64_t per_channel = 0;                         // Q/DQ whose scale has more than one element
  std::map<std::string, int64_t> zero_point_types; // "int8" / "uint8" / "int32" -> Q/DQ count
  int64_t qoperator_ops = 0;                       // QLinear* / *Integer ops
  std::map<std::string, int64_t> ops_by_precision; // "int8" / "bf16" / "fp32" -> count
};

// Quantizable ops in graph order with their precision and its reason.
std::vector<OpPrecision> op_precisions(const Graph &g);
// "int8" / "bf16" / "fp32" -> count, and (source -> count) of the ops not int8.
std::map<std::string, int64_t> count_by_precision(const std::vector<OpPrecision> &ops);
std::map<std::string, int64_t> count_by_source(const std::vector<OpPrecision> &ops);
int64_t count_at(const std::vector<OpPrecision> &ops, Precision p);
std::vector<std::string> names_at(const std::vector<OpPrecision> &ops, Precision p);
QdqSummary qdq_summary(const Graph &g, const std::vector<OpPrecision> &ops);
nlohmann::json to_json(const OpPrecision &op);
nlohmann::json to_json(const QdqSummary &s);

} // namespace qtune::quant
