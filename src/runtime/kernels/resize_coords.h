#pragma once
// ONNX Resize coordinate_transformation_mode formulas, shared by the float
// Resize and the int8 QResize kernels.
#include <cmath>
#include <cstdint>
#include <fmt/format.h>
#include <span>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "qtune/error.h"
#include "runtime/kernels/kernel_util.h"

namespace qtune::kernels {

// Source coordinate of output index x along an axis resized from `in` to
// `out` elements with `scale`, for every mode but tf_crop_and_resize (which
// needs the roi: the caller handles it). "asymmetric" is the fallback.
inline double resize_source_coord(const std::string &mode, int64_t x, int64_t in, int64_t out,
                                  double scale) {
  if (mode == "half_pixel")
    return (x + 0.5) / scale - 0.5;
  if (mode == "half_pixel_symmetric") {
    double adj = double(out) / (scale * in);
    double center = in / 2.0, offset = center * (1 - adj);
    return offset + (x + 0.5) / scale - 0.5;
  }
  if (mode == "pytorch_half_pixel")
    return out > 1 ? (x + 0.5) / scale - 0.5 : -0.5;
  if (mode == "align_corners") {
    double out_len = scale * in; // the spec divides by the unrounded output length
    return out_len == 1 ? 0.0 : x * double(in - 1) / (out_len - 1);
  }
  if (mode == "tf_half_pixel_for_nn") // opset 11 only
    return (x + 0.5) / scale;
  return x / scale; // asymmetric
}

// Output shape of a Resize from its `sizes` (input 3) or else `scales` (input
// 2); fills the per-axis scale. Errors name the node. The floor of
// in * float(scale) is what ONNX's reference computes.
inline Shape resize_output_shape(const Node &node, std::span<const Tensor> in,
                                 std::vector<double> &scales) {
  const Shape &s = in[0].shape();
  const size_t rank = s.size();
  scales.assign(rank, 1.0);
  Shape out = s;
  if (has_input(in, 3) && in[3].numel() > 0) {
    std::vector<int64_t> sizes = in[3].to_i64_vector();
    if (sizes.size() != rank)
      throw InputError(fmt::format("{}: sizes {} do not match input {}", node.describe(),
                                   shape_str(sizes), shape_str(s)));
    for (size_t i = 0; i < rank; ++i) {
      out[i] = sizes[i];
      scales[i] = s[i] ? double(sizes[i]) / double(s[i]) : 1.0;
    }
  } else if (has_input(in, 2) && in[2].numel() > 0) {
    if (static_cast<size_t>(in[2].numel()) != rank)
      throw InputError(
          fmt::format("{}: {} scales for input {}", node.describe(), in[2].numel(), shape_str(s)));
    for (size_t i = 0; i < rank; ++i) {
      scales[i] = in[2].get_f64(i);
      if (!(scales[i] > 0))
        throw InputError(node.describe() + ": scales must be positive");
      out[i] = static_cast<int64_t>(std::floor(double(s[i]) * float(scales[i])));
    }
  } else {
    throw InputError(node.describe() + ": needs scales or sizes");
  }
  return out;
}

} // namespace qtune::kernels
