#pragma once
// Recipe `bias_correction` (data-driven, per output channel). Quantization
// shifts the mean of a conv's output: rounding and clipping of its int8 input
// are not zero-mean (a channel living in a few levels of a wide per-tensor
// scale rounds systematically one way), nor are rounded weights. One run of the
// QDQ graph (fake quantization) over calibration batches gives, for every int8
// conv, the per-channel means of its input before quantization (x) and after
// (DQ(Q(x))); the expected output shift of that conv alone is then
//   delta[m] = sum_{c,k} Wq[m,c,k] E[DQ(Q(x))_c] - W[m,c,k] E[x_c]
// (linear in the means, padding ignored) and is subtracted from its int32 bias.
// Each conv is corrected for its own error given the inputs it really gets in
// the quantized model, so correcting all convs at once does not count an
// upstream shift twice. fast_bias_correction (quant/qdq_emit.cpp) is the
// data-free special case: weight error only, FP32 input means.
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/graph.h"
#include "qtune/tensor.h"

namespace qtune::quant {

struct BiasCorrectionReport {
  int convs = 0;             // convs whose bias was shifted
  double mean_abs_shift = 0; // mean |delta| over their channels
};

// `qdq` = quantize_graph(fp32, ...): same node names. Convs without an int32
// DQ bias, or whose input or weight is not DQ-fed, are left alone.
BiasCorrectionReport
correct_biases(Graph &qdq, const Graph &fp32,
               const std::vector<std::unordered_map<std::string, Tensor>> &batches);

} // namespace qtune::quant
