#pragma once
// Per-sample results of one evaluation: enough to recompute the metric on any
// multiset of the samples without running the model again. The tuner's paired
// bootstrap draws samples with replacement (a sample drawn twice counts twice);
// a sharded evaluation (one shard per MPI rank) concatenates its shards' results
// with append(). Plain data, no pointers: to_json() / sample_results_from_json()
// round-trip it exactly.
//
// Two shapes, by `reduce`:
//  - additive metrics (topk, Accuracy, MSE, RMSE, MAE, Loss, the fidelity
//    metrics): per sample one numerator and one denominator (`num[i]`, `den[i]`);
//    the metric is a function of the totals: ratio N/D, sqrt_ratio sqrt(N/D).
//    topk: num = 1 if correct, den = 1. MSE: num = sum of squared errors,
//    den = number of elements. Relative L2: num = |out - ref|^2, den = |ref|^2.
//  - coco_ap: one CocoImageMatches per image (pycocotools' evaluateImg for area
//    "all", the result of matching, which is the expensive part): AP@[.5:.95]
//    on a multiset of images is accumulate + summarize over those records, and
//    equals pycocotools on the dataset with the drawn images literally
//    duplicated (ground truth and detections, copies given ascending new ids).
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace qtune::metrics {

// One image's detections matched against its ground truth, per category.
struct CocoImageMatches {
  int64_t image_id = 0;
  struct Category {
    int32_t index = 0;    // contiguous category index (ascending COCO id) of the ground truth
    uint32_t gt_kept = 0; // ground truths not ignored (not crowd) at area "all"
    // The image's top-100 detections of this category, by descending score
    // (stable: ties keep the results' order); bit t of tp / fp: true / false
    // positive at IoU threshold .50 + .05 t (neither: matched an ignored gt).
    std::vector<double> score;
    std::vector<uint16_t> tp, fp;
  };
  std::vector<Category> categories; // only categories with ground truth or detections
};

enum class Reduce { ratio, sqrt_ratio, coco_ap };

struct SampleResults {
  Reduce reduce = Reduce::ratio;
  std::vector<double> num, den;         // additive: one entry per sample
  std::vector<CocoImageMatches> images; // coco_ap: one entry per image, ascending image id
  int32_t num_categories = 0;           // coco_ap: K of the ground truth

  size_t size() const { return reduce == Reduce::coco_ap ? images.size() : num.size(); }
  bool empty() const { return size() == 0; }
  // Appends another shard's samples (same reduce and categories).
  void append(const SampleResults &other);
};

// The metric over every sample once.
double metric_value(const SampleResults &r);
// The metric with sample i counted counts[i] times (counts.size() == r.size()).
double metric_value(const SampleResults &r, std::span<const uint32_t> counts);

// AP@[.5:.95] (area all, 100 detections) of a multiset of images, as COCOeval's
// accumulate + summarize would compute it on the duplicated dataset.
double coco_ap(std::span<const CocoImageMatches> images, int32_t num_categories,
               std::span<const uint32_t> counts);

nlohmann::json to_json(const SampleResults &r);
SampleResults sample_results_from_json(const nlohmann::json &j, const std::string &where);

} // namespace qtune::metrics
