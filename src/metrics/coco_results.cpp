// COCO results files (pycocotools COCO.loadRes) and the CocoMap metric.
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "metrics/coco_eval.h"
#include "qtune/error.h"

namespace qtune::metrics {

using nlohmann::json;

IouType parse_iou_type(std::string_view name) {
  if (name == "bbox")
    return IouType::bbox;
  if (name == "segm")
    return IouType::segm;
  throw InputError("unknown IoU type \"" + std::string(name) + "\" (expected bbox or segm)");
}

const char *iou_type_name(IouType t) {
  return t == IouType::bbox ? "bbox" : "segm";
}

std::string results_json(std::span<const Detection> detections) {
  json arr = json::array();
  for (const auto &d : detections)
    arr.push_back({{"image_id", d.image_id},
                   {"category_id", d.category_id},
                   {"bbox", {d.x, d.y, d.w, d.h}},
                   {"score", d.score}});
  return arr.dump();
}

std::string summarize_text(const std::array<double, 12> &s) {
  static const char *rows[12][3] = {
      {"Precision", "0.50:0.95", "   all"}, {"Precision", "0.50     ", "   all"},
      {"Precision", "0.75     ", "   all"}, {"Precision", "0.50:0.95", " small"},
      {"Precision", "0.50:0.95", "medium"}, {"Precision", "0.50:0.95", " large"},
      {"Recall   ", "0.50:0.95", "   all"}, {"Recall   ", "0.50:0.95", "   all"},
      {"Recall   ", "0.50:0.95", "   all"}, {"Recall   ", "0.50:0.95", " small"},
      {"Recall   ", "0.50:0.95", "medium"}, {"Recall   ", "0.50:0.95", " large"}};
  static const int dets[12] = {100, 100, 100, 100, 100, 100, 1, 10, 100, 100, 100, 100};
  std::string out;
  for (int i = 0; i < 12; ++i)
    out += fmt::format(" Average {}  ({}) @[ IoU={} | area={} | maxDets={:3d} ] = {:.3f}\n",
                       rows[i][0], i < 6 ? "AP" : "AR", rows[i][1], rows[i][2], dets[i], s[i]);
  return out;
}

static uint32_t dim32(int64_t v, const std::string &where) {
  if (v < 0 || v > int64_t(UINT32_MAX))
    throw InputError(where + ": mask size " + std::to_string(v) + " out of range");
  return static_cast<uint32_t>(v);
}

mask::Rle segmentation_to_rle(const coco::Segmentation &seg, int64_t h, int64_t w,
                              const std::string &where) {
  using Kind = coco::Segmentation::Kind;
  // An RLE of another size would be read with the wrong stride (garbage IoUs).
  if ((seg.kind == Kind::rle_string || seg.kind == Kind::rle_counts) &&
      (seg.rle_height != h || seg.rle_width != w))
    throw InputError(fmt::format("{}: RLE size [{}, {}] differs from its image's [{}, {}]", where,
                                 seg.rle_height, seg.rle_width, h, w));
  switch (seg.kind) {
  case Kind::rle_string:
    return mask::rle_from_string(seg.counts_string, dim32(seg.rle_height, where),
                                 dim32(seg.rle_width, where), where);
  case Kind::rle_counts:
    return {dim32(seg.rle_height, where), dim32(seg.rle_width, where), seg.counts};
  case Kind::polygons: {
    uint32_t h32 = dim32(h, where), w32 = dim32(w, where);
    if (seg.polygons.empty())
      return {h32, w32, {h32 * w32}};
    // frPyObjects decides by the first entry: 4 numbers = a list of boxes, more =
    // polygons (later ones may be degenerate), fewer = unsupported.
    bool boxes = seg.polygons[0].size() == 4;
    if (seg.polygons[0].size() < 4)
      throw InputError(where + ": first polygon has fewer than 2 points");
    std::vector<mask::Rle> parts;
    parts.reserve(seg.polygons.size());
    for (const auto &poly : seg.polygons) {
      if (boxes) {
        if (poly.size() != 4)
          throw InputError(where + ": mixed boxes and polygons");
        parts.push_back(mask::rle_from_bbox({poly[0], poly[1], poly[2], poly[3]}, h32, w32));
      } else {
        parts.push_back(mask::rle_from_polygon(poly, h32, w32));
      }
    }
    return mask::rle_merge(parts);
  }
  case Kind::none:
    break;
  }
  throw InputError(where + ": annotation has no segmentation");
}

static const json &require(const json &obj, const char *key, const std::string &where) {
  auto it = obj.find(key);
  if (it == obj.end())
    throw InputError(where + ": missing field \"" + key + "\"");
  return *it;
}

static int64_t require_id(const json &obj, const char *key, const std::string &where) {
  const json &v = require(obj, key, where);
  if (std::optional<int64_t> id = coco::json_int64(v))
    return *id;
  throw InputError(where + "." + key + ": expected an integer id that fits int64, got " + v.dump());
}

static bool has_nonempty(const json &obj, const char *key) {
  auto it = obj.find(key);
  return it != obj.end() && !it->is_null() && !(it->is_array() && it->empty());
}

std::vector<coco::Annotation> load_results(const coco::Dataset &gt, std::string_view json_text,
                                           const std::string &source) {
  json root = coco::parse_json(json_text, source);
  if (!root.is_array())
    throw InputError(source + ": results must be a JSON array of detections");
  // Like loadRes, the first entry decides: a non-empty bbox means box results.
  bool box_results = root.empty() || (root[0].is_object() && has_nonempty(root[0], "bbox"));
  std::vector<coco::Annotation> out;
  out.reserve(root.size());
  for (size_t i = 0; i < root.size(); ++i) {
    const json &r = root[i];
    std::string where = source + ": [" + std::to_string(i) + "]";
    if (!r.is_object())
      throw InputError(where + ": expected an object");
    coco::Annotation a;
    a.id = static_cast<int64_t>(i) + 1;
    a.image_id = require_id(r, "image_id", where);
    a.category_id = require_id(r, "category_id", where);
    const json &score = require(r, "score", where);
    if (!score.is_number())
      throw InputError(where + ".score: expected a number");
    a.score = score.get<double>();
    int64_t img = gt.image_index(a.image_id);
    if (img < 0)
      throw InputError(where + ": image_id " + std::to_string(a.image_id) +
                       " is not in the ground truth " + gt.source);
    if (gt.category_index(a.category_id) < 0)
      throw InputError(where + ": category_id " + std::to_string(a.category_id) +
                       " is not a category of the ground truth " + gt.source);
    if (auto it = r.find("segmentation"); it != r.end() && !it->is_null())
      a.segmentation = coco::parse_segmentation(*it, where + ".segmentation");
    if (box_results) {
      a.bbox = coco::parse_bbox(require(r, "bbox", where), where + ".bbox");
      a.has_bbox = true;
      a.area = a.bbox[2] * a.bbox[3];
      // No segmentation: loadRes uses the box polygon; the evaluator does the same
      // (Geometry::ensure_mask in coco_eval.cpp) without storing it.
    } else {
      if (a.segmentation.kind == coco::Segmentation::Kind::none)
        throw InputError(where + ": missing \"segmentation\" (the first result has no bbox)");
      const coco::Image &image = gt.images[img];
      mask::Rle rle =
          segmentation_to_rle(a.segmentation, image.height, image.width, where + ".segmentation");
      a.area = static_cast<double>(mask::rle_area(rle));
      if (has_nonempty(r, "bbox")) {
        a.bbox = coco::parse_bbox(r["bbox"], where + ".bbox");
      } else {
        auto box = mask::rle_to_bbox(rle);
        a.bbox = {box[0], box[1], box[2], box[3]};
      }
      a.has_bbox = true;
    }
    a.has_area = true;
    a.iscrowd = false;
    out.push_back(std::move(a));
  }
  return out;
}

std::vector<coco::Annotation> load_results_file(const coco::Dataset &gt, const std::string &path) {
  return load_results(gt, coco::read_text_file(path), path);
}

std::vector<coco::Annotation> results_from_detections(const coco::Dataset &gt,
                                                      std::span<const Detection> detections) {
  std::vector<coco::Annotation> out;
  out.reserve(detections.size());
  for (size_t i = 0; i < detections.size(); ++i) {
    const Detection &d = detections[i];
    std::string where = "detection " + std::to_string(i);
    if (gt.image_index(d.image_id) < 0)
      throw InputError(where + ": image_id " + std::to_string(d.image_id) +
                       " is not in the ground truth " + gt.source);
    if (gt.category_index(d.category_id) < 0)
      throw InputError(where + ": category_id " + std::to_string(d.category_id) +
                       " is not a category of the ground truth " + gt.source);
    coco::Annotation a;
    a.id = static_cast<int64_t>(i) + 1;
    a.image_id = d.image_id;
    a.category_id = d.category_id;
    a.bbox = {d.x, d.y, d.w, d.h};
    a.has_bbox = true;
    a.area = d.w * d.h;
    a.has_area = true;
    a.score = d.score;
    out.push_back(std::move(a));
  }
  return out;
}

coco::Dataset restrict_categories(const coco::Dataset &gt, std::span<const int64_t> category_ids) {
  if (category_ids.empty())
    return gt;
  std::set<int64_t> keep;
  for (int64_t id : category_ids)
    if (gt.category_index(id) >= 0)
      keep.insert(id);
  if (keep.empty())
    throw InputError(gt.source + ": none of the requested category ids is a category of the "
                                 "ground truth");
  coco::Dataset sub;
  sub.source = gt.source;
  sub.images = gt.images;
  for (const auto &c : gt.categories)
    if (keep.count(c.id))
      sub.categories.push_back(c);
  for (const auto &a : gt.annotations)
    if (keep.count(a.category_id))
      sub.annotations.push_back(a);
  sub.build_index();
  return sub;
}

coco::Dataset first_images(const coco::Dataset &gt, size_t limit) {
  if (limit == 0 || limit >= gt.images.size())
    return gt;
  coco::Dataset sub = gt;
  sub.images.resize(limit);
  std::set<int64_t> keep;
  for (const auto &im : sub.images)
    keep.insert(im.id);
  sub.annotations.clear();
  for (const auto &an : gt.annotations)
    if (keep.count(an.image_id))
      sub.annotations.push_back(an);
  sub.build_index();
  return sub;
}

std::array<double, 12> evaluate_results_file(const std::string &gt_json,
                                             const std::string &results_json, IouType iou_type,
                                             std::span<const int64_t> category_ids) {
  coco::Dataset gt = coco::load_coco(gt_json);
  // Results are checked against the whole ground truth, then restricted with it.
  std::vector<coco::Annotation> results = load_results_file(gt, results_json);
  if (category_ids.empty())
    return coco_evaluate(gt, results, iou_type).stats;
  coco::Dataset sub = restrict_categories(gt, category_ids);
  std::erase_if(results,
                [&](const coco::Annotation &a) { return sub.category_index(a.category_id) < 0; });
  return coco_evaluate(sub, results, iou_type).stats;
}

CocoMap::CocoMap(coco::Dataset gt, IouType iou_type) : gt_(std::move(gt)), iou_type_(iou_type) {
  if (iou_type_ != IouType::bbox)
    throw UnsupportedError("CocoMap: detections carry boxes only; use coco_evaluate for segm");
}

CocoMap CocoMap::from_file(const std::string &annotations_json, IouType iou_type) {
  return CocoMap(coco::load_coco(annotations_json), iou_type);
}

std::vector<Detection> detections_from_rows(std::span<const Tensor> predictions,
                                            const std::string &metric) {
  if (predictions.empty())
    throw InputError(metric + ": no prediction tensor given");
  const Tensor &t = predictions[0];
  if (t.rank() != 2 || t.dim(1) != 7)
    throw InputError(metric + ": detections must be [M, 7] (image_id, category_id, x, y, w, h, " +
                     "score), got " + shape_str(t.shape()));
  std::vector<Detection> out;
  for (int64_t i = 0; i < t.dim(0); ++i) {
    Detection d;
    d.image_id = static_cast<int64_t>(t.get_f64(i * 7 + 0));
    d.category_id = static_cast<int64_t>(t.get_f64(i * 7 + 1));
    d.x = t.get_f64(i * 7 + 2);
    d.y = t.get_f64(i * 7 + 3);
    d.w = t.get_f64(i * 7 + 4);
    d.h = t.get_f64(i * 7 + 5);
    d.score = t.get_f64(i * 7 + 6);
    out.push_back(d);
  }
  return out;
}

void CocoMap::update(std::span<const Tensor> predictions, std::span<const Tensor> /*labels*/) {
  add(detections_from_rows(predictions, "COCOmAP"));
}

void CocoMap::restrict_categories(std::span<const int64_t> category_ids) {
  gt_ = metrics::restrict_categories(gt_, category_ids);
}

void CocoMap::add(std::span<const Detection> detections) {
  detections_.insert(detections_.end(), detections.begin(), detections.end());
}

CocoEvalResult CocoMap::evaluate() const {
  std::vector<Detection> known;
  known.reserve(detections_.size());
  for (const Detection &d : detections_)
    if (gt_.category_index(d.category_id) >= 0)
      known.push_back(d);
  skipped_ = static_cast<int64_t>(detections_.size() - known.size());
  std::vector<coco::Annotation> results = results_from_detections(gt_, known);
  return coco_evaluate(gt_, results, iou_type_);
}

} // namespace qtune::metrics
