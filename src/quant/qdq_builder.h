#pragma once
// The QDQ builder behind quantize_graph (quant/quantize_graph.h), split by
// concern: quantize_graph.cpp decides which nodes go int8 and assembles the
// graph, qdq_scales.cpp gives activation tensors their parameters,
// qdq_emit.cpp writes the Q/DQ nodes and the int8 / int32 initializers.
#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "quant/quantize_graph.h"

namespace qtune::quant::detail {

// Inputs of an int8 node by what they become in the QDQ graph.
struct NodeInputs {
  std::vector<size_t> activations; // input indices quantized with Q/DQ
  int weight = -1;                 // input index of the weight initializer
  int weight_axis = 0;             // its output-channel axis
  int bias = -1;                   // input index of a 1-D bias (compute ops)
};

struct QuantizedWeight {
  Tensor values;              // i8, same shape
  std::vector<float> scales;  // one per channel, or one
  std::vector<float> dequant; // dequantized weights (for bias correction)
};

// Symmetric i8 weights with scales per channel on `axis` (or one scale).
QuantizedWeight quantize_weight(const Tensor &w32, int axis, bool per_channel);

// A pass-through op of several data inputs (Concat): one int8 scale for all.
bool shares_one_scale(const Node &n);

class QdqBuilder {
public:
  QdqBuilder(const Graph &src, const CalibrationStats &stats, const Plan &plan)
      : src_(src), stats_(stats), plan_(plan) {}

  Graph build(QuantizeReport *report);

private:
  const Graph &src_;
  const CalibrationStats &stats_;
  const Plan &plan_;
  Graph out_;
  std::map<std::string, NodeDecision> decisions_;
  std::vector<bool> int8_;                                // per source node
  std::vector<NodeInputs> roles_;                         // per source node
  std::unordered_map<std::string, ActivationParams> act_; // quantized activation tensors
  std::unordered_map<std::string, std::string> dq_name_;  // tensor -> its DQ output
  std::unordered_set<std::string> table_inputs_; // pre-activations the fp32 gate reads as DQ
  std::unordered_map<std::string, TensorStats> const_stats_;
  std::map<std::string, std::string> fallback_; // planned int8, kept fp32: "source: text"
  std::map<std::string, std::string> plan_why_; // not int8 by the plan: "source: text"

  const TensorStats *stats_for(const std::string &v);
  bool classify(size_t i, const Node &n, NodeInputs &in, std::string &why);
  bool concat_ranges_compatible(const Node &n, const NodeInputs &in, std::string &why);
  bool depthwise_input_resolved(const Node &n, std::string &why);
  void drop_passthrough_without_int8_reader();
  void assign_concat_scales();
  void assign_activation_scales();
  void assign_activation_tables();
  void set_from_stats(const std::string &v, const NodeDecision &d);
  void emit_qdq(const std::string &v);
  std::string emit_constant_dq(const std::string &base, Tensor values,
                               const std::vector<float> &scales, bool per_channel, DType zp_type,
                               int64_t axis);
  std::string emit_weight(const Node &n, const NodeInputs &in, const NodeDecision &d,
                          QuantizedWeight &qw);
  std::string emit_bias(const Node &n, const NodeInputs &in, const QuantizedWeight &qw,
                        const NodeDecision &d);
  std::string add_initializer(const std::string &hint, Tensor t);
  std::unordered_set<std::string> names_; // every value/node name in use
  std::string fresh_name(const std::string &hint);
  void add_value_info(const std::string &from, const std::string &to, DType dtype);
  void drop_unused_initializers();
  void record_reason(Node &n) const;
};

} // namespace qtune::quant::detail
