#pragma once
// Axis-aligned boxes in corner form, their intersection over union and greedy
// hard suppression, shared by the ONNX NonMaxSuppression and the TF
// NonMaxSuppressionV2..V5 kernels.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

namespace qtune::kernels {

struct Box {
  float y1, x1, y2, x2;
};

// Corners in either order (TF and ONNX allow flipped boxes) -> min/max form.
inline Box box_from_corners(const float *p) {
  return {std::min(p[0], p[2]), std::min(p[1], p[3]), std::max(p[0], p[2]), std::max(p[1], p[3])};
}

// IoU of two min/max-form boxes; 0 when they do not overlap or are empty.
inline float iou(const Box &a, const Box &b) {
  float ih = std::min(a.y2, b.y2) - std::max(a.y1, b.y1);
  float iw = std::min(a.x2, b.x2) - std::max(a.x1, b.x1);
  if (ih <= 0 || iw <= 0)
    return 0;
  float inter = ih * iw;
  float area_a = (a.y2 - a.y1) * (a.x2 - a.x1), area_b = (b.y2 - b.y1) * (b.x2 - b.x1);
  float uni = area_a + area_b - inter;
  return uni > 0 ? inter / uni : 0;
}

// Greedy hard NMS over boxes[i] / scores[i]: candidates (score above
// score_threshold when given) in descending score order, ties by lower index;
// one is kept unless its IoU with an already kept box exceeds iou_threshold.
// Returns at most max_out kept indices in selection order.
inline std::vector<int64_t> greedy_nms(const std::vector<Box> &boxes, const float *scores,
                                       int64_t max_out, float iou_threshold,
                                       std::optional<float> score_threshold) {
  std::vector<int64_t> order, kept;
  for (int64_t i = 0; i < static_cast<int64_t>(boxes.size()); ++i)
    if (!score_threshold || scores[i] > *score_threshold)
      order.push_back(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return scores[a] > scores[b]; });
  for (int64_t i : order) {
    if (static_cast<int64_t>(kept.size()) >= max_out)
      break;
    bool keep = std::none_of(kept.begin(), kept.end(),
                             [&](int64_t k) { return iou(boxes[i], boxes[k]) > iou_threshold; });
    if (keep)
      kept.push_back(i);
  }
  return kept;
}

} // namespace qtune::kernels
