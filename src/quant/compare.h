#pragma once
// Per-tensor error of a quantized model against its FP32 original on the same
// inputs (what ONNX Runtime's qdq_loss_debug gives Python users), for models
// made by any tool. Tensors are matched by name:
// - a QDQ model's activation QuantizeLinear(X) -> DequantizeLinear -> X':
//   X' is compared with the FP32 model's X (the error the int8 tensor carries,
//   including everything upstream), and the Q's range is kept;
// - any other float tensor both graphs produce under the same name (fp32 ops,
//   model outputs) is compared as is.
// The quantized graph runs as written (Q/DQ executed as ops), so the numbers
// are those of the QDQ arithmetic, not of a particular int8 kernel.
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/graph.h"
#include "qtune/tensor.h"

namespace qtune::quant {

struct TensorError {
  std::string name;      // the FP32 tensor's name
  std::string matched;   // the quantized model's tensor compared with it
  bool quantized = true; // matched through Q/DQ (false: same name, float in both)
  int64_t numel = 0;     // per sample
  double sqnr_db = 0;    // 10 log10(sum x^2 / sum (x - x')^2); +inf when equal
  double rel_l2 = 0;     // ||x - x'|| / ||x||
  double max_abs = 0;    // max |x - x'|
  // FP32 values of the first sample: range and a histogram over [hist_lo, hist_hi].
  float fp32_min = 0, fp32_max = 0;
  double hist_lo = 0, hist_hi = 0;
  std::vector<int64_t> histogram;
  // The int8 grid's representable range (Q scale and zero point); NaN when none.
  double q_lo = std::numeric_limits<double>::quiet_NaN();
  double q_hi = std::numeric_limits<double>::quiet_NaN();
};

struct CompareResult {
  std::vector<TensorError> rows;    // worst (lowest SQNR) first
  int64_t samples = 0;              // batch items over all input sets
  std::vector<std::string> skipped; // "name: shapes differ ..." notes
};

using Inputs = std::unordered_map<std::string, Tensor>;

// Runs both graphs on each input set and accumulates the errors over them.
// `histogram_bins` 0 skips the histograms.
CompareResult compare_models(const Graph &fp32, const Graph &quantized,
                             const std::vector<Inputs> &inputs, int threads,
                             int histogram_bins = 32);

nlohmann::json to_json(const TensorError &e);
nlohmann::json to_json(const CompareResult &r);

} // namespace qtune::quant
