#include "tune/photo_detect.h"

#include <algorithm>
#include <fmt/format.h>
#include <map>

#include "data/coco_names.h"
#include "data/dataloader_factory.h"
#include "data/decoders.h"
#include "data/draw.h"
#include "data/image_decode.h"
#include "frontends/model_loader.h"
#include "qtune/error.h"
#include "quant/inference_graph.h"
#include "runtime/executor.h"
#include "tune/model_backend.h"

namespace qtune::tune {

namespace {

// Category id -> name from the YAML's dataset (COCO annotations carry them);
// empty when the dataset cannot be opened or has none, and `from` says why.
std::map<int64_t, std::string> dataset_names(const Config &c, std::string &from) {
  std::map<int64_t, std::string> names;
  const YAML::Node dl = c.accuracy.dataloader.node;
  if (!c.accuracy.dataloader.present() || !dl["dataset"]) {
    from = "COCO names (the YAML has no evaluation dataset)";
    return names;
  }
  try {
    auto ds = data::make_dataset(dl["dataset"], ".", "evaluation.accuracy.dataloader.dataset");
    if (const coco::Dataset *gt = ds->coco_ground_truth())
      for (const auto &cat : gt->categories)
        names[cat.id] = cat.name;
    from =
        names.empty() ? "COCO names (the dataset has no categories)" : "dataset " + ds->describe();
  } catch (const InputError &e) {
    // The photo does not need the dataset; only its names are lost.
    from = std::string("COCO names (dataset not readable: ") + e.what() + ")";
  }
  return names;
}

std::string label_of(const std::map<int64_t, std::string> &names, int64_t id) {
  auto it = names.find(id);
  if (it != names.end())
    return it->second;
  std::string coco = data::coco_category_name(id);
  return coco.empty() ? fmt::format("class {}", id) : coco;
}

} // namespace

PhotoDetections detect_photo(const Config &c, const std::string &image_path, double min_score,
                             int threads) {
  if (c.model.path.empty())
    throw InputError(c.file + ": no model file: give MODEL or 'model.path' in the YAML");
  if (!c.accuracy.postprocess.IsDefined() || c.accuracy.postprocess.IsNull())
    throw InputError(c.file + ": no evaluation.accuracy.postprocess (a detection decoder) to "
                              "turn the model's outputs into boxes");
  auto decoder = data::make_decoder(c.accuracy.postprocess);
  data::TransformList transforms;
  if (c.accuracy.dataloader.present() && c.accuracy.dataloader.node["transform"])
    transforms = data::make_transforms(c.accuracy.dataloader.node["transform"],
                                       "evaluation.accuracy.dataloader.transform");

  PhotoDetections out;
  out.decoder = decoder->name();
  data::Sample sample;
  sample.name = image_path;
  sample.encoded = data::read_file_bytes(image_path);
  out.image = data::decode_image(sample.encoded, image_path);
  const data::Frame frame = data::preprocess(sample, transforms);

  // The frontend alone, then every graph pass once in prepare_for_inference.
  auto graph = std::make_shared<Graph>(load_model(c.model.path, load_options(c.model)));
  quant::prepare_for_inference(*graph);
  if (graph->inputs.size() != 1)
    throw UnsupportedError(fmt::format("{}: run feeds one image input, the model has {}",
                                       c.model.path, graph->inputs.size()));
  std::vector<std::string> output_names;
  for (const auto &o : graph->outputs)
    output_names.push_back(o.name);
  Executor exec(graph, {.threads = threads});
  std::vector<Tensor> outs =
      exec.run({{graph->inputs[0].name, data::frame_to_tensor(frame, graph->inputs[0].dtype)}});
  std::vector<Detection> dets = decoder->decode(outs, output_names, 0, 0, frame.geo);

  const auto names = dataset_names(c, out.names_from);
  std::stable_sort(dets.begin(), dets.end(),
                   [](const Detection &a, const Detection &b) { return a.score > b.score; });
  for (const Detection &d : dets)
    if (d.score >= min_score)
      out.detections.push_back({d, label_of(names, d.category_id)});
  return out;
}

std::string draw_detections_jpeg(const PhotoDetections &p) {
  data::Image img = p.image;
  // Lowest score first, so the most confident boxes end up on top.
  for (auto it = p.detections.rbegin(); it != p.detections.rend(); ++it)
    data::draw_labeled_box(img, it->box.x, it->box.y, it->box.w, it->box.h,
                           fmt::format("{} {:.2f}", it->label, it->box.score),
                           data::class_color(it->box.category_id));
  return data::encode_jpeg(img);
}

} // namespace qtune::tune
