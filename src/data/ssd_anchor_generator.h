#pragma once
// The TensorFlow Object Detection API's multiple-grid anchor generator
// (`ssd_anchor_generator` in pipeline.config), from its published semantics:
// layer scales min_scale + (max_scale - min_scale) * i / (num_layers - 1) (or the
// given `scales`), then 1.0; per layer one box per aspect ratio a of size
// (scale / sqrt(a), scale * sqrt(a)) * base anchor size, plus sqrt(scale * next
// scale) at interpolated_scale_aspect_ratio; the lowest layer has only (0.1, 1),
// (scale, 2), (scale, 0.5) when reduce_boxes_in_lowest_layer. Cells row-major,
// boxes innermost; centres (i + 0.5) / grid (or offset + i * stride).
#include <string>
#include <vector>
#include <yaml-cpp/yaml.h>

namespace qtune::data {

struct SsdAnchorConfig {
  int num_layers = 6;
  float min_scale = 0.2f, max_scale = 0.95f;
  std::vector<float> scales; // explicit per-layer scales (overrides min/max)
  std::vector<float> aspect_ratios{1.0f, 2.0f, 0.5f, 3.0f, 0.3333f};
  float interpolated_scale_aspect_ratio = 1.0f;
  bool reduce_boxes_in_lowest_layer = true;
  float base_anchor_height = 1.0f, base_anchor_width = 1.0f;
  // Optional, in input pixels: per layer stride and offset of the cell centres.
  std::vector<float> height_stride, width_stride, height_offset, width_offset;
  std::vector<std::pair<int, int>> feature_map_sizes; // (height, width) per layer
};

// Anchor in normalised input coordinates (centre and size).
struct Anchor {
  float cy, cx, h, w;
};

// `where` names the YAML mapping in errors.
SsdAnchorConfig read_ssd_anchor_config(const YAML::Node &n, const std::string &where);
// Anchors for an input of in_h x in_w pixels (non-square inputs scale the base
// anchor by min(h, w) / h and min(h, w) / w, as the API does).
std::vector<Anchor> generate_ssd_anchors(const SsdAnchorConfig &c, int in_h, int in_w);

} // namespace qtune::data
