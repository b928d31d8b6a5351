#pragma once
// The activations a Conv / Gemm / MatMul kernel applies to its own output (the
// qtune:Fused* `activation` + `activation_params` contract in
// docs/ARCHITECTURE.md). One matcher for the FP32 fusion pass and the int8
// lowering, so both fuse the same activations with the same parameters.
#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace qtune {

struct FusableActivation {
  std::string name; // ONNX op type: Relu, LeakyRelu, Clip, Sigmoid, HardSigmoid, HardSwish, Tanh
  std::vector<float> params; // LeakyRelu alpha; HardSigmoid alpha, beta; Clip lo, hi
};

// `a` as a fusable activation of its input 0, or nullopt (other ops, other
// domains, a Clip whose bounds are not constants).
std::optional<FusableActivation> fusable_activation(const Graph &g, const Node &a);

} // namespace qtune
