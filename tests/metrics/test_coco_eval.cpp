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

std::array<double, 12> reference_stats(const std::string &key,
                                       const std::string &file = "reference/stats.json") {
  std::ifstream in(test::shared_data(file));
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

// COCO mAP restricted to a category list (pycocotools' params.catIds): the AIY SSD
// person/cat/dog detections TensorFlow.js produced, scored by pycocotools with
// catIds = [1, 17, 18] (reference/aiy_ssd_stats.json). Independent of any model run.
const std::vector<int64_t> kPersonCatDog = {1, 17, 18};

void expect_restricted_matches(const std::string &set) {
  std::string gt = test::shared_data("coco/" + set + "/annotations/instances_val2017.json");
  std::string res =
      test::shared_data("reference/aiy_ssd_person_cat_dog_" + set + ".detections.json");
  auto got = evaluate_results_file(gt, res, IouType::bbox, kPersonCatDog);
  auto want =
      reference_stats("aiy_ssd_" + set + "_bbox_cats_1_17_18", "reference/aiy_ssd_stats.json");
  for (int i = 0; i < 12; ++i) // the reference has 6 decimals
    EXPECT_NEAR(got[i], want[i], 1e-6) << set << " stat " << i << " (" << kCocoStatNames[i] << ")";
  // Without the restriction the 77 other categories count as AP 0: far lower.
  auto all = evaluate_results_file(gt, res, IouType::bbox);
  EXPECT_LT(all[0], want[0] / 4);
}

TEST(CocoCategories, AiySsdVal2017_241MatchesPycocotools) {
  expect_restricted_matches("val2017_241");
}

TEST(CocoCategories, AiySsdVal2017TinyMatchesPycocotools) {
  expect_restricted_matches("val2017_tiny");
}

TEST(CocoCategories, MetricRestrictsGroundTruthAndDetections) {
  coco::Dataset gt =
      coco::load_coco(test::shared_data("coco/val2017_241/annotations/instances_val2017.json"));
  coco::Dataset sub = restrict_categories(gt, kPersonCatDog);
  EXPECT_EQ(sub.num_categories(), 3);
  EXPECT_EQ(sub.images.size(), gt.images.size());
  for (const auto &a : sub.annotations)
    EXPECT_TRUE(a.category_id == 1 || a.category_id == 17 || a.category_id == 18);
  EXPECT_LT(sub.annotations.size(), gt.annotations.size());
  // Ids the ground truth lacks are ignored; none known is an error.
  EXPECT_EQ(restrict_categories(gt, std::vector<int64_t>{1, 999}).num_categories(), 1);
  EXPECT_THROW(restrict_categories(gt, std::vector<int64_t>{999}), InputError);

  // CocoMap: a detection of another category is left out, not scored against.
  CocoMap m(gt);
  m.restrict_categories(kPersonCatDog);
  const coco::Annotation *person = nullptr;
  for (const auto &a : gt.annotations)
    if (a.category_id == 1 && !a.iscrowd && !person)
      person = &a;
  ASSERT_TRUE(person);
  Detection d;
  d.image_id = person->image_id;
  d.category_id = 1;
  d.x = person->bbox[0];
  d.y = person->bbox[1];
  d.w = person->bbox[2];
  d.h = person->bbox[3];
  d.score = 0.9;
  Detection car = d;
  car.category_id = 3;
  std::vector<Detection> dets = {d, car};
  m.add(dets);
  CocoEvalResult r = m.evaluate();
  EXPECT_EQ(m.skipped_detections(), 1);
  EXPECT_EQ(r.category_ids, kPersonCatDog);
  EXPECT_GT(r.stats[0], 0);
}

} // namespace
} // namespace qtune::metrics
