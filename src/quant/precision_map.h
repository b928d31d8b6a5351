#pragma once
// What precision each quantizable op of a loaded model runs at, read from the
// graph itself (so it works for models made by any tool):
// - int8: a QOperator op (QLinearConv, ConvInteger, ...) or, in a QDQ model, an
//   op fed by at least one DequantizeLinear (its int8 pattern);
// - bf16: an op carrying the bf16 mark of our precision plan (kPrecisionAttr,
//   restored from the model metadata by the ONNX importer);
// - fp32: every other op that has an int8 form (quant/op_descriptor.h).
// Plus a summary of the Q/DQ nodes (used by `qtune inspect` and the report).
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "quant/plan.h"

namespace qtune::quant {

struct OpPrecision {
  std::string name;
  std::string op_type;
  Precision precision = Precision::fp32;
  std::string evidence; // "fed by DequantizeLinear", "QOperator op", "bf16 mark", "no Q/DQ"
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

// Quantizable ops in graph order with their precision.
std::vector<OpPrecision> op_precisions(const Graph &g);
QdqSummary qdq_summary(const Graph &g, const std::vector<OpPrecision> &ops);
nlohmann::json to_json(const OpPrecision &op);
nlohmann::json to_json(const QdqSummary &s);

} // namespace qtune::quant
