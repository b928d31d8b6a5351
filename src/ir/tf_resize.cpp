#include "ir/tf_resize.h"

#include <algorithm>
#include <cmath>

namespace qtune {

namespace {

float tf_scale(int64_t in, int64_t out, TfResizeMode m) {
  return m.align_corners && out > 1 ? float(in - 1) / float(out - 1) : float(in) / float(out);
}

} // namespace

std::vector<TfLerp> tf_bilinear_axis(int64_t in, int64_t out, TfResizeMode m) {
  const float sc = tf_scale(in, out, m);
  std::vector<TfLerp> v(out);
  for (int64_t i = 0; i < out; ++i) {
    float src = m.half_pixel_centers ? (float(i) + 0.5f) * sc - 0.5f : float(i) * sc;
    float f = std::floor(src);
    v[i] = {std::clamp<int64_t>(int64_t(f), 0, in - 1),
            std::min<int64_t>(int64_t(std::ceil(src)), in - 1), src - f};
  }
  return v;
}

std::vector<int64_t> tf_nearest_axis(int64_t in, int64_t out, TfResizeMode m) {
  const float sc = tf_scale(in, out, m);
  std::vector<int64_t> v(out);
  for (int64_t i = 0; i < out; ++i) {
    float src = m.half_pixel_centers ? (float(i) + 0.5f) * sc : float(i) * sc;
    int64_t k = m.align_corners ? int64_t(std::round(src)) : int64_t(std::floor(src));
    v[i] = std::clamp<int64_t>(k, 0, in - 1);
  }
  return v;
}

} // namespace qtune
