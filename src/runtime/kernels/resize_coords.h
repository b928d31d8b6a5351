#pragma once
// ONNX Resize coordinate_transformation_mode formulas, shared by the float
// Resize and the int8 QResize kernels.
#include <cstdint>
#include <string>

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

} // namespace qtune::kernels
