#pragma once
// QDQ graph -> int8 kernels. Each rule (one file each in quant/lowering/,
// listed in lowering/rule_list.h) recognises one pattern around a
// DequantizeLinear/QuantizeLinear pair and rewrites it into a qtune kernel:
//
//   conv:    DQ(x) -> Conv|FusedConv(DQ(w), b) [-> Relu|Clip|...] [-> Add(DQ(s))]
//            [-> Relu] [-> Q]                               =>  qtune:QConv
//   qlinear_conv, qlinear_matmul: QLinearConv / QLinearMatMul (constant s8 weights, zero point 0)
//            => qtune:QConv / qtune:QMatMul
//   residual_add: QConv -> Q -> DQ -> Add(DQ(s)) [-> act] -> Q   =>  QConv with sum
//            (the int8 Add quantize_graph writes; operand shapes must be known
//            equal from value_info)
//   matmul:  DQ(a) -> MatMul|Gemm|FusedMatMul|FusedGemm(DQ(w) constant 2-D, b)
//            [-> act] [-> Q]                                =>  qtune:QMatMul
//            (Gemm only with transA=0, alpha=beta=1 and a per-column bias;
//            A may have any rank, its leading dims fold into M)
//   maxpool: DQ(x) -> MaxPool -> Q with the same scale/zp    =>  qtune:QMaxPool
//   avgpool: DQ(x) -> AveragePool|GlobalAveragePool -> Q     =>  qtune:QAveragePool
//   passthrough: DQ(x...) -> Concat|Reshape|Flatten|Transpose|Squeeze|
//            Unsqueeze|Slice|Identity -> Q, all with the same scale/zp/type
//                                                   =>  the same op on int8 values
//            (Resize with mode nearest the same way  =>  qtune:QResize)
//   sink_dequantize: DQ(x...) -> data-movement op (not Resize) -> fp32 readers
//                                                   =>  op on int8 values -> DQ
//   (after the rules) Q/DQ left with only initializer inputs   =>  initializer
//
// Weights must be constant i8 with zero point 0 (per-tensor or per output
// channel: axis 0 for Conv and transB Gemm, axis 1 for MatMul / Gemm); biases
// may be f32 initializers or DQ(int32 initializer) as ONNX Runtime writes them.
// Without a trailing Q, conv and matmul write f32. A pattern that does not fit
// is left as it is, so the graph always keeps running (the QDQ nodes execute
// as fp32 islands).
#include <map>
#include <string>

#include "ir/graph.h"

namespace qtune::quant {

struct LowerReport {
  std::map<std::string, int> rules; // by rule name (lowering/rule_list.h): nodes rewritten
  int removed_nodes = 0;
  int folded_constants = 0; // Q/DQ nodes of constants turned into initializers
  int count(const std::string &rule) const;
  // "conv 12, residual_add 4, maxpool 2, passthrough 3, removed 70, constant Q/DQ folded 2"
  std::string summary() const;
};

LowerReport lower_qdq(Graph &graph);

} // namespace qtune::quant
