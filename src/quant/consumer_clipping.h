#pragma once
// Recipe `consumer_error_clipping`. Min/max calibration keeps every outlier of
// the calibration set in an activation's range, so the bulk of the values gets
// few levels; histogram methods (kl, percentile) clip by the tensor's own
// distribution, which says nothing about what the next layer does with the
// clipped values. Here the clip of an activation that feeds convolutions is
// chosen by the error it causes at those convs' outputs: for candidate ranges
// f * (calibrated range), f in {1, 0.9, ..., 0.4} (scale f * s, zero point
// kept so 0 stays exact), on calibration inputs of the QDQ model itself,
//   err(f) = sum over consumers C, samples: || conv_C(DQ(Q(x; f s)) - x) ||^2
// (conv without bias: the conv is linear, so this is its output change), with
// the consumers' int8 weights; the smallest err wins.
//
// Only activations whose every reader is a Conv (after its DQ) and whose
// producer is not a pass-through op (MaxPool / Concat / Reshape ...: their
// scales are shared with neighbours by scale propagation) are changed.
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/graph.h"
#include "qtune/tensor.h"

namespace qtune::quant {

struct ClippingReport {
  int tensors = 0;          // activations considered
  int clipped = 0;          // of those, given a narrower range than min/max
  double mean_fraction = 1; // mean chosen f over the considered ones
  std::string summary() const;
};

// `qdq` = quantize_graph(...) output; its activation scales change in place.
ClippingReport
clip_by_consumer_error(Graph &qdq,
                       const std::vector<std::unordered_map<std::string, Tensor>> &batches);

} // namespace qtune::quant
