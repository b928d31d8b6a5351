#pragma once
// Label-free fidelity: how closely a candidate (quantized) model reproduces
// the FP32 model's own outputs on the same samples. The YAML metrics
// FidelityCOCOmAP / FidelityTop1 / FidelityRelativeL2 (tune/sample_scorer.h)
// and the public qtune/metrics.h classes both compute with these pieces, so
// the CLI and an API user's eval_func give the same numbers.
#include <cstdint>
#include <span>
#include <string>

#include "data/coco.h"
#include "qtune/metric.h"

namespace qtune::metrics {

// COCO ground truth made of the FP32 model's detections with score >=
// `score_threshold` (boxes with area w*h, not crowd) on `image_ids`, every
// image that was run, also those without detections, so a candidate's
// detections there count as false positives. Categories: those detected.
// InputError naming `metric` when no detection passes the threshold.
coco::Dataset detections_as_ground_truth(std::span<const int64_t> image_ids,
                                         std::span<const Detection> reference,
                                         double score_threshold, const std::string &metric);

// Index of the first largest value (the top-1 class FidelityTop1 compares).
int64_t argmax(std::span<const float> values);

// One sample's outputs against the FP32 model's, element by element.
struct OutputErrorSums {
  double abs_error = 0;        // sum |x' - x|
  double squared_error = 0;    // sum (x' - x)^2
  double reference_energy = 0; // sum x^2
};
// `got` and `reference` have the same size (the caller says which sample
// differs otherwise).
OutputErrorSums output_error_sums(std::span<const float> got, std::span<const float> reference);

} // namespace qtune::metrics
