#pragma once
// COCO detection evaluation reproducing pycocotools' COCOeval (useCats=1) number
// for number: loadRes, evaluateImg (greedy matching by score with crowd and
// area-range ignores), accumulate (monotone precision sampled at 101 recall
// points) and summarize (the 12 stats).
//
// For `qtune evaluate --annotations GT.json --detections RESULTS.json` (the CLI in
// tools/qtune/cmd_evaluate.cpp) call:
//   #include "metrics/coco_eval.h"
//   std::array<double, 12> s = qtune::metrics::evaluate_results_file(gt, results, IouType::bbox);
// or coco_evaluate(...) for per-category AP as well.
#include <array>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "data/coco.h"
#include "metrics/mask.h"
#include "metrics/sample_results.h"
#include "qtune/metric.h"

namespace qtune::metrics {

enum class IouType { bbox, segm };
IouType parse_iou_type(std::string_view name); // "bbox" | "segm", else InputError
const char *iou_type_name(IouType t);

// Names of the 12 summary numbers, pycocotools order (AP, AP50, ..., ARl).
extern const std::array<const char *, 12> kCocoStatNames;

struct CocoEvalResult {
  std::array<double, 12> stats{};
  std::vector<int64_t> category_ids; // ascending COCO ids (K)
  // AP@[.5:.95] per category (area all, 100 dets); -1 where the category has no gt.
  std::vector<double> category_ap;
  // pycocotools' eval['precision'] [T][R][K][A][M] and eval['recall'] [T][K][A][M],
  // flattened row-major; -1 marks "no ground truth".
  std::vector<double> precision;
  std::vector<double> recall;
  std::vector<double> iou_thresholds;    // T = 10
  std::vector<double> recall_thresholds; // R = 101
  // Per image (ascending id), the area-"all" matching: AP on any multiset of
  // images without matching again (metrics/sample_results.h).
  std::vector<CocoImageMatches> image_matches;
};

// pycocotools COCO.annToRLE: polygons (merged; a first polygon of 4 numbers means
// the list holds boxes, as frPyObjects reads it), plain or compressed RLE. Image
// size h x w is used for polygons; RLEs carry their own size.
mask::Rle segmentation_to_rle(const coco::Segmentation &seg, int64_t h, int64_t w,
                              const std::string &where);

// pycocotools COCO.loadRes: results JSON (a list of {image_id, category_id,
// bbox|segmentation, score}) -> annotations with area, ids 1..N and iscrowd 0.
// bbox results get area w*h (and, for segm, the box as mask); segm results get area and
// bbox from the mask. Unknown image ids or categories -> InputError.
std::vector<coco::Annotation> load_results(const coco::Dataset &gt, std::string_view json_text,
                                           const std::string &source);
std::vector<coco::Annotation> load_results_file(const coco::Dataset &gt, const std::string &path);
// The same for detections from a decoder (bbox only).
std::vector<coco::Annotation> results_from_detections(const coco::Dataset &gt,
                                                      std::span<const Detection> detections);

CocoEvalResult coco_evaluate(const coco::Dataset &gt, std::span<const coco::Annotation> results,
                             IouType iou_type);

// The ground truth restricted to `category_ids` (pycocotools' params.catIds): only
// those categories and their annotations remain, so only they enter the
// evaluation. Ids the ground truth does not have are ignored (pycocotools leaves
// them out of every mean as categories without ground truth); none known is an
// InputError. Empty `category_ids`: `gt` unchanged.
coco::Dataset restrict_categories(const coco::Dataset &gt, std::span<const int64_t> category_ids);

// The ground truth of its first `limit` images only (all when 0), so a run over
// part of a set scores only what was run (pycocotools' params.imgIds).
coco::Dataset first_images(const coco::Dataset &gt, size_t limit);

// The inverse of load_results for bbox detections: a COCO results JSON array of
// {image_id, category_id, bbox, score}.
std::string results_json(std::span<const Detection> detections);

// Detection rows as the COCO metrics take them in update(): predictions[0] is
// [M, 7] image_id, category_id, x, y, w, h, score (any numeric dtype).
// InputError naming `metric` otherwise.
std::vector<Detection> detections_from_rows(std::span<const Tensor> predictions,
                                            const std::string &metric);

// pycocotools' summarize() printout of the 12 stats, one line each.
std::string summarize_text(const std::array<double, 12> &stats);

// Loads both files and returns the 12 stats; with `category_ids`, only those
// categories' ground truth and results are evaluated.
std::array<double, 12> evaluate_results_file(const std::string &gt_json,
                                             const std::string &results_json, IouType iou_type,
                                             std::span<const int64_t> category_ids = {});

// The COCO mAP metric for the tuner: result() is AP@[.5:.95] (stats[0]).
// Detections of a category the ground truth does not list (e.g. a TFRecord whose
// ground truth only names the categories it contains) are left out and counted:
// pycocotools gives the same numbers, since a category without ground truth is
// excluded from every mean. Unknown image ids are errors.
class CocoMap : public Metric {
public:
  explicit CocoMap(coco::Dataset gt, IouType iou_type = IouType::bbox);
  static CocoMap from_file(const std::string &annotations_json, IouType iou_type = IouType::bbox);

  // predictions[0]: [M, 7] rows image_id, category_id, x, y, w, h, score (any
  // numeric dtype); labels unused.
  void update(std::span<const Tensor> predictions, std::span<const Tensor> labels) override;
  void add(std::span<const Detection> detections);
  void reset() override { detections_.clear(); }
  double result() const override { return evaluate().stats[0]; }
  std::string name() const override { return "COCOmAP"; }
  CocoEvalResult evaluate() const;
  const coco::Dataset &ground_truth() const { return gt_; }
  // Evaluates only these categories from now on (restrict_categories).
  void restrict_categories(std::span<const int64_t> category_ids);
  // Detections skipped by the last evaluate() for an unknown (or excluded) category.
  int64_t skipped_detections() const { return skipped_; }

private:
  coco::Dataset gt_;
  IouType iou_type_;
  std::vector<Detection> detections_;
  mutable int64_t skipped_ = 0;
};

} // namespace qtune::metrics
