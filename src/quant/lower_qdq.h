#pragma once
// QDQ graph -> int8 kernels. Each rule recognises one pattern around a
// DequantizeLinear/QuantizeLinear pair and rewrites it into a qtune kernel:
//
//   conv:    DQ(x) -> Conv|FusedConv(DQ(w), b) [-> Relu|Clip|...] [-> Add(DQ(s))]
//            [-> Relu] [-> Q]                         =>  qtune:QConv
//   matmul:  DQ(a) -> MatMul|Gemm(DQ(w) const, b) [-> act] [-> Q] => qtune:QMatMul
//   pool:    DQ(x) -> MaxPool -> Q with the same scale/zp        =>  int8 MaxPool
//
// Weights must be constant i8 with zero point 0 (per-tensor or per-channel on
// axis 0); biases may be f32 initializers or DQ(int32 initializer) as ONNX
// Runtime writes them. A pattern that does not fit is left as it is, so the
// graph always keeps running (the QDQ nodes execute as fp32 islands).
#include <string>

#include "ir/graph.h"

namespace qtune::quant {

struct LowerReport {
  int qconv = 0, qmatmul = 0, qpool = 0;
  int removed_nodes = 0;
  std::string summary() const; // "qconv 12, qmatmul 1, qpool 2, removed 70"
};

LowerReport lower_qdq(Graph &graph);

} // namespace qtune::quant
