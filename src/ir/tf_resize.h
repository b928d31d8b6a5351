#pragma once
// TensorFlow 1.x resize coordinates (ResizeBilinear / ResizeNearestNeighbor),
// computed in float as TensorFlow's CPU kernels do: source = dst * scale (or
// (dst + 0.5) * scale - 0.5 with half_pixel_centers), scale = in / out (or
// (in - 1) / (out - 1) with align_corners). One copy for the runtime's tf:
// kernels and the data pipeline's `Resize: {mode: tf_legacy}` transform, so a
// preprocessed image and an in-graph resize agree pixel for pixel.
#include <cstdint>
#include <vector>

namespace qtune {

struct TfResizeMode {
  bool align_corners = false;
  bool half_pixel_centers = false;
};

// One output coordinate's bilinear source: lower and upper index, weight of upper.
struct TfLerp {
  int64_t lo = 0, hi = 0;
  float t = 0;
};

// Bilinear sources of every output index along one axis resized in -> out.
std::vector<TfLerp> tf_bilinear_axis(int64_t in, int64_t out, TfResizeMode mode);
// Nearest source of every output index (round with align_corners, else floor).
std::vector<int64_t> tf_nearest_axis(int64_t in, int64_t out, TfResizeMode mode);

} // namespace qtune
