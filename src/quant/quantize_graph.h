#pragma once
// (FP32 graph, cached calibration statistics, precision plan) -> QDQ graph:
// QuantizeLinear/DequantizeLinear (opset 13) around every int8 node, weights
// stored as int8 initializers with per-channel scales (`axis`), conv/gemm biases
// as int32 with scale s_x * s_w (ONNX Runtime's QDQ form). The lowering pass
// (quant/lower_qdq.h) turns it into int8 kernels; it is also what we export.
#include <map>
#include <string>

#include "ir/graph.h"
#include "quant/calibration_stats.h"
#include "quant/plan.h"

namespace qtune::quant {

struct QuantizeReport {
  int int8 = 0, bf16 = 0, fp32 = 0; // quantizable nodes by final precision
  std::map<std::string, Precision> nodes;
  std::map<std::string, std::string> fallback_reason; // int8 planned but kept fp32
  std::string summary() const;                        // "int8 40 / bf16 0 / fp32 3"
};

// Quantization parameters of one activation tensor.
struct ActivationParams {
  float scale = 1;
  int32_t zero_point = 0;
  bool is_unsigned = true; // u8, else s8
};
ActivationParams activation_params(const TensorStats &s, const ActivationScheme &scheme);
// The int8 parameters of the range [lo, hi] (widened to contain 0 when asymmetric).
ActivationParams range_params(double lo, double hi, bool asymmetric);

Graph quantize_graph(const Graph &fp32, const CalibrationStats &stats, const Plan &plan,
                     QuantizeReport *report = nullptr);

} // namespace qtune::quant
