// Results files (loadRes) and the CocoMap metric: bad input errors, the typed and
// tensor paths agreeing with the results-file path, and hand-derivable cases.
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "../test_util.h"
#include "metrics/coco_eval.h"
#include "qtune/error.h"

namespace qtune::metrics {
namespace {

const coco::Dataset &tiny_gt() {
  static coco::Dataset gt =
      coco::load_coco(test::shared_data("coco/val2017_tiny/annotations/instances_val2017.json"));
  return gt;
}

std::string error_of(const std::function<void()> &f) {
  try {
    f();
  } catch (const InputError &e) {
    return e.what();
  }
  return "(no InputError)";
}

TEST(CocoResults, MalformedJsonNamesLineAndColumn) {
  // Missing comma after the first object's score: line 3, column 3 is the '{'.
  std::string text =
      "[\n  {\"image_id\": 1, \"category_id\": 1, \"bbox\": [0,0,1,1], \"score\": 1}\n"
      "  {\"image_id\": 1}\n]\n";
  std::string msg = error_of([&] { load_results(tiny_gt(), text, "dets.json"); });
  EXPECT_NE(msg.find("dets.json:3:3:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("malformed JSON"), std::string::npos) << msg;
}

TEST(CocoResults, UnknownCategoryOrImageIsAnError) {
  int64_t img = tiny_gt().images[0].id;
  std::string bad_cat = "[{\"image_id\": " + std::to_string(img) +
                        ", \"category_id\": 12, \"bbox\": [0,0,5,5], \"score\": 0.5}]";
  std::string msg = error_of([&] { load_results(tiny_gt(), bad_cat, "dets.json"); });
  EXPECT_NE(msg.find("dets.json: [0]: category_id 12"), std::string::npos) << msg;
  std::string bad_img =
      "[{\"image_id\": 1, \"category_id\": 1, \"bbox\": [0,0,5,5], \"score\": 0.5}]";
  msg = error_of([&] { load_results(tiny_gt(), bad_img, "dets.json"); });
  EXPECT_NE(msg.find("image_id 1 is not in the ground truth"), std::string::npos) << msg;
  msg = error_of([&] { load_results(tiny_gt(), "{\"a\": 1}", "dets.json"); });
  EXPECT_NE(msg.find("must be a JSON array"), std::string::npos) << msg;
  std::string no_score =
      "[{\"image_id\": " + std::to_string(img) + ", \"category_id\": 1, \"bbox\": [0,0,5,5]}]";
  msg = error_of([&] { load_results(tiny_gt(), no_score, "dets.json"); });
  EXPECT_NE(msg.find("missing field \"score\""), std::string::npos) << msg;
  EXPECT_THROW(parse_iou_type("keypoints"), InputError);
}

TEST(CocoResults, GroundTruthAsDetectionsScoresPerfectly) {
  // Every non-crowd gt reported once with its own box: each matches at IoU 1, so
  // precision is 1 at every recall and AP = AR100 = 1 (crowd gts are ignored).
  std::vector<Detection> dets;
  for (const coco::Annotation &a : tiny_gt().annotations)
    if (!a.iscrowd)
      dets.push_back({a.image_id, a.category_id, a.bbox[0], a.bbox[1], a.bbox[2], a.bbox[3], 1.0});
  CocoMap metric(tiny_gt());
  metric.add(dets);
  CocoEvalResult r = metric.evaluate();
  EXPECT_DOUBLE_EQ(r.stats[0], 1.0);
  EXPECT_DOUBLE_EQ(r.stats[1], 1.0);
  EXPECT_DOUBLE_EQ(r.stats[8], 1.0);
  metric.reset();
  EXPECT_DOUBLE_EQ(metric.result(), 0.0); // nothing detected: precision 0 everywhere
}

TEST(CocoResults, MetricPathsAgreeWithResultsFile) {
  std::string path = test::shared_data("reference/yolox_nano_val2017_tiny.detections.json");
  nlohmann::json res = nlohmann::json::parse(coco::read_text_file(path));
  std::vector<Detection> dets;
  std::vector<double> rows;
  for (const auto &r : res) {
    Detection d{r["image_id"], r["category_id"], r["bbox"][0], r["bbox"][1],
                r["bbox"][2],  r["bbox"][3],     r["score"]};
    dets.push_back(d);
    for (double v : {double(d.image_id), double(d.category_id), d.x, d.y, d.w, d.h, d.score})
      rows.push_back(v);
  }
  CocoEvalResult file = coco_evaluate(tiny_gt(), load_results_file(tiny_gt(), path), IouType::bbox);
  EXPECT_NEAR(file.stats[0], 0.296087, 1e-6); // pycocotools, reference/stats.json

  CocoMap typed(tiny_gt());
  typed.add(dets);
  EXPECT_DOUBLE_EQ(typed.result(), file.stats[0]);

  CocoMap tensor(tiny_gt());
  Tensor t = Tensor::from_vector<double>({int64_t(dets.size()), 7}, rows);
  tensor.update({&t, 1}, {});
  EXPECT_DOUBLE_EQ(tensor.result(), file.stats[0]);
  EXPECT_EQ(tensor.name(), "COCOmAP");

  // Per-category AP: every category has the same number of valid cells, so their
  // mean is the overall AP.
  double sum = 0;
  int n = 0;
  for (double ap : file.category_ap)
    if (ap > -1) {
      sum += ap;
      ++n;
    }
  EXPECT_EQ(n, 80);
  EXPECT_NEAR(sum / n, file.stats[0], 1e-12);
}

TEST(CocoResults, BboxResultsScoredAsSegmUseTheBoxMask) {
  // loadRes turns box results into box polygons; scoring them against masks must
  // work and give a lower AP than against boxes for these real detections.
  std::string path = test::shared_data("reference/centernet_val2017_tiny.detections.json");
  auto results = load_results_file(tiny_gt(), path);
  double box_ap = coco_evaluate(tiny_gt(), results, IouType::bbox).stats[0];
  double segm_ap = coco_evaluate(tiny_gt(), results, IouType::segm).stats[0];
  EXPECT_GT(segm_ap, 0.0);
  EXPECT_LT(segm_ap, box_ap);
}

} // namespace
} // namespace qtune::metrics

namespace qtune::metrics {
namespace {

TEST(CocoResults, MetricSkipsCategoriesMissingFromGroundTruth) {
  // Ground truth without "person" (id 1) at all vs. with the category listed but
  // no person boxes: pycocotools excludes a category without gt from every mean,
  // so both must give the same stats; the metric counts the skipped detections.
  coco::Dataset listed = tiny_gt();
  std::erase_if(listed.annotations, [](const coco::Annotation &a) { return a.category_id == 1; });
  listed.build_index();
  coco::Dataset unlisted = listed;
  std::erase_if(unlisted.categories, [](const coco::Category &c) { return c.id == 1; });
  unlisted.build_index();

  std::string path = test::shared_data("reference/yolox_nano_val2017_tiny.detections.json");
  auto results = load_results_file(listed, path);
  CocoEvalResult want = coco_evaluate(listed, results, IouType::bbox);
  std::vector<Detection> dets;
  int64_t persons = 0;
  for (const coco::Annotation &r : results) {
    dets.push_back(
        {r.image_id, r.category_id, r.bbox[0], r.bbox[1], r.bbox[2], r.bbox[3], r.score});
    persons += r.category_id == 1;
  }
  CocoMap metric(unlisted);
  metric.add(dets);
  CocoEvalResult got = metric.evaluate();
  EXPECT_GT(persons, 0);
  EXPECT_EQ(metric.skipped_detections(), persons);
  for (int i = 0; i < 12; ++i)
    EXPECT_DOUBLE_EQ(got.stats[i], want.stats[i]) << kCocoStatNames[i];
  // Unknown image ids stay errors.
  metric.add(std::vector<Detection>{{123456789, 2, 0, 0, 5, 5, 0.5}});
  EXPECT_THROW(metric.evaluate(), InputError);
}

} // namespace
} // namespace qtune::metrics
