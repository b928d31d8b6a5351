#pragma once
// `qtune quantize` as one library call: one-shot post-training quantization
// without tuning. Calibrates on the YAML's quantization.calibration dataloader,
// builds the plan from the first choice of each model_wise / optype_wise /
// op_wise option and the recipes, and writes the QDQ model.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/graph.h"
#include "quant/plan.h"
#include "quant/quantize_graph.h"
#include "tune/config.h"

namespace qtune::tune {

struct QuantizeModelOptions {
  std::string model;          // replaces model.path
  std::string output;         // the QDQ model written (ONNX)
  int threads = 0;            // calibration inference threads (0: all cores)
  int64_t sampling_size = -1; // calibration samples (-1: the YAML's first sampling_size)
  std::string load_stats;     // reuse these calibration statistics instead of calibrating
  std::string save_stats;     // write the calibration statistics here
  std::function<void(size_t done, size_t total)> progress; // calibration progress (may be empty)
};

struct QuantizeModelResult {
  std::string model; // the input model's path
  quant::Plan plan;
  quant::QuantizeReport report;
  int64_t calibration_samples = 0;
  double calibration_seconds = 0, quantize_seconds = 0;
  std::vector<std::string> messages; // op_wise names that matched nothing exactly, ...
};

QuantizeModelResult quantize_model(Config config, const QuantizeModelOptions &options);

// The YAML's recipes over the quantizer's defaults (unknown keys are config.cpp's
// business: it rejects them).
quant::Recipes recipes_from_config(const QuantizationConfig &q);

// The recipes that rewrite the FP32 graph before calibration
// (cross_layer_equalization; its summary goes to `messages`): `fp32` itself
// when none is on, else a rewritten copy.
std::shared_ptr<const Graph> apply_graph_recipes(std::shared_ptr<const Graph> fp32,
                                                 const quant::Recipes &recipes,
                                                 std::vector<std::string> &messages);

// Whether any of the recipes below is on (the caller then needs calibration inputs).
bool has_qdq_recipes(const quant::Recipes &recipes);

// The recipes that rewrite a QDQ graph from calibration inputs, in order:
// consumer_error_clipping (first kClippingSamples batches), bias_correction, weight_refit.
void apply_qdq_recipes(Graph &qdq, const Graph &fp32, const quant::Recipes &recipes,
                       const std::vector<std::unordered_map<std::string, Tensor>> &batches,
                       std::vector<std::string> &messages);

// quantize_graph and then the QDQ recipes above; with activation_equalization
// on, both work on the equalized FP32 graph and its statistics
// (quant/activation_equalize.h), whose summary goes to `messages`.
Graph quantize_with_recipes(const Graph &fp32, const quant::CalibrationStats &stats,
                            const quant::Plan &plan,
                            const std::vector<std::unordered_map<std::string, Tensor>> &batches,
                            quant::QuantizeReport *report, std::vector<std::string> &messages);

// The quantizer's plan from the first choice of each YAML option block.
quant::Plan plan_from_config(const Config &c);

} // namespace qtune::tune
