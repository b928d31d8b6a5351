// COCOeval reproduction: our 12 stats against numbers pycocotools printed for
// the same inputs (../shared/data/reference/stats.json). The reference has 6
// decimals, so 1e-6 is as tight as it can check (the brief asks 1e-4).
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "../test_util.h"
#include "metrics/coco_eval.h"
#include "qtune/error.h"

namespace qtune::metrics {
namespace {

std::array<double, 12> reference_stats(const std::string &key) {
  std::ifstream in(test::shared_data("reference/stats.json"));
  nlohmann::json j = nlohmann::json::parse(in);
  std::array<double, 12> out{};
  for (int i = 0; i < 12; ++i)
    out[i] = j.at(key).at(i).get<double>();
  return out;
}

void expect_stats_near(const std::array<double, 12> &got, const std::array<double, 12> &want) {
  for (int i = 0; i < 12; ++i)
    EXPECT_NEAR(got[i], want[i], 1e-6) << "stat " << i << " (" << kCocoStatNames[i] << ")";
}

// Scores results file `res` against `gt` (paths under shared data) and compares
// with the pycocotools numbers stored under `key`.
void expect_file_matches(const std::string &gt, const std::string &res, IouType type,
                         const std::string &key) {
  auto stats = evaluate_results_file(test::shared_data(gt), test::shared_data(res), type);
  expect_stats_near(stats, reference_stats(key));
}

const std::string kGolden = "coco/cocoapi_golden/";
const std::string kTinyGt = "coco/val2017_tiny/annotations/instances_val2017.json";

TEST(CocoEval, GoldenBboxMatchesPycocotools) {
  expect_file_matches(kGolden + "instances_val2014_100.json",
                      kGolden + "instances_val2014_fakebbox100_results.json", IouType::bbox,
                      "cocoapi_golden_bbox");
}

TEST(CocoEval, GoldenSegmMatchesPycocotools) {
  expect_file_matches(kGolden + "instances_val2014_100.json",
                      kGolden + "instances_val2014_fakesegm100_results.json", IouType::segm,
                      "cocoapi_golden_segm");
}

TEST(CocoEval, YoloxNanoTinyMatchesPycocotools) {
  expect_file_matches(kTinyGt, "reference/yolox_nano_val2017_tiny.detections.json", IouType::bbox,
                      "yolox_nano_val2017_tiny_bbox");
}

TEST(CocoEval, CenternetTinyMatchesPycocotools) {
  expect_file_matches(kTinyGt, "reference/centernet_val2017_tiny.detections.json", IouType::bbox,
                      "centernet_val2017_tiny_bbox");
}

} // namespace
} // namespace qtune::metrics
