#include "tune/quantize_model.h"

#include <algorithm>
#include <chrono>
#include <fmt/format.h>
#include <optional>

#include "data/dataloader_factory.h"
#include "data/pipeline.h"
#include "qtune/error.h"
#include "quant/activation_equalize.h"
#include "quant/bias_correction.h"
#include "quant/calibrate.h"
#include "quant/consumer_clipping.h"
#include "quant/equalize.h"
#include "quant/op_names.h"
#include "quant/weight_refit.h"
#include "tune/model_backend.h"

namespace qtune::tune {

namespace {

std::string first(const std::vector<std::string> &v) {
  return v.empty() ? "" : v[0];
}

// An LPOT option block (lists of allowed values) -> the override its first
// choices mean. `dtype: fp32` / `bf16` set the precision.
quant::DecisionOverride override_from(const OpOptions &o, const std::string &where) {
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

// op_wise names are the user's (TF node names for TF models): map them to the
// imported nodes and say what matched nothing (quant/op_names.h).
void resolve_names(const Graph &g, const Config &c, quant::Plan &plan,
                   std::vector<std::string> &messages) {
  std::vector<std::string> names;
  for (const auto &[k, v] : plan.op_wise)
    names.push_back(k);
  quant::ResolvedNames r = quant::resolve_op_names(g, names, c.file + ": quantization.op_wise");
  messages.insert(messages.end(), r.messages.begin(), r.messages.end());
  plan.op_wise = quant::rekey_op_wise(plan.op_wise, r);
}

using Batch = std::unordered_map<std::string, Tensor>;
constexpr size_t kBiasCorrectionSamples = 16; // recipe bias_correction
constexpr size_t kClippingSamples = 4;        // recipe consumer_error_clipping

data::DataloaderConfig calibration_dataloader(const Config &c) {
  const DataloaderConfig &section = c.quantization.calibration.dataloader;
  if (!section.present())
    throw InputError(c.file + ": no quantization.calibration.dataloader to calibrate with");
  YAML::Node node = YAML::Clone(section.node);
  for (const char *k : {"last_batch", "shuffle", "distributed"})
    node.remove(k);
  return data::make_dataloader(node, ".", "quantization.calibration.dataloader");
}

// The first `n` calibration inputs (bias correction when statistics were loaded).
std::vector<Batch> first_batches(const Config &c, const Graph &graph, size_t n) {
  data::DataloaderConfig dl = calibration_dataloader(c);
  data::PipelineOptions po;
  po.threads = 1;
  po.limit = std::min(n, dl.dataset->size());
  po.skip_bad_images = dl.skip_bad_images;
  data::Pipeline pipe(*dl.dataset, dl.transforms, po);
  std::vector<Batch> out;
  while (auto s = pipe.next())
    out.push_back({{graph.inputs[0].name, data::frame_to_tensor(s->frame, graph.inputs[0].dtype)}});
  return out;
}

quant::CalibrationStats calibrate_from_config(const Config &c, std::shared_ptr<const Graph> graph,
                                              const QuantizeModelOptions &o,
                                              std::vector<Batch> &kept) {
  if (graph->inputs.size() != 1)
    throw UnsupportedError(c.model.path + ": calibration feeds one image input, the model has " +
                           std::to_string(graph->inputs.size()));
  data::DataloaderConfig dl = calibration_dataloader(c);
  int64_t n = o.sampling_size;
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
  quant::Calibrator cal(graph, {.threads = o.threads});
  auto progress = [&](size_t done) {
    if (o.progress)
      o.progress(done, total);
  };
  size_t done = 0;
  progress(0);
  while (auto s = pipe.next()) {
    Batch b{{graph->inputs[0].name, data::frame_to_tensor(s->frame, graph->inputs[0].dtype)}};
    cal.add(b);
    if (kept.size() < kBiasCorrectionSamples)
      kept.push_back(std::move(b));
    progress(++done);
  }
  if (done < total)
    progress(total);
  return cal.take();
}

} // namespace

std::shared_ptr<const Graph> apply_graph_recipes(std::shared_ptr<const Graph> fp32,
                                                 const quant::Recipes &recipes,
                                                 std::vector<std::string> &messages) {
  if (!recipes.cross_layer_equalization)
    return fp32;
  auto g = std::make_shared<Graph>(*fp32); // initializers are cloned where they change
  messages.push_back(quant::equalize_cross_layer(*g).summary());
  return g;
}

bool has_qdq_recipes(const quant::Recipes &recipes) {
  return recipes.bias_correction || recipes.consumer_error_clipping || recipes.weight_refit;
}

void apply_qdq_recipes(Graph &qdq, const Graph &fp32, const quant::Recipes &recipes,
                       const std::vector<std::unordered_map<std::string, Tensor>> &batches,
                       std::vector<std::string> &messages) {
  if (recipes.consumer_error_clipping) {
    const size_t n = std::min(batches.size(), kClippingSamples);
    messages.push_back(
        quant::clip_by_consumer_error(qdq, {batches.begin(), batches.begin() + n}).summary() +
        fmt::format(" on {} calibration samples", n));
  }
  if (recipes.bias_correction) { // last: it corrects the mean shift of the final ranges
    quant::BiasCorrectionReport b = quant::correct_biases(qdq, fp32, batches);
    messages.push_back(fmt::format("bias correction: {} convs on {} calibration samples "
                                   "(mean |shift| {:.3g})",
                                   b.convs, batches.size(), b.mean_abs_shift));
  }
  if (recipes.weight_refit) // after bias correction: it starts from the corrected model
    messages.push_back(quant::refit_weights(qdq, fp32, batches).summary());
}

Graph quantize_with_recipes(const Graph &fp32, const quant::CalibrationStats &stats,
                            const quant::Plan &plan,
                            const std::vector<std::unordered_map<std::string, Tensor>> &batches,
                            quant::QuantizeReport *report, std::vector<std::string> &messages) {
  std::optional<quant::ActivationEqualization> eq;
  if (plan.recipes.activation_equalization) {
    eq = quant::equalize_activations(fp32, stats, plan);
    messages.push_back(eq->summary());
  }
  const Graph &g = eq ? eq->graph : fp32;
  Graph q = quant::quantize_graph(g, eq ? eq->stats : stats, plan, report);
  apply_qdq_recipes(q, g, plan.recipes, batches, messages);
  return q;
}

quant::Recipes recipes_from_config(const QuantizationConfig &q) {
  return quant::recipes_from(q.recipes);
}

quant::Plan plan_from_config(const Config &c) {
  const QuantizationConfig &q = c.quantization;
  quant::Plan plan;
  override_from(q.model_wise, c.file + ": quantization.model_wise").apply(plan.model_wise);
  for (const auto &[op, o] : q.optype_wise)
    plan.optype_wise[op] = override_from(o, c.file + ": quantization.optype_wise." + op);
  for (const auto &[name, o] : q.op_wise)
    plan.op_wise[name] = override_from(o, c.file + ": quantization.op_wise." + name);
  plan.recipes = recipes_from_config(q);
  return plan;
}

QuantizeModelResult quantize_model(Config c, const QuantizeModelOptions &o) {
  if (!o.model.empty())
    c.model.path = o.model;
  if (c.model.path.empty())
    throw InputError(c.file + ": no model: give MODEL or 'model.path' in the YAML");
  QuantizeModelResult r;
  r.model = c.model.path;
  auto t0 = std::chrono::steady_clock::now();
  r.plan = plan_from_config(c);
  std::shared_ptr<const Graph> fp32 = apply_graph_recipes(
      load_model_file(c.model.path, load_options(c.model)), r.plan.recipes, r.messages);
  resolve_names(*fp32, c, r.plan, r.messages);
  std::vector<Batch> kept;
  quant::CalibrationStats stats = o.load_stats.empty()
                                      ? calibrate_from_config(c, fp32, o, kept)
                                      : quant::CalibrationStats::load(o.load_stats);
  if (!o.save_stats.empty())
    stats.save(o.save_stats);
  auto t1 = std::chrono::steady_clock::now();
  if (kept.empty() && has_qdq_recipes(r.plan.recipes))
    kept = first_batches(c, *fp32, kBiasCorrectionSamples);
  Graph q = quantize_with_recipes(*fp32, stats, r.plan, kept, &r.report, r.messages);
  auto t2 = std::chrono::steady_clock::now();
  save_model_file(q, o.output);
  r.calibration_samples = stats.samples;
  r.calibration_seconds = std::chrono::duration<double>(t1 - t0).count();
  r.quantize_seconds = std::chrono::duration<double>(t2 - t1).count();
  return r;
}

} // namespace qtune::tune
