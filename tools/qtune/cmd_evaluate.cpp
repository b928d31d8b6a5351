// `qtune evaluate`: accuracy of a model on a dataset, as the YAML's
// evaluation.accuracy section describes it (dataloader + postprocess + metric),
// with command-line overrides so one config serves other model files and COCO
// folders. Or, with --detections, pure scoring of a COCO results file (like
// pycocotools' loadRes + COCOeval).
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "commands.h"
#include "data/dataloader_factory.h"
#include "data/decoders.h"
#include "data/pipeline.h"
#include "metrics/coco_eval.h"
#include "metrics/topk.h"
#include "qtune/error.h"
#include "quant/inference_graph.h"
#include "runtime/executor.h"
#include "tune/config.h"
#include "tune/evaluator.h"
#include "tune/model_backend.h"

namespace qtune::cli {

namespace {

struct EvaluateArgs {
  std::string config, model, annotations, images, record, detections, save_detections;
  std::string iou_type = "bbox";
  std::vector<int64_t> category_ids; // restrict COCO mAP to these (pycocotools catIds)
  int threads = 0, pipeline_threads = 1;
  size_t limit = 0;
  bool json = false, skip_bad_images = false;
};

// pycocotools' summarize() lines.
void print_coco_stats(const std::array<double, 12> &s) {
  static const char *rows[12][3] = {
      {"Precision", "0.50:0.95", "   all"}, {"Precision", "0.50     ", "   all"},
      {"Precision", "0.75     ", "   all"}, {"Precision", "0.50:0.95", " small"},
      {"Precision", "0.50:0.95", "medium"}, {"Precision", "0.50:0.95", " large"},
      {"Recall   ", "0.50:0.95", "   all"}, {"Recall   ", "0.50:0.95", "   all"},
      {"Recall   ", "0.50:0.95", "   all"}, {"Recall   ", "0.50:0.95", " small"},
      {"Recall   ", "0.50:0.95", "medium"}, {"Recall   ", "0.50:0.95", " large"}};
  static const int dets[12] = {100, 100, 100, 100, 100, 100, 1, 10, 100, 100, 100, 100};
  for (int i = 0; i < 12; ++i)
    std::printf(" Average %s  (%s) @[ IoU=%s | area=%s | maxDets=%3d ] = %.3f\n", rows[i][0],
                i < 6 ? "AP" : "AR", rows[i][1], rows[i][2], dets[i], s[i]);
}

nlohmann::json stats_json(const std::array<double, 12> &s) {
  nlohmann::json j = nlohmann::json::array();
  for (double v : s)
    j.push_back(v);
  return j;
}

// COCO results JSON, written to a temporary file and renamed.
void save_detections(const std::string &path, const std::vector<Detection> &dets) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto &d : dets)
    arr.push_back({{"image_id", d.image_id},
                   {"category_id", d.category_id},
                   {"bbox", {d.x, d.y, d.w, d.h}},
                   {"score", d.score}});
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << arr.dump();
    if (!out)
      throw Error(path + ": cannot write detections (" + tmp + ")");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec)
    throw Error(path + ": cannot rename " + tmp + ": " + ec.message());
}

int run_scoring(const EvaluateArgs &a) {
  if (a.annotations.empty())
    throw InputError("evaluate: --detections needs --annotations (the ground truth JSON)");
  auto iou = metrics::parse_iou_type(a.iou_type);
  std::array<double, 12> s =
      metrics::evaluate_results_file(a.annotations, a.detections, iou, a.category_ids);
  if (a.json) {
    nlohmann::json j = {{"stats", stats_json(s)}, {"iou_type", a.iou_type}};
    if (!a.category_ids.empty())
      j["category_ids"] = a.category_ids;
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    print_coco_stats(s);
  }
  return 0;
}

