#pragma once
// Helpers of the public-API tests: reading the reference files other tools
// wrote (COCO results JSON, pycocotools' stats, raw float32 tensors).
#include <array>
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../test_util.h"
#include "qtune/metric.h"
#include "qtune/tensor.h"

namespace qtune::test {

inline nlohmann::json read_json(const std::string &path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << path;
  return nlohmann::json::parse(in);
}

// A COCO results file (pycocotools loadRes input) as detections.
inline std::vector<Detection> read_detections(const std::string &path) {
  std::vector<Detection> out;
  for (const auto &d : read_json(path)) {
    const auto &b = d.at("bbox");
    out.push_back({d.at("image_id").get<int64_t>(), d.at("category_id").get<int64_t>(),
                   b[0].get<double>(), b[1].get<double>(), b[2].get<double>(), b[3].get<double>(),
                   d.at("score").get<double>()});
  }
  return out;
}

// pycocotools' 12 summary numbers for `run` in reference/stats.json.
inline std::array<double, 12> reference_stats(const std::string &run) {
  auto j = read_json(shared_data("reference/stats.json")).at(run);
  std::array<double, 12> s{};
  for (size_t i = 0; i < s.size(); ++i)
    s[i] = j.at(i).get<double>();
  return s;
}

// A raw little-endian float32 file as a tensor of `shape`.
inline Tensor read_f32_tensor(const std::string &path, Shape shape) {
  std::vector<float> v = read_f32_file(path);
  EXPECT_EQ(static_cast<int64_t>(v.size()), shape_numel(shape)) << path;
  return Tensor::from_vector<float>(std::move(shape), v);
}

} // namespace qtune::test
