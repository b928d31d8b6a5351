#include "data/decoders.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "data/decoders_impl.h"
#include "data/yaml_util.h"

namespace qtune::data {

int64_t coco80_to_coco91(int index) {
  // COCO's 80 detection classes use ids 1..90 with gaps (12, 26, 29, 30, 45, 66,
  // 68, 69, 71, 83 are unused).
  static const std::array<int64_t, 80> ids = {
      1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21,
      22, 23, 24, 25, 27, 28, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44,
      46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65,
      67, 70, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 84, 85, 86, 87, 88, 89, 90};
  if (index < 0 || index >= 80)
    throw InputError("class index " + std::to_string(index) + " is outside COCO's 80 classes");
  return ids[index];
}

namespace {

float iou(const BoxCandidate &a, const BoxCandidate &b) {
  float iw = std::min(a.x2, b.x2) - std::max(a.x1, b.x1);
  float ih = std::min(a.y2, b.y2) - std::max(a.y1, b.y1);
  if (iw <= 0 || ih <= 0)
    return 0;
  float inter = iw * ih;
  float ua = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return ua > 0 ? inter / ua : 0;
}

bool by_score(const BoxCandidate &a, const BoxCandidate &b) {
  return a.score > b.score;
}

} // namespace

std::vector<BoxCandidate> nms_per_class(std::vector<BoxCandidate> boxes, float iou_threshold,
                                        size_t max_keep) {
  // Stable sort: equal scores keep their anchor order, so results are reproducible.
  std::stable_sort(boxes.begin(), boxes.end(), [](const BoxCandidate &a, const BoxCandidate &b) {
    return a.cls != b.cls ? a.cls < b.cls : a.score > b.score;
  });
  std::vector<BoxCandidate> kept;
  for (size_t start = 0; start < boxes.size();) {
    size_t end = start;
    while (end < boxes.size() && boxes[end].cls == boxes[start].cls)
      ++end;
    size_t first_kept = kept.size();
    for (size_t i = start; i < end; ++i) {
      bool keep = true;
      if (iou_threshold < 1.f)
        for (size_t k = first_kept; k < kept.size() && keep; ++k)
          keep = iou(boxes[i], kept[k]) <= iou_threshold;
      if (keep)
        kept.push_back(boxes[i]);
    }
    start = end;
  }
  std::stable_sort(kept.begin(), kept.end(), by_score);
  if (kept.size() > max_keep)
    kept.resize(max_keep);
  return kept;
}

ClassMap read_class_map(const YAML::Node &n, const std::string &where, const char *def) {
  std::string m = yaml::get<std::string>(n, "class_map", where, def);
  if (m == "coco80")
    return {true, 0};
  if (m == "none")
    return {false, 0};
  yaml::fail(where + ".class_map", "expected coco80 or none, got '" + m + "'");
}

std::vector<Detection> to_detections(const std::vector<BoxCandidate> &boxes, int64_t image_id,
                                     const Geometry &geo, const ClassMap &map) {
  std::vector<Detection> out;
  out.reserve(boxes.size());
  for (const auto &b : boxes) {
    Detection d;
    d.image_id = image_id;
    d.category_id = map.category_id(b.cls);
    d.x = geo.to_orig_x(b.x1);
    d.y = geo.to_orig_y(b.y1);
    d.w = geo.to_orig_x(b.x2) - d.x;
    d.h = geo.to_orig_y(b.y2) - d.y;
    d.score = b.score;
    out.push_back(d);
  }
  return out;
}

void add_box_scores(float x1, float y1, float x2, float y2, float obj, const float *scores,
                    int64_t step, int64_t n, const ScoreOptions &o,
                    std::vector<BoxCandidate> &out) {
  if (obj <= o.threshold)
    return;
  auto score = [&](int64_t k) {
    float v = scores[k * step];
    return obj * (o.sigmoid ? 1.f / (1.f + std::exp(-v)) : v);
  };
  if (o.multi_label) {
    for (int64_t k = 0; k < n; ++k)
      if (float s = score(k); s > o.threshold)
        out.push_back({x1, y1, x2, y2, s, static_cast<int>(k)});
    return;
  }
  int64_t best = 0;
  for (int64_t k = 1; k < n; ++k)
    if (scores[k * step] > scores[best * step])
      best = k;
  if (float s = score(best); s > o.threshold)
    out.push_back({x1, y1, x2, y2, s, static_cast<int>(best)});
}

std::vector<Detection> clip_to_image(std::vector<Detection> dets, const Geometry &geo) {
  const double w = geo.orig_width, h = geo.orig_height;
  if (w <= 0 || h <= 0) // geometry without an image size: nothing to clip to
    return dets;
  for (Detection &d : dets) {
    double x2 = std::clamp(d.x + d.w, 0.0, w), y2 = std::clamp(d.y + d.h, 0.0, h);
    d.x = std::clamp(d.x, 0.0, w);
    d.y = std::clamp(d.y, 0.0, h);
    d.w = x2 - d.x;
    d.h = y2 - d.y;
  }
  return dets;
}

float read_threshold(const YAML::Node &n, const char *key, const std::string &where, float def) {
  float v = yaml::get<float>(n, key, where, def);
  if (!(v >= 0.f && v <= 1.f))
    yaml::fail(where + "." + key, "expected a value in [0, 1], got " + std::to_string(v));
  return v;
}

NmsSettings read_nms(const YAML::Node &n, const std::string &where, NmsSettings def) {
  NmsSettings s;
  s.score_threshold = read_threshold(n, "score_threshold", where, def.score_threshold);
  s.nms_iou = read_threshold(n, "nms_iou", where, def.nms_iou);
  s.max_detections = read_max_detections(n, where, def.max_detections);
  return s;
}

size_t read_max_detections(const YAML::Node &n, const std::string &where, size_t def) {
  // Read as a signed integer: yaml-cpp reads -100 as size_t 2^64-100 or fails with
  // "wrong type", neither of which tells the user what is wrong.
  int64_t v = yaml::get<int64_t>(n, "max_detections", where, static_cast<int64_t>(def));
  if (v < 1)
    yaml::fail(where + ".max_detections", "expected an integer >= 1, got " + std::to_string(v));
  return static_cast<size_t>(v);
}

std::vector<Detection> finish_detections(std::vector<BoxCandidate> cands, const NmsSettings &nms,
                                         int64_t image_id, const Geometry &geo,
                                         const ClassMap &map) {
  auto kept = nms_per_class(std::move(cands), nms.nms_iou, nms.max_detections);
  return clip_to_image(to_detections(kept, image_id, geo, map), geo);
}

const float *f32_data(const Tensor &t, int rank, const std::string &what) {
  if (t.dtype() != DType::f32)
    throw InputError(what + ": expected a float32 tensor, got " +
                     std::string(dtype_name(t.dtype())));
  if (t.rank() != rank)
    throw InputError(what + ": expected rank " + std::to_string(rank) + ", got shape " +
                     shape_str(t.shape()));
  return t.data<float>();
}

namespace {
const char *const kDecoderNames =
    "yolox, tf_object_detection, boxes_scores_classes, ssd, gfl, yolov5, yolov8, tf_ssd";
} // namespace

std::unique_ptr<DetectionDecoder> make_decoder(const YAML::Node &node, const std::string &where) {
  if (!node || !node.IsMap() || node.size() != 1)
    yaml::fail(where, "expected exactly one decoder (" + std::string(kDecoderNames) + ")");
  std::string type = yaml::key_name(node.begin()->first, where);
  const YAML::Node n = node.begin()->second;
  std::string at = where + "." + type;
  if (type == "yolox")
    return make_yolox_decoder(n, at);
  if (type == "tf_object_detection")
    return make_tf_od_decoder(n, at);
  if (type == "boxes_scores_classes")
    return make_bsc_decoder(n, at);
  if (type == "ssd")
    return make_ssd_decoder(n, at);
  if (type == "gfl")
    return make_gfl_decoder(n, at);
  if (type == "yolov5")
    return make_yolov5_decoder(n, at);
  if (type == "yolov8")
    return make_yolov8_decoder(n, at);
  if (type == "tf_ssd")
    return make_tf_ssd_decoder(n, at);
  yaml::fail(at, "unknown decoder (accepted: " + std::string(kDecoderNames) + ")");
}

} // namespace qtune::data