// The dataloader section with LPOT-only keys dropped and the dataset replaced
// when --annotations/--images/--record are given.
YAML::Node dataloader_node(const tune::Config &c, const EvaluateArgs &a) {
  if (!c.accuracy.dataloader.present() && a.annotations.empty() && a.record.empty())
    throw InputError(c.file + ": no evaluation.accuracy.dataloader (or give --annotations and "
                              "--images, or --record)");
  YAML::Node n = c.accuracy.dataloader.present() ? YAML::Clone(c.accuracy.dataloader.node)
                                                 : YAML::Node(YAML::NodeType::Map);
  for (const char *k : {"last_batch", "shuffle", "distributed"})
    n.remove(k);
  if (!a.record.empty()) {
    YAML::Node ds;
    ds["COCORecord"]["root"] = a.record;
    n["dataset"] = ds;
  } else if (!a.annotations.empty() || !a.images.empty()) {
    if (a.annotations.empty() || a.images.empty())
      throw InputError("evaluate: --annotations and --images go together");
    YAML::Node ds;
    ds["COCORaw"]["root"] = "";
    ds["COCORaw"]["img_dir"] = a.images;
    ds["COCORaw"]["anno_dir"] = a.annotations;
    n["dataset"] = ds;
  }
  if (a.skip_bad_images)
    n["skip_bad_images"] = true;
  return n;
}

// Stacks [1,...] sample tensors into one [N,...] batch.
Tensor stack_batch(const std::vector<Tensor> &parts) {
  if (parts.size() == 1)
    return parts[0];
  Shape shape = parts[0].shape();
  for (const auto &p : parts)
    if (p.shape() != shape)
      throw InputError("evaluate: samples of one batch differ in shape (" + shape_str(shape) +
                       " vs " + shape_str(p.shape()) + "); use batch_size 1 or a fixed size");
  shape[0] = static_cast<int64_t>(parts.size());
  Tensor out(parts[0].dtype(), shape);
  for (size_t i = 0; i < parts.size(); ++i)
    std::memcpy(static_cast<char *>(out.raw()) + i * parts[i].nbytes(), parts[i].raw(),
                parts[i].nbytes());
  return out;
}

int run_model(const EvaluateArgs &a) {
  tune::Config c = tune::load_config(a.config);
  if (!a.model.empty())
    c.model.path = a.model;
  if (c.model.path.empty())
    throw InputError(a.config + ": no model file: give --model or 'model.path' in the YAML");
  const std::string metric = c.accuracy.metric_name.empty() ? "COCOmAP" : c.accuracy.metric_name;
  // Relative paths in the YAML are relative to the working directory, as in LPOT.
  data::DataloaderConfig dl =
      data::make_dataloader(dataloader_node(c, a), ".", "evaluation.accuracy.dataloader");

  std::unique_ptr<data::DetectionDecoder> decoder;
  std::unique_ptr<metrics::CocoMap> coco_map;
  std::unique_ptr<metrics::TopK> top1, top5;
  if (metric == "COCOmAP") {
    // --annotations replaces the dataset, and so the ground truth, over anno_path.
    YAML::Node params = YAML::Clone(c.accuracy.metric["COCOmAP"]);
    if (params.IsMap() && !a.annotations.empty())
      params.remove("anno_path");
    coco::Dataset gt = tune::coco_metric_ground_truth(params, dl.dataset->coco_ground_truth(),
                                                      a.config, a.category_ids);
    coco_map = std::make_unique<metrics::CocoMap>(metrics::first_images(gt, a.limit));
    if (!c.accuracy.postprocess.IsDefined() || c.accuracy.postprocess.IsNull())
      throw InputError(a.config + ": COCOmAP needs evaluation.accuracy.postprocess (a decoder)");
    decoder = data::make_decoder(c.accuracy.postprocess);
  } else if (metric == "topk") {
    top1 = std::make_unique<metrics::TopK>(1);
    top5 = std::make_unique<metrics::TopK>(5);
  } else {
    throw UnsupportedError(a.config + ": metric '" + metric + "' (use COCOmAP or topk)");
  }

  auto loaded =
      std::make_shared<Graph>(*tune::load_model_file(c.model.path, tune::load_options(c.model)));
  quant::prepare_for_inference(*loaded); // fusions; QDQ models run on int8 kernels
  std::shared_ptr<const Graph> graph = loaded;
  if (graph->inputs.size() != 1)
    throw UnsupportedError(c.model.path + ": evaluate feeds one image input, the model has " +
                           std::to_string(graph->inputs.size()));
  std::vector<std::string> output_names;
  for (const auto &o : graph->outputs)
    output_names.push_back(o.name);
  ExecutorOptions eo;
  eo.threads = a.threads;
  Executor exec(graph, eo);

  data::PipelineOptions po;
  po.threads = std::max(1, a.pipeline_threads);
  po.queue_depth = std::max(4, 2 * dl.batch_size);
  po.skip_bad_images = dl.skip_bad_images;
  po.limit = a.limit;
  auto t0 = std::chrono::steady_clock::now();
  double model_seconds = 0;
  size_t images = 0;
  std::vector<Detection> all_dets;
  data::Pipeline pipe(*dl.dataset, dl.transforms, po);
  std::vector<data::PreparedSample> batch;
  auto flush = [&] {
    if (batch.empty())
      return;
    std::vector<Tensor> parts;
    for (const auto &s : batch)
      parts.push_back(data::frame_to_tensor(s.frame, graph->inputs[0].dtype));
    std::unordered_map<std::string, Tensor> in{{graph->inputs[0].name, stack_batch(parts)}};
    auto m0 = std::chrono::steady_clock::now();
    std::vector<Tensor> out = exec.run(in);
    model_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - m0).count();
    for (size_t i = 0; i < batch.size(); ++i) {
      if (decoder) {
        auto d = decoder->decode(out, output_names, static_cast<int>(i), batch[i].truth.image_id,
                                 batch[i].frame.geo);
        all_dets.insert(all_dets.end(), d.begin(), d.end());
      }
    }
    if (top1) {
      std::vector<int64_t> labels;
      for (const auto &s : batch)
        labels.push_back(s.truth.class_label);
      Tensor lt = Tensor::from_vector<int64_t>({static_cast<int64_t>(labels.size())}, labels);
      top1->update({&out[0], 1}, {&lt, 1});
      top5->update({&out[0], 1}, {&lt, 1});
    }
    images += batch.size();
    batch.clear();
  };
  while (auto s = pipe.next()) {
    batch.push_back(std::move(*s));
    if (static_cast<int>(batch.size()) >= dl.batch_size)
      flush();
  }
  flush();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double ips = seconds > 0 ? images / seconds : 0;
  double model_ips = model_seconds > 0 ? images / model_seconds : 0;

  nlohmann::json j = {{"model", c.model.path},    {"dataset", dl.dataset->describe()},
                      {"images", images},         {"skipped_images", pipe.skipped()},
                      {"images_per_second", ips}, {"model_images_per_second", model_ips}};
  if (coco_map) {
    if (!a.save_detections.empty())
      save_detections(a.save_detections, all_dets);
    coco_map->add(all_dets);
    metrics::CocoEvalResult r = coco_map->evaluate();
    j["stats"] = stats_json(r.stats);
    j["detections"] = all_dets.size();
    if (!a.json)
      print_coco_stats(r.stats);
  } else {
    j["top1"] = top1->result();
    j["top5"] = top5->result();
    if (!a.json)
      std::printf("top-1 %.6f  top-5 %.6f\n", top1->result(), top5->result());
  }
  if (a.json) {
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("%zu images (%zu skipped) in %.2f s: %.1f images/s end to end, %.1f images/s "
                "model only\n",
                images, pipe.skipped(), seconds, ips, model_ips);
    for (const auto &m : pipe.skipped_messages())
      std::printf("  skipped: %s\n", m.c_str());
  }
  return 0;
}

} // namespace

