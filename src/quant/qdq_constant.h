#pragma once
// The f32 value a DequantizeLinear of a constant (int8 weight, int32 bias; per
// tensor or per axis) stands for: what the int8 op really computes with.
#include "ir/graph.h"
#include "qtune/tensor.h"

namespace qtune::quant {

// `dq` reads initializers of `g` (values, scale, optional zero point).
Tensor dequantize_constant(const Node &dq, const Graph &g);

} // namespace qtune::quant
