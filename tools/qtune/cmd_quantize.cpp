// `qtune quantize MODEL --config X.yaml -o OUT.onnx`: one-shot post-training
// quantization without tuning (tune::quantize_model): calibration on the YAML's
// quantization.calibration dataloader, the plan from the first choice of each
// option and the recipes, the QDQ model written as ONNX (opset 13+).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "tune/config.h"
#include "tune/quantize_model.h"

namespace qtune::cli {

namespace {

struct QuantizeArgs {
  std::string config;
  tune::QuantizeModelOptions o;
  bool json = false;
};

// "[#####     ] 50/100 calibration" on stderr, redrawn in place.
void draw_progress(size_t done, size_t total) {
  const int width = 30;
  int filled = total ? static_cast<int>(width * done / total) : width;
  std::fprintf(stderr, "\r[%s%s] %zu/%zu calibration", std::string(filled, '#').c_str(),
               std::string(width - filled, ' ').c_str(), done, total);
  if (done == total)
    std::fprintf(stderr, "\n");
  std::fflush(stderr);
}

int run_quantize(QuantizeArgs a) {
  a.o.progress = draw_progress;
  tune::QuantizeModelResult r = tune::quantize_model(tune::load_config(a.config), a.o);
  for (const auto &m : r.messages)
    std::fprintf(stderr, "qtune: %s\n", m.c_str());
  if (a.json) {
    nlohmann::json fb = nlohmann::json::object();
    for (const auto &[k, v] : r.report.fallback_reason)
      fb[k] = v;
    nlohmann::json j = {{"model", r.model},
                        {"output", a.o.output},
                        {"int8", r.report.int8},
                        {"bf16", r.report.bf16},
                        {"fp32", r.report.fp32},
                        {"calibration_samples", r.calibration_samples},
                        {"calibration_seconds", r.calibration_seconds},
                        {"quantize_seconds", r.quantize_seconds},
                        {"plan", r.plan.to_json()},
                        {"fallback", fb}};
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("%s -> %s: %s (calibration %.1f s on %lld samples, quantization %.3f s)\n",
              r.model.c_str(), a.o.output.c_str(), r.report.summary().c_str(),
              r.calibration_seconds, static_cast<long long>(r.calibration_samples),
              r.quantize_seconds);
  for (const auto &[k, v] : r.report.fallback_reason)
    std::printf("  kept fp32: %s (%s)\n", k.c_str(), v.c_str());
  return 0;
}

} // namespace

Command add_quantize_command(CLI::App &app) {
  auto *sub = app.add_subcommand("quantize", "One-shot calibration + INT8 quantization (QDQ ONNX)");
  auto a = std::make_shared<QuantizeArgs>();
  tune::QuantizeModelOptions &o = a->o;
  sub->add_option("model", o.model, "FP32 model (overrides model.path)");
  sub->add_option("--config,-c", a->config, "LPOT YAML with the quantization section")->required();
  sub->add_option("--output,-o", o.output, "QDQ ONNX model to write")->required();
  sub->add_option("--threads", o.threads, "inference threads for calibration (0: all cores)");
  sub->add_option("--sampling-size", o.sampling_size, "calibration samples (overrides the YAML)");
  sub->add_option("--save-stats", o.save_stats, "write calibration statistics (JSON)");
  sub->add_option("--load-stats", o.load_stats, "reuse saved statistics instead of calibrating");
  sub->add_flag("--json", a->json, "print one JSON object");
  return {sub, [a] { return run_quantize(*a); }};
}

} // namespace qtune::cli
