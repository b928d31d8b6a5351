#pragma once
// Accuracy metrics the tuner drives: feed one batch at a time with update(),
// read the score with result(), start over with reset().
//
// Implement your own by deriving from qtune::Metric:
//
//   class MyAccuracy : public qtune::Metric {
//   public:
//     void update(std::span<const qtune::Tensor> predictions,
//                 std::span<const qtune::Tensor> labels) override { ... }
//     void reset() override { ... }
//     double result() const override { ... }
//     std::string name() const override { return "my_accuracy"; }
//   };
//
// Built-in metrics are in qtune/metrics.h: CocoMAP ("COCOmAP": predictions[0]
// = detections [M, 7] rows of image_id, category_id (COCO id), x, y, w, h
// (original pixels), score; ground truth from the dataset or annotations
// file), TopK ("topk": predictions[0] = scores [N, C], labels[0] = class
// indices [N] or one-hot [N, C]) and the label-free FidelityCOCOmAP,
// FidelityTop1 and FidelityRelativeL2 (scored against FP32's own outputs).
#include <cstdint>
#include <span>
#include <string>

#include "qtune/tensor.h"

namespace qtune {

class Metric {
public:
  virtual ~Metric() = default;
  // Accumulates one batch: model outputs (after any postprocessing) and the
  // ground truth that came with the batch.
  virtual void update(std::span<const Tensor> predictions, std::span<const Tensor> labels) = 0;
  // Forgets everything accumulated so far.
  virtual void reset() = 0;
  // The score over everything accumulated since the last reset().
  virtual double result() const = 0;
  virtual std::string name() const = 0;
  // Accuracy-like metrics are higher-is-better; a loss would return false.
  virtual bool higher_is_better() const { return true; }
};

// One detected object in COCO results form (what the detection decoders produce).
struct Detection {
  int64_t image_id = 0;
  int64_t category_id = 0;           // COCO id (1..90), not the contiguous index
  double x = 0, y = 0, w = 0, h = 0; // box, top-left + size, original image pixels
  double score = 0;
};

} // namespace qtune
