// `qtune evaluate`: accuracy of a model on a dataset, as the YAML's
// evaluation.accuracy section describes it (tune::evaluate_model, the evaluator
// the tuner uses), with command-line overrides so one config serves other model
// files and COCO folders. Or, with --detections, pure scoring of a COCO results
// file (like pycocotools' loadRes + COCOeval).
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "dist/comm.h"
#include "metrics/coco_eval.h"
#include "qtune/error.h"
#include "tune/config.h"
#include "tune/evaluate_model.h"

namespace qtune::cli {

namespace {

struct EvaluateArgs {
  std::string config, detections;
  std::string iou_type = "bbox";
  tune::ModelEvaluationOptions o;
  bool json = false;
};

int run_scoring(const EvaluateArgs &a) {
  if (a.o.annotations.empty())
    throw InputError("evaluate: --detections needs --annotations (the ground truth JSON)");
  const auto &ids = a.o.evaluation.category_ids;
  std::array<double, 12> s = metrics::evaluate_results_file(
      a.o.annotations, a.detections, metrics::parse_iou_type(a.iou_type), ids);
  if (a.json) {
    nlohmann::json j = {{"stats", s}, {"iou_type", a.iou_type}};
    if (!ids.empty())
      j["category_ids"] = ids;
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("%s", metrics::summarize_text(s).c_str());
  }
  return 0;
}

int run_model(const EvaluateArgs &a) {
  tune::ModelEvaluation e = tune::evaluate_model(tune::load_config(a.config), a.o);
  if (!dist::world().is_root())
    return 0; // under mpirun rank 0 holds the result and prints it
  const tune::EvaluationResult &r = e.result;
  const size_t n = r.samples;
  const double ips = e.seconds > 0 ? n / e.seconds : 0;
  const double model_ips = e.model_seconds > 0 ? n / e.model_seconds : 0;
  nlohmann::json j = {{"model", e.model},
                      {"dataset", e.dataset},
                      {"images", n},
                      {"skipped_images", r.skipped.size()},
                      {"images_per_second", ips},
                      {"model_images_per_second", model_ips},
                      {"metric", r.metric},
                      {"value", r.value}};
  if (r.metric == "COCOmAP") {
    j["stats"] = r.coco_stats;
    j["detections"] = r.detections.size();
  }
  if (a.json) {
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  if (r.metric == "COCOmAP")
    std::printf("%s", metrics::summarize_text(r.coco_stats).c_str());
  else
    std::printf("%s %.6f\n", r.metric.c_str(), r.value);
  std::printf("%zu images (%zu skipped) in %.2f s: %.1f images/s end to end, %.1f images/s "
              "model only\n",
              n, r.skipped.size(), e.seconds, ips, model_ips);
  for (const auto &m : r.skipped)
    std::printf("  skipped: %s\n", m.c_str());
  return 0;
}

} // namespace

Command add_evaluate_command(CLI::App &app) {
  auto *sub = app.add_subcommand(
      "evaluate", "Accuracy of a model on a dataset (COCO mAP or top-k), or score a results file");
  auto a = std::make_shared<EvaluateArgs>();
  tune::ModelEvaluationOptions &o = a->o;
  sub->add_option("--config,-c", a->config, "LPOT YAML with model and evaluation.accuracy");
  sub->add_option("--model,-m", o.model, "model file (overrides model.path)");
  sub->add_option("--annotations", o.annotations, "COCO instances JSON (overrides the dataset)");
  sub->add_option("--images", o.images, "COCO image folder (with --annotations)");
  sub->add_option("--record", o.record, "COCO TFRecord (overrides the dataset)");
  sub->add_option("--detections", a->detections,
                  "score this COCO results JSON against --annotations (no model run)");
  sub->add_option("--iou-type", a->iou_type, "bbox | segm (with --detections)");
  sub->add_option("--category-ids", o.evaluation.category_ids,
                  "evaluate only these COCO categories, e.g. 1,17,18 (overrides the YAML's "
                  "COCOmAP category_ids)")
      ->delimiter(',');
  sub->add_option("--threads", o.threads, "inference threads (0: all cores)");
  sub->add_option("--pipeline-threads", o.evaluation.pipeline_threads, "decode+preprocess threads");
  sub->add_option("--limit", o.evaluation.limit, "evaluate only the first N images");
  sub->add_option("--save-detections", o.save_detections, "write detections as COCO results");
  sub->add_flag("--skip-bad-images", o.skip_bad_images,
                "skip and count missing or corrupt images instead of failing");
  sub->add_flag("--json", a->json, "print one JSON object");
  return {sub, [a] {
            if (!a->detections.empty())
              return run_scoring(*a);
            if (a->config.empty())
              throw InputError("evaluate: give --config (model run) or --annotations with "
                               "--detections (scoring)");
            return run_model(*a);
          }};
}

} // namespace qtune::cli
