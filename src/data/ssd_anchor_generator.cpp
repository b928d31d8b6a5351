#include "data/ssd_anchor_generator.h"

#include <algorithm>
#include <cmath>

#include "data/yaml_util.h"

namespace qtune::data {

namespace {

struct BoxSpec {
  float scale, aspect;
};

std::vector<std::vector<BoxSpec>> box_specs(const SsdAnchorConfig &c) {
  std::vector<float> scales = c.scales;
  if (scales.empty())
    for (int i = 0; i < c.num_layers; ++i)
      scales.push_back(c.min_scale + (c.max_scale - c.min_scale) * float(i) /
                                         float(std::max(1, c.num_layers - 1)));
  scales.push_back(1.0f);
  std::vector<std::vector<BoxSpec>> specs;
  for (int l = 0; l < c.num_layers; ++l) {
    std::vector<BoxSpec> s;
    if (l == 0 && c.reduce_boxes_in_lowest_layer) {
      s = {{0.1f, 1.0f}, {scales[0], 2.0f}, {scales[0], 0.5f}};
    } else {
      for (float a : c.aspect_ratios)
        s.push_back({scales[l], a});
      if (c.interpolated_scale_aspect_ratio > 0)
        s.push_back({std::sqrt(scales[l] * scales[l + 1]), c.interpolated_scale_aspect_ratio});
    }
    specs.push_back(std::move(s));
  }
  return specs;
}

std::vector<float> floats(const YAML::Node &n, const char *key, const std::string &at) {
  return yaml::get<std::vector<float>>(n, key, at, {});
}

} // namespace

SsdAnchorConfig read_ssd_anchor_config(const YAML::Node &n, const std::string &at) {
  yaml::check_keys(n, at, "decoder.tf_ssd.anchor_generator");
  SsdAnchorConfig c;
  c.num_layers = yaml::get<int>(n, "num_layers", at, c.num_layers);
  c.min_scale = yaml::get<float>(n, "min_scale", at, c.min_scale);
  c.max_scale = yaml::get<float>(n, "max_scale", at, c.max_scale);
  c.scales = floats(n, "scales", at);
  c.aspect_ratios = yaml::get<std::vector<float>>(n, "aspect_ratios", at, c.aspect_ratios);
  c.interpolated_scale_aspect_ratio =
      yaml::get<float>(n, "interpolated_scale_aspect_ratio", at, c.interpolated_scale_aspect_ratio);
  c.reduce_boxes_in_lowest_layer =
      yaml::get<bool>(n, "reduce_boxes_in_lowest_layer", at, c.reduce_boxes_in_lowest_layer);
  c.base_anchor_height = yaml::get<float>(n, "base_anchor_height", at, c.base_anchor_height);
  c.base_anchor_width = yaml::get<float>(n, "base_anchor_width", at, c.base_anchor_width);
  c.height_stride = floats(n, "height_stride", at);
  c.width_stride = floats(n, "width_stride", at);
  c.height_offset = floats(n, "height_offset", at);
  c.width_offset = floats(n, "width_offset", at);
  if (c.num_layers < 1)
    yaml::fail(at + ".num_layers", "expected at least 1");
  if (!c.scales.empty() && c.scales.size() != size_t(c.num_layers))
    yaml::fail(at + ".scales",
               "needs one scale per layer (num_layers " + std::to_string(c.num_layers) + ")");
  if (c.aspect_ratios.empty())
    yaml::fail(at + ".aspect_ratios", "needs at least one aspect ratio");
  for (float a : c.aspect_ratios)
    if (!(a > 0))
      yaml::fail(at + ".aspect_ratios", "aspect ratios must be positive");
  auto sizes = yaml::get<std::vector<std::vector<int>>>(n, "feature_map_sizes", at, {});
  if (sizes.size() != size_t(c.num_layers))
    yaml::fail(at + ".feature_map_sizes",
               "needs one [height, width] per layer (num_layers " + std::to_string(c.num_layers) +
                   "), e.g. [[19, 19], [10, 10], [5, 5], [3, 3], [2, 2], [1, 1]] for 300x300");
  for (const auto &s : sizes) {
    if (s.size() != 2 || s[0] < 1 || s[1] < 1)
      yaml::fail(at + ".feature_map_sizes", "each entry is [height, width], both positive");
    c.feature_map_sizes.emplace_back(s[0], s[1]);
  }
  for (const auto *v : {&c.height_stride, &c.width_stride, &c.height_offset, &c.width_offset})
    if (!v->empty() && v->size() != size_t(c.num_layers))
      yaml::fail(at, "height/width stride and offset lists need one value per layer");
  return c;
}

std::vector<Anchor> generate_ssd_anchors(const SsdAnchorConfig &c, int in_h, int in_w) {
  const float min_side = float(std::min(in_h, in_w));
  const float base_h = min_side / float(in_h) * c.base_anchor_height;
  const float base_w = min_side / float(in_w) * c.base_anchor_width;
  std::vector<Anchor> out;
  auto specs = box_specs(c);
  for (int l = 0; l < c.num_layers; ++l) {
    const auto [gh, gw] = c.feature_map_sizes[l];
    // Default stride 1 / grid and offset half a stride (normalised); given ones are pixels.
    float sy = c.height_stride.empty() ? 1.f / float(gh) : c.height_stride[l] / float(in_h);
    float sx = c.width_stride.empty() ? 1.f / float(gw) : c.width_stride[l] / float(in_w);
    float oy = c.height_offset.empty() ? 0.5f * sy : c.height_offset[l] / float(in_h);
    float ox = c.width_offset.empty() ? 0.5f * sx : c.width_offset[l] / float(in_w);
    for (int y = 0; y < gh; ++y)
      for (int x = 0; x < gw; ++x)
        for (const BoxSpec &b : specs[l]) {
          float r = std::sqrt(b.aspect);
          out.push_back(
              {float(y) * sy + oy, float(x) * sx + ox, b.scale / r * base_h, b.scale * r * base_w});
        }
  }
  return out;
}

} // namespace qtune::data
