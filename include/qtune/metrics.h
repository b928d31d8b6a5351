#pragma once
/// @file
/// Built-in metrics for an `eval_func`: COCO mAP exactly as pycocotools
/// computes it (with per-image matches), top-k accuracy, and the label-free
/// fidelity metrics that score a candidate model against the FP32 model's own
/// outputs (FidelityCOCOmAP, FidelityTop1, FidelityRelativeL2 with SQNR).
///
///     qtune::CocoMAP coco(val);          // val: a qtune::Dataset with COCO ground truth
///     coco.add(decoder.decode(...));     // per image
///     double ap = coco.result();         // AP@[.5:.95]
///
/// The fidelity metrics take the FP32 model's outputs once (add_reference()),
/// then a candidate's outputs for the same samples in the same order (add() or
/// update()); reset() forgets the candidate and keeps the reference, so one
/// object scores every candidate of a tuning run:
///
///     qtune::FidelityTop1 agree;
///     for (auto &x : samples) agree.add_reference(scores_of(fp32, x));
///     qtune::EvalFunc f = [&](qtune::Model &m) {
///       agree.reset();
///       for (auto &x : samples) agree.add(scores_of(m, x));
///       return agree.result();           // 1: every top-1 class is FP32's
///     };
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

/// Label-free COCO mAP: the candidate's detections scored (pycocotools-exact,
/// as CocoMAP) against the FP32 model's detections with score >=
/// `score_threshold` as ground truth. The FP32 model scores 1 against itself.
/// The YAML metric `FidelityCOCOmAP: {score_threshold: 0.3}` computes the same.
class FidelityCOCOmAP : public Metric {
public:
  explicit FidelityCOCOmAP(double score_threshold = 0.3);
  ~FidelityCOCOmAP() override;
  FidelityCOCOmAP(FidelityCOCOmAP &&) noexcept;
  FidelityCOCOmAP &operator=(FidelityCOCOmAP &&) noexcept;

  /// The FP32 model's detections of image `image_id`. Call it for every image
  /// the candidate will be scored on, also when `fp32` is empty: the
  /// candidate's detections on an image it was not given are an error.
  void add_reference(int64_t image_id, std::span<const Detection> fp32);
  /// Forgets the reference (and the candidate).
  void clear_reference();
  /// The candidate's detections (any images of the reference, any order).
  void add(std::span<const Detection> detections);
  /// predictions[0]: detection rows [M, 7] as CocoMAP::update takes them.
  void update(std::span<const Tensor> predictions, std::span<const Tensor> labels) override;
  /// Forgets the candidate's detections, keeps the reference.
  void reset() override;
  /// AP@[.5:.95] against the reference. InputError when no FP32 detection
  /// reaches the threshold.
  double result() const override;
  std::string name() const override { return "FidelityCOCOmAP"; }
  /// The 12 COCO summary numbers against the reference (as CocoMAP::stats).
  std::array<double, 12> stats() const;
  /// Per image: the FP32 boxes it has, the candidate's matches (as CocoMAP::per_image).
  std::vector<CocoImageResult> per_image() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Label-free top-1 agreement: the share of samples whose highest-scoring
/// class is the FP32 model's (first index on ties). The YAML metric
/// `FidelityTop1: {}` computes the same.
class FidelityTop1 : public Metric {
public:
  FidelityTop1();
  ~FidelityTop1() override;
  FidelityTop1(FidelityTop1 &&) noexcept;
  FidelityTop1 &operator=(FidelityTop1 &&) noexcept;

  /// The FP32 model's class scores of the next sample.
  void add_reference(std::span<const float> fp32_scores);
  /// predictions[0]: the FP32 model's scores [N, C] (N samples) or [C] (one).
  void update_reference(std::span<const Tensor> predictions);
  /// Forgets the reference (and the candidate).
  void clear_reference();
  /// The candidate's class scores of its next sample (compared with the
  /// reference sample at the same position). InputError past the reference's
  /// last sample.
  void add(std::span<const float> scores);
  /// predictions[0]: scores [N, C] or [C], as update_reference; labels unused.
  void update(std::span<const Tensor> predictions, std::span<const Tensor> labels) override;
  /// Forgets the candidate's samples, keeps the reference.
  void reset() override;
  /// Agreeing samples / the candidate's samples (0 before any).
  double result() const override;
  std::string name() const override { return "FidelityTop1"; }

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Label-free output error: sqrt(sum (x' - x)^2 / sum x^2) over every output
/// value x of the FP32 model and x' of the candidate, all samples together
/// (0 = identical; lower is better). The YAML metric `FidelityRelativeL2: {}`
/// computes the same. sqnr_db() gives it as a signal-to-quantization-noise
/// ratio.
class FidelityRelativeL2 : public Metric {
public:
  FidelityRelativeL2();
  ~FidelityRelativeL2() override;
  FidelityRelativeL2(FidelityRelativeL2 &&) noexcept;
  FidelityRelativeL2 &operator=(FidelityRelativeL2 &&) noexcept;

  /// The FP32 model's output values of the next sample (all outputs, in any
  /// fixed order).
  void add_reference(std::span<const float> fp32_values);
  /// The FP32 model's outputs of the next sample: every tensor's values, in
  /// order, as one sample.
  void update_reference(std::span<const Tensor> predictions);
  /// Forgets the reference (and the candidate).
  void clear_reference();
  /// The candidate's values of its next sample, as many as the reference
  /// sample at that position has (InputError naming the sample otherwise).
  void add(std::span<const float> values);
  /// The candidate's outputs of its next sample, as update_reference; labels unused.
  void update(std::span<const Tensor> predictions, std::span<const Tensor> labels) override;
  /// Forgets the candidate's samples, keeps the reference.
  void reset() override;
  /// sqrt(sum (x' - x)^2 / sum x^2) over the candidate's samples so far.
  double result() const override;
  /// 10 log10(sum x^2 / sum (x' - x)^2) = -20 log10(result()); +inf when the
  /// outputs are identical.
  double sqnr_db() const;
  std::string name() const override { return "FidelityRelativeL2"; }
  bool higher_is_better() const override { return false; }

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace qtune