Command add_evaluate_command(CLI::App &app) {
  auto *sub = app.add_subcommand(
      "evaluate", "Accuracy of a model on a dataset (COCO mAP or top-k), or score a results file");
  auto a = std::make_shared<EvaluateArgs>();
  sub->add_option("--config,-c", a->config, "LPOT YAML with model and evaluation.accuracy");
  sub->add_option("--model,-m", a->model, "ONNX model (overrides model.path)");
  sub->add_option("--annotations", a->annotations, "COCO instances JSON (overrides the dataset)");
  sub->add_option("--images", a->images, "COCO image folder (with --annotations)");
  sub->add_option("--record", a->record, "COCO TFRecord (overrides the dataset)");
  sub->add_option("--detections", a->detections,
                  "score this COCO results JSON against --annotations (no model run)");
  sub->add_option("--iou-type", a->iou_type, "bbox | segm (with --detections)");
  sub->add_option("--category-ids", a->category_ids,
                  "evaluate only these COCO categories, e.g. 1,17,18 (overrides the YAML's "
                  "COCOmAP category_ids)")
      ->delimiter(',');
  sub->add_option("--threads", a->threads, "inference threads (0: all cores)");
  sub->add_option("--pipeline-threads", a->pipeline_threads, "decode+preprocess threads");
  sub->add_option("--limit", a->limit, "evaluate only the first N images");
  sub->add_option("--save-detections", a->save_detections, "write detections as COCO results");
  sub->add_flag("--skip-bad-images", a->skip_bad_images,
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
