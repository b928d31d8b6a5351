// AP on a multiset of images from per-image matches (metrics/coco_resample.h)
// against the exact COCO evaluator (itself checked against pycocotools in
// test_coco_eval.cpp) run on the literally duplicated dataset: every drawn copy
// of an image gets a new ascending id and its own copies of the ground truth
// and of the detections.
#include <cmath>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <random>

#include "../test_util.h"
#include "metrics/coco_eval.h"
#include "metrics/coco_resample.h"

namespace qtune::metrics {
namespace {

const std::string kTinyGt = "coco/val2017_tiny/annotations/instances_val2017.json";
const std::string kYoloxDets = "reference/yolox_nano_val2017_tiny.detections.json";

struct Duplicated {
  coco::Dataset gt;
  std::vector<coco::Annotation> results;
};

// Image at rank i (ascending id) repeated counts[i] times, in that order.
Duplicated duplicate(const coco::Dataset &gt, const std::vector<coco::Annotation> &results,
                     const std::vector<CocoImageMatches> &order,
                     const std::vector<uint32_t> &counts) {
  Duplicated d;
  d.gt.source = "duplicated";
  d.gt.categories = gt.categories;
  int64_t next_image = 1, next_ann = 1;
  for (size_t i = 0; i < order.size(); ++i) {
    int64_t id = order[i].image_id;
    for (uint32_t c = 0; c < counts[i]; ++c) {
      coco::Image im = gt.image(id);
      im.id = next_image++;
      d.gt.images.push_back(im);
      for (size_t a : gt.annotations_of_image(id)) {
        coco::Annotation ann = gt.annotations[a];
        ann.id = next_ann++;
        ann.image_id = im.id;
        d.gt.annotations.push_back(ann);
      }
      for (const auto &r : results)
        if (r.image_id == id) {
          coco::Annotation copy = r;
          copy.id = next_ann++;
          copy.image_id = im.id;
          d.results.push_back(copy);
        }
    }
  }
  d.gt.build_index();
  return d;
}

class CocoResampleTest : public ::testing::Test {
protected:
  void SetUp() override {
    gt_ = coco::load_coco(test::shared_data(kTinyGt));
    results_ = load_results_file(gt_, test::shared_data(kYoloxDets));
    full_ = coco_evaluate(gt_, results_, IouType::bbox);
  }
  coco::Dataset gt_;
  std::vector<coco::Annotation> results_;
  CocoEvalResult full_;
};

TEST_F(CocoResampleTest, AllImagesOnceIsTheFullAp) {
  ASSERT_EQ(full_.image_matches.size(), gt_.images.size());
  std::vector<uint32_t> ones(gt_.images.size(), 1);
  EXPECT_EQ(coco_ap(full_.image_matches, gt_.num_categories(), ones), full_.stats[0]);
}

TEST_F(CocoResampleTest, ResampleEqualsEvaluatingTheDuplicatedDataset) {
  CocoResample resample(full_.image_matches, gt_.num_categories());
  const size_t n = full_.image_matches.size();
  for (uint64_t seed : {1u, 2u, 3u, 4u}) {
    std::mt19937_64 rng(seed);
    std::vector<uint32_t> counts(n, 0);
    for (size_t j = 0; j < n; ++j)
      ++counts[rng() % n];
    Duplicated d = duplicate(gt_, results_, full_.image_matches, counts);
    double want = coco_evaluate(d.gt, d.results, IouType::bbox).stats[0];
    EXPECT_EQ(resample.ap(counts), want) << "seed " << seed;
    EXPECT_NE(want, full_.stats[0]) << "seed " << seed; // a resample is not the full set
  }
}

TEST_F(CocoResampleTest, TiesAcrossCopiesFollowCopyOrder) {
  // Every detection's score cut to one decimal: many equal scores inside and
  // across images, so the order of copies within a tie decides precision.
  for (auto &r : results_)
    r.score = std::round(r.score * 10) / 10;
  CocoEvalResult coarse = coco_evaluate(gt_, results_, IouType::bbox);
  std::vector<uint32_t> counts(coarse.image_matches.size(), 0);
  for (size_t i = 0; i < counts.size(); ++i)
    counts[i] = i % 3; // 0, 1 or 2 copies
  Duplicated d = duplicate(gt_, results_, coarse.image_matches, counts);
  EXPECT_EQ(coco_ap(coarse.image_matches, gt_.num_categories(), counts),
            coco_evaluate(d.gt, d.results, IouType::bbox).stats[0]);
}

TEST_F(CocoResampleTest, JsonRoundTripKeepsTheNumbers) {
  SampleResults r;
  r.reduce = Reduce::coco_ap;
  r.images = full_.image_matches;
  r.num_categories = gt_.num_categories();
  SampleResults back = sample_results_from_json(to_json(r), "test");
  EXPECT_EQ(metric_value(back), full_.stats[0]);
}

} // namespace
} // namespace qtune::metrics
