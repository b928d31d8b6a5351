// Decoders for models that output final boxes: TensorFlow Object Detection API
// graphs (SSD, Faster/Mask R-CNN) and [N, 6] box-score-class tensors (CenterNet).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include "data/decoders_impl.h"
#include "data/yaml_util.h"

namespace qtune::data {

namespace {

// Index of the output whose name contains `key`, else `fallback`.
size_t find_output(std::span<const std::string> names, const char *key, size_t fallback,
                   size_t count) {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i].find(key) != std::string::npos)
      return i;
  if (fallback >= count)
    throw InputError(std::string("tf_object_detection decoder: no output named like '") + key +
                     "'");
  return fallback;
}

class TfOdDecoder : public DetectionDecoder {
public:
  float score_threshold = 0.f;
  size_t max_detections = 100;
  int64_t label_offset = 0;
  std::map<int64_t, int64_t> label_map; // model class id -> COCO id; empty: id + offset

  // COCO category of a model class, or -1 for a class the label map leaves out.
  int64_t category_of(double cls) const {
    int64_t id = std::llround(cls);
    if (label_map.empty())
      return id + label_offset;
    auto it = label_map.find(id);
    return it == label_map.end() ? -1 : it->second;
  }

  std::vector<Detection> decode(std::span<const Tensor> outputs, std::span<const std::string> names,
                                int b, int64_t image_id, const Geometry &geo) const override {
    size_t n = outputs.size();
    const Tensor &boxes = outputs[find_output(names, "detection_boxes", 0, n)];
    const Tensor &classes = outputs[find_output(names, "detection_classes", 1, n)];
    const Tensor &scores = outputs[find_output(names, "detection_scores", 2, n)];
    const Tensor &num = outputs[find_output(names, "num_detections", 3, n)];
    f32_data(boxes, 3, "tf_object_detection decoder: detection_boxes");
    const int64_t cap = boxes.dim(1);
    int64_t count = std::min<int64_t>(static_cast<int64_t>(num.get_f64(b)), cap);
    std::vector<Detection> out;
    for (int64_t i = 0; i < count && out.size() < max_detections; ++i) {
      double score = scores.get_f64(b * cap + i);
      int64_t category = category_of(classes.get_f64(b * cap + i));
      if (score < score_threshold || category < 0)
        continue;
      const float *bx = boxes.data<float>() + (b * cap + i) * 4; // ymin, xmin, ymax, xmax
      // Normalized to the model input; scale to input pixels, then back to the original.
      double x1 = geo.to_orig_x(bx[1] * geo.input_width),
             y1 = geo.to_orig_y(bx[0] * geo.input_height);
      double x2 = geo.to_orig_x(bx[3] * geo.input_width),
             y2 = geo.to_orig_y(bx[2] * geo.input_height);
      Detection d;
      d.image_id = image_id;
      d.category_id = category;
      d.x = x1;
      d.y = y1;
      d.w = x2 - x1;
      d.h = y2 - y1;
      d.score = score;
      out.push_back(d);
    }
    return out;
  }
  std::string name() const override { return "tf_object_detection"; }
};

class BoxesScoresClassesDecoder : public DetectionDecoder {
public:
  float score_threshold = 0.f, nms_iou = 1.f;
  size_t max_detections = 100;
  bool normalized = false;
  ClassMap classes;

  std::vector<Detection> decode(std::span<const Tensor> outputs, std::span<const std::string>,
                                int b, int64_t image_id, const Geometry &geo) const override {
    if (outputs.empty())
      throw InputError("boxes_scores_classes decoder: the model has no outputs");
    const float *p = f32_data(outputs[0], 3, "boxes_scores_classes decoder: output 0");
    if (outputs[0].dim(2) != 6)
      throw InputError("boxes_scores_classes decoder: output shape " +
                       shape_str(outputs[0].shape()) + " is not [N, boxes, 6]");
    const int64_t n = outputs[0].dim(1);
    p += int64_t(b) * n * 6;
    float sx = normalized ? geo.input_width : 1.f, sy = normalized ? geo.input_height : 1.f;
    std::vector<BoxCandidate> cands;
    for (int64_t i = 0; i < n; ++i, p += 6) {
      if (p[4] < score_threshold)
        continue;
      cands.push_back({p[0] * sx, p[1] * sy, p[2] * sx, p[3] * sy, p[4], static_cast<int>(p[5])});
    }
    return to_detections(nms_per_class(std::move(cands), nms_iou, max_detections), image_id, geo,
                         classes);
  }
  std::string name() const override { return "boxes_scores_classes"; }
};

} // namespace

// label_map: {model id: COCO id, ...} inline, or a YAML/JSON file holding that mapping.
std::map<int64_t, int64_t> read_label_map(const YAML::Node &n, const std::string &where) {
  YAML::Node m = n;
  std::string source = where;
  if (n.IsScalar()) {
    source = n.Scalar();
    if (!std::filesystem::is_regular_file(source))
      yaml::fail(where, "label map file '" + source + "' not found");
    try {
      m = YAML::LoadFile(source);
    } catch (const YAML::Exception &e) {
      yaml::fail(where, source + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
  }
  if (!m.IsMap() || m.size() == 0)
    yaml::fail(where, "expected a mapping {model class id: COCO category id, ...} or a file "
                      "holding one");
  std::map<int64_t, int64_t> out;
  for (const auto &kv : m) {
    try {
      int64_t coco_id = kv.second.as<int64_t>();
      if (coco_id < 1)
        throw YAML::Exception(kv.second.Mark(), "COCO ids start at 1");
      out[kv.first.as<int64_t>()] = coco_id;
    } catch (const YAML::Exception &) {
      yaml::fail(where, source + ": entry '" + kv.first.Scalar() +
                            "' is not 'integer class id: COCO category id (>= 1)'");
    }
  }
  return out;
}

std::unique_ptr<DetectionDecoder> make_tf_od_decoder(const YAML::Node &n, const std::string &at) {
  yaml::check_keys(n, at, "decoder.tf_object_detection");
  auto d = std::make_unique<TfOdDecoder>();
  d->score_threshold = read_threshold(n, "score_threshold", at, d->score_threshold);
  d->max_detections = read_max_detections(n, at, d->max_detections);
  d->label_offset = yaml::get<int64_t>(n, "label_offset", at, 0);
  if (n && n.IsMap() && n["label_map"]) {
    if (n["label_offset"])
      yaml::fail(at, "give label_map or label_offset, not both");
    d->label_map = read_label_map(n["label_map"], at + ".label_map");
  }
  return d;
}

std::unique_ptr<DetectionDecoder> make_bsc_decoder(const YAML::Node &n, const std::string &at) {
  yaml::check_keys(n, at, "decoder.boxes_scores_classes");
  auto d = std::make_unique<BoxesScoresClassesDecoder>();
  d->score_threshold = read_threshold(n, "score_threshold", at, d->score_threshold);
  d->max_detections = read_max_detections(n, at, d->max_detections);
  d->normalized = yaml::get<bool>(n, "normalized", at, false);
  d->nms_iou = read_threshold(n, "nms_iou", at, 1.f);
  d->classes = read_class_map(n, at, "coco80");
  return d;
}

} // namespace qtune::data
