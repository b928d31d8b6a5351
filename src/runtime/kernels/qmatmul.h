#pragma once
// The parameter contract of qtune:QMatMul, shared by the lowering rules that
// write it (quant/lowering/matmul.cpp, qlinear.cpp) and the kernel (qmatmul.cpp).
#include <vector>

#include "ir/graph.h"
#include "runtime/kernels/int8_util.h"

namespace qtune {

struct QMatMulParams {
  int8::InputParams a;         // a_scale required
  std::vector<float> w_scales; // required: one, or one per output column N
  bool trans_b = false;        // W stored [N, K]
  int8::OutputParams y;        // y_dtype required; y_scale required for int8
  int8::FusedActivation activation;

  // Throws InputError naming the node when a required attribute is missing.
  static QMatMulParams from(const Node &node);
  void write(Node &node) const;
};

} // namespace qtune
