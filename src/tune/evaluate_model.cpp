#include "tune/evaluate_model.h"

#include "dist/comm.h"

#include <chrono>
#include <filesystem>
#include <memory>

#include "frontends/model_loader.h"
#include "metrics/coco_eval.h"
#include "qtune/error.h"
#include "quant/inference_graph.h"
#include "runtime/executor.h"
#include "tune/model_backend.h"
#include "tune/workspace.h"

namespace qtune::tune {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The accuracy section with the command line's overrides: another dataset
// (--annotations + --images or --record, whose ground truth then replaces the
// COCOmAP anno_path), skip_bad_images, COCOmAP when the YAML names no metric.
void apply_overrides(AccuracyConfig &acc, const std::string &file,
                     const ModelEvaluationOptions &o) {
  if (!acc.dataloader.present() && o.annotations.empty() && o.record.empty())
    throw InputError(file + ": no evaluation.accuracy.dataloader (or give --annotations and "
                            "--images, or --record)");
  YAML::Node dl =
      acc.dataloader.present() ? YAML::Clone(acc.dataloader.node) : YAML::Node(YAML::NodeType::Map);
  if (!o.record.empty()) {
    dl["dataset"] = YAML::Node(YAML::NodeType::Map);
    dl["dataset"]["COCORecord"]["root"] = o.record;
  } else if (!o.annotations.empty() || !o.images.empty()) {
    if (o.annotations.empty() || o.images.empty())
      throw InputError("evaluate: --annotations and --images go together");
    dl["dataset"] = YAML::Node(YAML::NodeType::Map);
    dl["dataset"]["COCORaw"]["root"] = "";
    dl["dataset"]["COCORaw"]["img_dir"] = o.images;
    dl["dataset"]["COCORaw"]["anno_dir"] = o.annotations;
  }
  if (o.skip_bad_images)
    dl["skip_bad_images"] = true;
  acc.dataloader.node = dl;
  acc.metric = acc.present() ? YAML::Clone(acc.metric) : YAML::Node(YAML::NodeType::Map);
  if (acc.metric_name.empty()) {
    acc.metric_name = "COCOmAP";
    acc.metric["COCOmAP"] = YAML::Node(YAML::NodeType::Map);
  }
  YAML::Node coco = acc.metric["COCOmAP"];
  if (coco.IsMap() && !o.annotations.empty())
    coco.remove("anno_path");
}

// The frontend alone, then every graph pass once (load_model_file's layout
// passes are for quantizing; prepare_for_inference runs them too).
std::shared_ptr<Graph> load_for_inference(const ModelConfig &m) {
  auto graph = std::make_shared<Graph>(load_model(m.path, load_options(m)));
  quant::prepare_for_inference(*graph); // fusions; QDQ models run on int8 kernels
  return graph;
}

} // namespace

ModelEvaluation evaluate_model(Config c, const ModelEvaluationOptions &o) {
  // A label-free metric (FidelityCOCOmAP, Agreement, SQNR ...) scores a model
  // against the FP32 model's outputs: that is the YAML's model.path when
  // --model names another file, and the model itself otherwise.
  const ModelConfig fp32_model = c.model;
  std::error_code ec;
  const bool is_fp32 = o.model.empty() || o.model == fp32_model.path ||
                       std::filesystem::equivalent(o.model, fp32_model.path, ec);
  if (!o.model.empty())
    c.model.path = o.model;
  if (c.model.path.empty())
    throw InputError(c.file + ": no model file: give --model or 'model.path' in the YAML");
  apply_overrides(c.accuracy, c.file, o);

  std::shared_ptr<Graph> graph = load_for_inference(c.model);
  const FedInput in = fed_input(*graph, c.model);
  std::vector<std::string> outputs;
  for (const auto &v : graph->outputs)
    outputs.push_back(v.name);
  AccuracyEvaluator evaluator(c, in.name, outputs, in.dtype, o.evaluation);
  Executor exec(graph, {.threads = o.threads});
  std::unique_ptr<Executor> reference;
  if (evaluator.uses_fp32_reference() && !is_fp32) {
    if (fp32_model.path.empty())
      throw InputError(c.file + ": metric " + c.accuracy.metric_name +
                       " compares with the FP32 model: set 'model.path' in the YAML");
    reference = std::make_unique<Executor>(load_for_inference(fp32_model),
                                           ExecutorOptions{.threads = o.threads});
    evaluator.set_reference([&](const Inputs &inputs) { return reference->run(inputs); }, "");
  }

  ModelEvaluation r;
  r.model = c.model.path;
  r.dataset = evaluator.describe();
  auto t0 = Clock::now();
  evaluator.evaluate(
      [&](const Inputs &inputs) {
        auto m0 = Clock::now();
        std::vector<Tensor> out = exec.run(inputs);
        r.model_seconds += seconds_since(m0);
        return out;
      },
      is_fp32);
  r.seconds = seconds_since(t0);
  r.result = evaluator.last_result();
  if (!o.save_detections.empty() && r.result.metric == "COCOmAP" && dist::world().is_root())
    write_file_atomic(o.save_detections, metrics::results_json(r.result.detections));
  return r;
}

} // namespace qtune::tune
