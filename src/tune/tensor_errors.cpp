#include "tune/tensor_errors.h"

#include <cmath>
#include <fmt/format.h>

#include "qtune/error.h"
#include "tune/evaluator.h"
#include "tune/model_backend.h"

namespace qtune::tune {

std::vector<quant::Inputs> config_samples(const Config &c, const Graph &fp32, size_t n) {
  const bool calib = c.quantization.calibration.dataloader.present();
  const DataloaderConfig &dl =
      calib ? c.quantization.calibration.dataloader : c.accuracy.dataloader;
  if (!dl.present())
    throw InputError(c.file + ": no quantization.calibration.dataloader (nor "
                              "evaluation.accuracy.dataloader) to take samples from");
  if (fp32.inputs.size() != 1)
    throw UnsupportedError(fmt::format("{}: the model has {} inputs; samples from a dataloader "
                                       "feed one",
                                       c.model.path, fp32.inputs.size()));
  const char *where =
      calib ? "quantization.calibration.dataloader" : "evaluation.accuracy.dataloader";
  BatchSource src(dl, where, fp32.inputs[0].name, fp32.inputs[0].dtype);
  std::vector<quant::Inputs> out;
  src.for_each(
      n, [&](const Inputs &in, const std::vector<data::PreparedSample> &) { out.push_back(in); });
  if (out.empty())
    throw InputError(c.file + ": " + where + " gave no samples");
  return out;
}

quant::CompareResult compare_model_files(const Config &c, const std::string &fp32_path,
                                         const std::string &quant_path, size_t samples,
                                         int threads) {
  auto fp32 = load_model_file(fp32_path, load_options(c.model));
  auto quant = load_model_file(quant_path, load_options(c.model));
  return quant::compare_models(*fp32, *quant, config_samples(c, *fp32, samples), threads);
}

namespace {

std::string db(double v) {
  return std::isfinite(v) ? fmt::format("{:.2f}", v) : "inf";
}

} // namespace

std::string tensor_error_table(const quant::CompareResult &r, size_t max_rows) {
  std::string s = fmt::format("{:<48} {:>9} {:>10} {:>10} {:>10}  {}\n", "tensor (FP32 name)",
                              "SQNR dB", "rel L2", "max |d|", "elements", "matched as");
  size_t shown = 0;
  for (const auto &e : r.rows) {
    if (max_rows && shown++ >= max_rows)
      break;
    s += fmt::format("{:<48} {:>9} {:>10.4g} {:>10.4g} {:>10}  {}\n", e.name, db(e.sqnr_db),
                     e.rel_l2, e.max_abs, e.numel, e.quantized ? "Q/DQ " + e.matched : "same name");
  }
  s += fmt::format("{} tensors compared on {} samples", r.rows.size(), r.samples);
  if (max_rows && r.rows.size() > max_rows)
    s += fmt::format(" ({} shown, worst first)", max_rows);
  s += "\n";
  for (const auto &note : r.skipped)
    s += "skipped " + note + "\n";
  return s;
}

} // namespace qtune::tune
