// `qtune compare FP32_MODEL QUANT_MODEL --config YAML [--html OUT] [--json]`:
// per-tensor error of a quantized model against its FP32 original
// (tune/tensor_errors.h, quant/compare.h).
#include <cstdio>

#include "commands.h"
#include "tune/config.h"
#include "tune/report_html.h"
#include "tune/tensor_errors.h"
#include "tune/workspace.h"

namespace qtune::cli {

namespace {

struct CompareArgs {
  std::string fp32, quant, config, html;
  size_t samples = 4, rows = 30;
  int threads = 0;
  bool json = false;
};

int run_compare(const CompareArgs &a) {
  tune::Config c = tune::load_config(a.config);
  c.model.path = a.fp32;
  quant::CompareResult r = tune::compare_model_files(c, a.fp32, a.quant, a.samples, a.threads);
  if (!a.html.empty())
    tune::write_file_atomic(a.html, tune::compare_html(a.fp32, a.quant, r));
  if (a.json)
    std::printf("%s\n", quant::to_json(r).dump(2).c_str());
  else
    std::printf("%s", tune::tensor_error_table(r, a.rows).c_str());
  return 0;
}

} // namespace

Command add_compare_command(CLI::App &app) {
  auto *sub = app.add_subcommand(
      "compare", "Per-tensor error (SQNR, relative L2) of a quantized model against FP32");
  sub->footer(
      "Tensors are matched by name. In a QDQ model, each activation X that goes through "
      "QuantizeLinear -> DequantizeLinear is compared as the DequantizeLinear output against "
      "the FP32 model's X; every other float tensor both models produce under the same name "
      "(fp32 ops, outputs) is compared directly. Weight DQs and tensors only one model has "
      "are left out. The quantized model runs as written (Q/DQ as ops). Samples come from the "
      "YAML's quantization.calibration dataloader (else evaluation.accuracy's). Rows are "
      "sorted worst (lowest SQNR) first.");
  auto a = std::make_shared<CompareArgs>();
  sub->add_option("FP32_MODEL", a->fp32, "the original model")->required();
  sub->add_option("QUANT_MODEL", a->quant, "the quantized model (QDQ ONNX from any tool)")
      ->required();
  sub->add_option("--config,-c", a->config, "LPOT YAML with a calibration or evaluation dataloader")
      ->required();
  sub->add_option("--samples", a->samples, "samples to run both models on")->capture_default_str();
  sub->add_option("--rows", a->rows, "rows of the text table (0: all)")->capture_default_str();
  sub->add_option("--html", a->html, "also write the table as a self-contained HTML page");
  sub->add_option("--threads", a->threads, "inference threads (0: all cores)");
  sub->add_flag("--json", a->json, "print one JSON object (every tensor)");
  return {sub, [a] { return run_compare(*a); }};
}

} // namespace qtune::cli
