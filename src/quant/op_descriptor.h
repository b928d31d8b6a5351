#pragma once
// One descriptor per quantizable op: what quantize_graph does with its inputs
// and which lowering rule turns its QDQ pattern into an int8 kernel. The
// descriptors are registered by the lowering rule files (quant/lowering/), so
// an op's whole int8 story is its rule file plus its kernel.
#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace qtune::quant {

// What a quantizable op does with its inputs.
enum class QuantRole {
  compute,     // Conv / MatMul / Gemm (+ qtune fused forms): weights and activations
  elementwise, // Add / Mul: both inputs quantized, own output scale
  passthrough, // MaxPool / Reshape / Concat ...: int8 in, int8 out, scale kept
  pooling,     // AveragePool / GlobalAveragePool: int8 in, own output scale
};

struct OpDescriptor {
  OpDescriptor(std::string op, std::optional<QuantRole> role, std::vector<std::string> rules)
      : op(std::move(op)), role(role), rules(std::move(rules)) {}

  std::string op;                // op_key(): "Conv", "qtune:FusedConv"
  std::optional<QuantRole> role; // none: only lowered when a QDQ model has it (QLinearConv)
  // Compute ops: the constant weight input and its output-channel axis.
  int weight = -1;
  int (*weight_axis)(const Node &) = nullptr; // axis 0 when null
  bool weight_optional = false;      // MatMul: a B that is no 2-D f32 initializer is an activation
  int bias = -1;                     // input index of a 1-D bias
  bool bias_optional = false;        // Gemm: a C that is no per-channel bias stays fp32
  bool conv_bias_correction = false; // fast_bias_correction applies (conv weight layout)
  bool all_inputs = false;           // every input is an int8 activation (Concat, Add, Mul)
  // Why a node of this op must stay fp32 (attributes int8 cannot do), else nullptr.
  const char *(*unsupported)(const Node &) = nullptr;
  std::vector<std::string> rules; // lowering rules to try, in order (see lowering/rule_list.h)
};

// "Conv" for the default domain (also "ai.onnx"), "qtune:FusedConv" otherwise.
std::string op_key(const Node &n);

// The descriptor of n's op, or nullptr when n has no int8 form.
const OpDescriptor *find_descriptor(const Node &n);

// The role quantize_graph gives n, or nullopt when the plan cannot set it.
std::optional<QuantRole> quant_role(const Node &n);

} // namespace qtune::quant
