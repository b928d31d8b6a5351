// `qtune quantize MODEL --config X.yaml -o OUT.onnx`: one-shot post-training
// quantization without tuning. Calibrates on the YAML's
// quantization.calibration dataloader (sampling_size samples), builds the plan
// from the first choice of each model_wise / optype_wise / op_wise option and
// the recipes, and writes the QDQ model (ONNX, opset 13+).
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "data/dataloader_factory.h"
#include "data/pipeline.h"
#include "qtune/error.h"
#include "quant/calibrate.h"
#include "quant/op_names.h"
#include "quant/quantize_graph.h"
#include "tune/config.h"
#include "tune/model_backend.h"

namespace qtune::cli {

namespace {

struct QuantizeArgs {
  std::string model, config, output, load_stats, save_stats;
  int threads = 0;
  int64_t sampling_size = -1; // -1: from the YAML
  bool json = false;
};

std::string first(const std::vector<std::string> &v) {
  return v.empty() ? "" : v[0];
}

// An LPOT option block (lists of allowed values) -> the override its first
// choices mean. `dtype: fp32` / `bf16` set the precision.
quant::DecisionOverride override_from(const tune::OpOptions &o, const std::string &where) {
  quant::DecisionOverride d;
  const std::string dtype =
      first(o.activation.dtype).empty() ? first(o.weight.dtype) : first(o.activation.dtype);
  if (dtype == "fp32")
    d.precision = quant::Precision::fp32;
  if (dtype == "bf16")
    d.precision = quant::Precision::bf16;
  if (dtype == "int8" || dtype == "uint8")
    d.precision = quant::Precision::int8;
  if (dtype == "uint8")
    d.activation_asymmetric = true;
  if (dtype == "int8" && first(o.activation.scheme).empty())
    d.activation_asymmetric = false;
  if (!first(o.activation.scheme).empty())
    d.activation_asymmetric = first(o.activation.scheme) == "asym";
  if (!first(o.weight.granularity).empty())
    d.weight_per_channel = first(o.weight.granularity) == "per_channel";
  if (!first(o.weight.scheme).empty() && first(o.weight.scheme) != "sym")
    throw UnsupportedError(where + ".weight.scheme: only sym weights are supported");
  if (!first(o.activation.algorithm).empty()) {
    try {
      d.activation_algorithm = quant::calib_algorithm_from_name(first(o.activation.algorithm));
    } catch (const InputError &e) {
      throw InputError(where + ".activation.algorithm: " + e.what());
    }
  }
  return d;
}

quant::Plan plan_from_config(const tune::Config &c) {
  const tune::QuantizationConfig &q = c.quantization;
  quant::Plan plan;
  override_from(q.model_wise, c.file + ": quantization.model_wise").apply(plan.model_wise);
  for (const auto &[op, o] : q.optype_wise)
    plan.optype_wise[op] = override_from(o, c.file + ": quantization.optype_wise." + op);
  for (const auto &[name, o] : q.op_wise)
    plan.op_wise[name] = override_from(o, c.file + ": quantization.op_wise." + name);
  for (const auto &[k, v] : q.recipes) {
    if (k == "first_conv_or_matmul_quantization")
      plan.recipes.first_conv_or_matmul_quantization = v;
    if (k == "scale_propagation_max_pooling")
      plan.recipes.scale_propagation_max_pooling = v;
    if (k == "scale_propagation_concat")
      plan.recipes.scale_propagation_concat = v;
    if (k == "fast_bias_correction")
      plan.recipes.fast_bias_correction = v;
  }
  return plan;
}

// op_wise names are the user's (TF node names for TF models): map them to the
// imported nodes and say what matched nothing (quant/op_names.h).
void resolve_names(const Graph &g, const tune::Config &c, quant::Plan &plan) {
  std::vector<std::string> names;
  for (const auto &[k, v] : plan.op_wise)
    names.push_back(k);
  quant::ResolvedNames r = quant::resolve_op_names(g, names, c.file + ": quantization.op_wise");
  for (const auto &m : r.messages)
    std::fprintf(stderr, "qtune: %s\n", m.c_str());
  plan.op_wise = quant::rekey_op_wise(plan.op_wise, r);
}

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

quant::CalibrationStats calibrate_from_config(const tune::Config &c,
                                              std::shared_ptr<const Graph> graph,
                                              const QuantizeArgs &a) {
  const tune::DataloaderConfig &section = c.quantization.calibration.dataloader;
  if (!section.present())
    throw InputError(c.file + ": no quantization.calibration.dataloader to calibrate with");
  if (graph->inputs.size() != 1)
    throw UnsupportedError(c.model.path + ": calibration feeds one image input, the model has " +
                           std::to_string(graph->inputs.size()));
  YAML::Node node = YAML::Clone(section.node);
  for (const char *k : {"last_batch", "shuffle", "distributed"})
    node.remove(k);
  data::DataloaderConfig dl =
      data::make_dataloader(node, ".", "quantization.calibration.dataloader");
  int64_t n = a.sampling_size;
  if (n < 0) {
    const auto &sizes = c.quantization.calibration.sampling_size;
    n = sizes.empty() ? 0 : sizes[0];
  }
  const size_t total = n > 0 ? std::min<size_t>(n, dl.dataset->size()) : dl.dataset->size();
  data::PipelineOptions po;
  po.threads = 1;
  po.limit = total;
  po.skip_bad_images = dl.skip_bad_images;
  data::Pipeline pipe(*dl.dataset, dl.transforms, po);
  ExecutorOptions eo;
  eo.threads = a.threads;
  quant::Calibrator cal(graph, eo);
  size_t done = 0;
  draw_progress(0, total);
  while (auto s = pipe.next()) {
    cal.add({{graph->inputs[0].name, data::frame_to_tensor(s->frame, graph->inputs[0].dtype)}});
    draw_progress(++done, total);
  }
  if (done < total)
    draw_progress(total, total);
  return cal.take();
}

int run_quantize(const QuantizeArgs &a) {
  tune::Config c = tune::load_config(a.config);
  if (!a.model.empty())
    c.model.path = a.model;
  if (c.model.path.empty())
    throw InputError(a.config + ": no model: give MODEL or 'model.path' in the YAML");
  auto t0 = std::chrono::steady_clock::now();
  std::shared_ptr<const Graph> fp32 =
      tune::load_model_file(c.model.path, tune::load_options(c.model));
  quant::Plan plan = plan_from_config(c);
  resolve_names(*fp32, c, plan);
  quant::CalibrationStats stats = a.load_stats.empty()
                                      ? calibrate_from_config(c, fp32, a)
                                      : quant::CalibrationStats::load(a.load_stats);
  if (!a.save_stats.empty())
    stats.save(a.save_stats);
  auto t1 = std::chrono::steady_clock::now();
  quant::QuantizeReport report;
  Graph q = quant::quantize_graph(*fp32, stats, plan, &report);
  auto t2 = std::chrono::steady_clock::now();
  tune::save_model_file(q, a.output);
  const double calib_s = std::chrono::duration<double>(t1 - t0).count();
  const double quant_s = std::chrono::duration<double>(t2 - t1).count();
  if (a.json) {
    nlohmann::json fb = nlohmann::json::object();
    for (const auto &[k, v] : report.fallback_reason)
      fb[k] = v;
    nlohmann::json j = {{"model", c.model.path},
                        {"output", a.output},
                        {"int8", report.int8},
                        {"bf16", report.bf16},
                        {"fp32", report.fp32},
                        {"calibration_samples", stats.samples},
                        {"calibration_seconds", calib_s},
                        {"quantize_seconds", quant_s},
                        {"plan", plan.to_json()},
                        {"fallback", fb}};
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("%s -> %s: %s (calibration %.1f s on %lld samples, quantization %.3f s)\n",
                c.model.path.c_str(), a.output.c_str(), report.summary().c_str(), calib_s,
                static_cast<long long>(stats.samples), quant_s);
    for (const auto &[k, v] : report.fallback_reason)
      std::printf("  kept fp32: %s (%s)\n", k.c_str(), v.c_str());
  }
  return 0;
}

} // namespace

Command add_quantize_command(CLI::App &app) {
  auto *sub = app.add_subcommand("quantize", "One-shot calibration + INT8 quantization (QDQ ONNX)");
  auto a = std::make_shared<QuantizeArgs>();
  sub->add_option("model", a->model, "FP32 ONNX model (overrides model.path)");
  sub->add_option("--config,-c", a->config, "LPOT YAML with the quantization section")->required();
  sub->add_option("--output,-o", a->output, "QDQ ONNX model to write")->required();
  sub->add_option("--threads", a->threads, "inference threads for calibration (0: all cores)");
  sub->add_option("--sampling-size", a->sampling_size, "calibration samples (overrides the YAML)");
  sub->add_option("--save-stats", a->save_stats, "write calibration statistics (JSON)");
  sub->add_option("--load-stats", a->load_stats, "reuse saved statistics instead of calibrating");
  sub->add_flag("--json", a->json, "print one JSON object");
  return {sub, [a] { return run_quantize(*a); }};
}

} // namespace qtune::cli
