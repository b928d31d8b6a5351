#pragma once
/// @file
/// Built-in metrics for an `eval_func`: COCO mAP exactly as pycocotools
/// computes it (with per-image matches) and top-k accuracy.
///
///     qtune::CocoMAP coco(val);          // val: a qtune::Dataset with COCO ground truth
///     coco.add(decoder.decode(...));     // per image
///     double ap = coco.result();         // AP@[.5:.95]
#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "qtune/data.h"
#include "qtune/metric.h"
#include "qtune/tensor.h"

namespace qtune {

/// What one image contributed to COCO mAP (bbox, area "all", maxDets 100).
struct CocoImageResult {
  int64_t image_id = 0;
  int ground_truths = 0; ///< not crowd
  int detections = 0;    ///< kept for matching (top 100 per category)
  int matched_50 = 0;    ///< true positives at IoU 0.50
  int matched_75 = 0;    ///< true positives at IoU 0.75
};

/// COCO bbox mAP (pycocotools-exact). update() takes predictions[0] as
/// detection rows [M, 7]: image_id, category_id (COCO id), x, y, w, h
/// (original pixels), score; add() takes Detection values.
class CocoMAP : public Metric {
public:
  /// Ground truth of the first `limit` images of `dataset` (0: all), as
  /// `qtune evaluate --limit` scores. InputError when the set has no COCO
  /// ground truth.
  explicit CocoMAP(const Dataset &dataset, size_t limit = 0);
  /// Ground truth from a COCO instances_*.json file.
  static CocoMAP from_annotations(const std::string &annotations_json);
  ~CocoMAP() override;
  CocoMAP(CocoMAP &&) noexcept;
  CocoMAP &operator=(CocoMAP &&) noexcept;

  void add(std::span<const Detection> detections);
  void update(std::span<const Tensor> predictions, std::span<const Tensor> labels) override;
  void reset() override;
  double result() const override; ///< AP@[.5:.95]
  std::string name() const override { return "COCOmAP"; }
  /// The 12 summary numbers: AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100,
  /// ARs, ARm, ARl.
  std::array<double, 12> stats() const;
  /// One entry per image with ground truth or detections, ascending image id.
  std::vector<CocoImageResult> per_image() const;

private:
  CocoMAP();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Top-k accuracy: predictions[0] scores [N, C], labels[0] class indices [N]
/// or one-hot [N, C].
class TopK : public Metric {
public:
  explicit TopK(int k = 1);
  ~TopK() override;
  TopK(TopK &&) noexcept;
  TopK &operator=(TopK &&) noexcept;

  void update(std::span<const Tensor> predictions, std::span<const Tensor> labels) override;
  /// One sample: true when `label` is among the `k` highest `scores`.
  void add(std::span<const float> scores, int64_t label);
  void reset() override;
  double result() const override;
  std::string name() const override { return "topk"; }

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace qtune
