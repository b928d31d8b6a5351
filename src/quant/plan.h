#pragma once
// The precision plan: one decision per quantizable node (int8 with its weight and
// activation scheme, bf16, or fp32), set model-wide, per op type (LPOT
// `optype_wise`) and per node name (`op_wise`); later levels override earlier ones.
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/graph.h"
#include "quant/observer.h"
#include "quant/op_descriptor.h"

namespace qtune::quant {

enum class Precision { int8, bf16, fp32 };
const char *precision_name(Precision p);
Precision precision_from_name(const std::string &s); // throws InputError

struct WeightScheme {
  bool per_channel = true; // else per tensor; always s8 symmetric
  bool operator==(const WeightScheme &) const = default;
};

struct ActivationScheme {
  bool asymmetric = true; // u8 asymmetric, else s8 symmetric
  CalibAlgorithm algorithm = CalibAlgorithm::minmax;
  double percentile = 99.99; // for CalibAlgorithm::percentile
  bool operator==(const ActivationScheme &) const = default;
};

struct NodeDecision {
  Precision precision = Precision::int8;
  WeightScheme weight;
  ActivationScheme activation;
  bool operator==(const NodeDecision &) const = default;
};

// A partial override (unset fields inherit from the level below).
struct DecisionOverride {
  std::optional<Precision> precision;
  std::optional<bool> weight_per_channel;
  std::optional<bool> activation_asymmetric;
  std::optional<CalibAlgorithm> activation_algorithm;
  std::optional<double> activation_percentile;
  // Why `precision` is set, as "source: text" (quant/precision_map.h), carried
  // into the quantized model for ops kept out of int8. Not part of the JSON or
  // of plan keys; empty: "yaml: op_wise ..." is assumed.
  std::string reason;
  void apply(NodeDecision &d) const;
  nlohmann::json to_json() const;
  static DecisionOverride from_json(const nlohmann::json &j, const std::string &where);
};

// LPOT graph-optimisation recipes that change how QDQ is inserted.
struct Recipes {
  bool first_conv_or_matmul_quantization = true; // false: first Conv/MatMul/Gemm stays fp32
  bool last_conv_or_matmul_quantization = true;  // false: last Conv/MatMul/Gemm stays fp32
  bool scale_propagation_max_pooling = true;     // MaxPool output reuses its input's scale
  bool scale_propagation_concat = true;          // Concat inputs share the output's scale
  // qtune: with scale_propagation_concat, a Concat input that other ops also
  // read keeps its own scale (the lowered Concat requantises it), so those ops
  // are not quantized at the Concat's wider range.
  bool concat_fork_own_scale = true;
  bool fast_bias_correction = false; // shift conv bias by the mean output change
  // qtune: data-driven per-channel bias correction (quant/bias_correction.h),
  // applied by the callers that hold calibration batches (quantize, tune).
  bool bias_correction = true;
  // qtune: a depthwise conv stays fp32 when one per-tensor scale leaves a
  // quarter of its input channels within a few levels (each output channel
  // sees only its own input channel, so nothing averages the loss out).
  bool depthwise_range_check = true;
  // qtune: scale channels between consecutive convs joined by nothing or a
  // positively homogeneous activation (quant/equalize.h), before calibration.
  bool cross_layer_equalization = false;
  // qtune: activation ranges feeding convs clipped where that lowers the
  // error at the convs' outputs (quant/consumer_clipping.h), after quantization.
  bool consumer_error_clipping = false;
  // qtune: int8 conv weights and biases refitted by least squares to the FP32
  // conv outputs on calibration data (quant/weight_refit.h), after bias correction.
  bool weight_refit = false;
  // qtune: activations that only convs read scaled per channel towards one
  // range, the readers' weights divided back (quant/activation_equalize.h),
  // after calibration.
  bool activation_equalization = false;
  // qtune: an int8 conv's gated activation (x * Sigmoid(x), x * HardSigmoid(x)) gets a Q/DQ on its
  // pre-activation too, so the lowering runs it as a 256-entry table on the
  // conv's requantised output instead of the exact f32 function in the conv's
  // epilogue (quant/qdq_scales.cpp: assign_activation_tables).
  bool activation_table = false;
};

// The recipes of a YAML `quantization.recipes` map (unknown keys, and
// `weight_correction: true` which qtune does not implement, are refused by the
// config reader with their location).
Recipes recipes_from(const std::map<std::string, bool> &yaml);

struct Plan {
  NodeDecision model_wise;
  std::map<std::string, DecisionOverride> optype_wise; // by op type ("Conv")
  std::map<std::string, DecisionOverride> op_wise;     // by node name
  Recipes recipes;

  // The decision for one node (model_wise, then optype_wise, then op_wise).
  NodeDecision decide(const Node &node) const;
  nlohmann::json to_json() const;
  static Plan from_json(const nlohmann::json &j, const std::string &where = "plan");
};

// x * Sigmoid(x) (SiLU / Swish) or x * HardSigmoid(x) (HardSwish) written as a
// Mul: the activation of the op producing x, fused into it at inference time.
// Returns x for such a Mul, else nullopt.
std::optional<std::string>
gated_activation_input(const Node &mul, const Graph &g,
                       const std::unordered_map<std::string, size_t> &producers);

struct QuantizableNode {
  std::string name;
  std::string op_type;
  QuantRole role;
};
// Nodes the plan can set, in graph (topological) order.
std::vector<QuantizableNode> list_quantizable_nodes(const Graph &g);

// Every quantizable node's decision after applying the plan and its recipes.
// `why` (optional) receives, for each node not decided int8, where that came
// from as "source: text" (yaml / tuner / recipe, quant/precision_map.h).
std::map<std::string, NodeDecision> resolve_plan(const Graph &g, const Plan &plan,
                                                 std::map<std::string, std::string> *why = nullptr);

} // namespace qtune::quant
