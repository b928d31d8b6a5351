// Hand-worked COCOeval cases for the rules that are easy to get subtly wrong:
// tie order of equal scores, inclusive area-range bounds, crowd regions, and
// the maxDets cut. Each expectation follows from cocoeval.py by hand.
#include <gtest/gtest.h>

#include "metrics/coco_eval.h"

namespace qtune::metrics {
namespace {

coco::Dataset one_image_gt(std::vector<coco::Annotation> anns) {
  coco::Dataset gt;
  gt.source = "hand.json";
  gt.images.push_back({1, "a.jpg", 200, 200});
  gt.categories.push_back({1, "thing", ""});
  int64_t id = 1;
  for (coco::Annotation &a : anns) {
    a.id = id++;
    a.image_id = 1;
    a.category_id = 1;
    a.has_bbox = true;
    if (!a.has_area) {
      a.area = a.bbox[2] * a.bbox[3];
      a.has_area = true;
    }
  }
  gt.annotations = std::move(anns);
  gt.build_index();
  return gt;
}

coco::Annotation box(double x, double y, double w, double h, bool crowd = false) {
  coco::Annotation a;
  a.bbox = {x, y, w, h};
  a.iscrowd = crowd;
  return a;
}

std::array<double, 12> score(const coco::Dataset &gt, const std::vector<Detection> &dets) {
  return coco_evaluate(gt, results_from_detections(gt, dets), IouType::bbox).stats;
}

TEST(CocoRules, EqualScoresKeepInputOrder) {
  coco::Dataset gt = one_image_gt({box(10, 10, 40, 40)});
  // Same score: a miss listed first is ranked first (stable sort), so precision
  // is 0 then 0.5 -> envelope 0.5 at every recall point -> AP 0.5.
  EXPECT_DOUBLE_EQ(score(gt, {{1, 1, 120, 120, 40, 40, 0.5}, {1, 1, 10, 10, 40, 40, 0.5}})[0], 0.5);
  // Hit listed first: precision 1 up to recall 1 -> AP 1.
  EXPECT_DOUBLE_EQ(score(gt, {{1, 1, 10, 10, 40, 40, 0.5}, {1, 1, 120, 120, 40, 40, 0.5}})[0], 1.0);
}

TEST(CocoRules, AreaRangeBoundsAreInclusive) {
  // area 32*32 = 1024 is both "small" [0, 1024] and "medium" [1024, 9216].
  coco::Dataset gt = one_image_gt({box(10, 10, 32, 32)});
  auto s = score(gt, {{1, 1, 10, 10, 32, 32, 0.9}});
  EXPECT_DOUBLE_EQ(s[3], 1.0);   // APs
  EXPECT_DOUBLE_EQ(s[4], 1.0);   // APm
  EXPECT_DOUBLE_EQ(s[5], -1.0);  // APl: no large gt -> -1
  EXPECT_DOUBLE_EQ(s[11], -1.0); // ARl
}

TEST(CocoRules, DetectionsOnCrowdAreIgnored) {
  // A crowd region and one real object. The top-scored detection lies inside the
  // crowd (IoU with crowd = intersection / detection area = 1): it is ignored,
  // neither TP nor FP, so AP stays 1. Two detections on the crowd are both ignored.
  coco::Dataset gt = one_image_gt({box(100, 100, 80, 80, true), box(10, 10, 40, 40)});
  EXPECT_DOUBLE_EQ(score(gt, {{1, 1, 110, 110, 20, 20, 0.9},
                              {1, 1, 120, 120, 20, 20, 0.8},
                              {1, 1, 10, 10, 40, 40, 0.7}})[0],
                   1.0);
  // Without the crowd flag the same detections are two false positives ranked
  // first: precision 1/3 at recall 1 -> AP 1/3 (IoU of the small boxes < 0.5).
  coco::Dataset plain = one_image_gt({box(100, 100, 80, 80), box(10, 10, 40, 40)});
  auto s = score(
      plain,
      {{1, 1, 110, 110, 20, 20, 0.9}, {1, 1, 120, 120, 20, 20, 0.8}, {1, 1, 10, 10, 40, 40, 0.7}});
  EXPECT_NEAR(s[8], 0.5, 1e-12); // AR100: one of two gts found
  // recall 0.5 reached at rank 3 (precision 1/3); recall > 0.5 never -> 0.
  // AP = mean over 101 points of 1/3 for r <= 0.5 (51 points) -> 51/101/3.
  EXPECT_NEAR(s[0], 51.0 / 101.0 / 3.0, 1e-12);
}

TEST(CocoRules, MaxDetsCutsPerImage) {
  // Two objects; the best-scored detection is a miss. With maxDets=1 only the
  // miss counts -> AR1 = 0; with 10 both hits are found -> AR10 = 1.
  coco::Dataset gt = one_image_gt({box(10, 10, 40, 40), box(100, 100, 40, 40)});
  auto s = score(
      gt,
      {{1, 1, 150, 10, 30, 30, 0.9}, {1, 1, 10, 10, 40, 40, 0.8}, {1, 1, 100, 100, 40, 40, 0.7}});
  EXPECT_DOUBLE_EQ(s[6], 0.0);
  EXPECT_DOUBLE_EQ(s[7], 1.0);
}

TEST(CocoRules, IouThresholdsAreNumpyLinspace) {
  coco::Dataset gt = one_image_gt({box(10, 10, 40, 40)});
  CocoEvalResult r = coco_evaluate(gt, {}, IouType::bbox);
  ASSERT_EQ(r.iou_thresholds.size(), 10u);
  // Values printed by numpy 1.24 (Debian 12) for np.linspace(.5, .95, 10) and
  // np.linspace(0, 1, 101): not the decimal numbers, and AP depends on that.
  EXPECT_EQ(r.iou_thresholds[4], 0.7);
  EXPECT_EQ(r.iou_thresholds[5], 0.75);
  EXPECT_EQ(r.iou_thresholds[8], 0.8999999999999999);
  EXPECT_EQ(r.iou_thresholds[9], 0.95);
  EXPECT_EQ(r.recall_thresholds[35], 0.35000000000000003);
  EXPECT_EQ(r.recall_thresholds[70], 0.7000000000000001);
  EXPECT_EQ(r.recall_thresholds[94], 0.9400000000000001);
  EXPECT_EQ(r.recall_thresholds[100], 1.0);
  EXPECT_DOUBLE_EQ(r.stats[0], 0.0); // no detections at all
}

} // namespace
} // namespace qtune::metrics
