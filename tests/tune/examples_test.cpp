// The shipped example configurations load, and their dataloaders produce what
// the models expect.
#include <gtest/gtest.h>

#include "../test_util.h"
#include "tune/config.h"
#include "tune/evaluator.h"

namespace qtune::tune {
namespace {

TEST(Examples, FashionMnistConfigFeedsNormalizedNchwBatches) {
  Config c = load_config(test::source_dir("examples/fashion_mnist/fashion_mnist.yaml"));
  EXPECT_EQ(c.tuning.strategy, "sensitivity");
  EXPECT_EQ(c.accuracy.metric_name, "topk");
  BatchSource calib(c.quantization.calibration.dataloader, "calibration", "image");
  EXPECT_EQ(calib.size(), 60000u);
  size_t batches = 0, samples = 0;
  calib.for_each(64, [&](const Inputs &in, const std::vector<data::PreparedSample> &b) {
    const Tensor &t = in.at("image");
    ASSERT_EQ(t.shape(), (Shape{static_cast<int64_t>(b.size()), 1, 28, 28}));
    for (float v : t.span<float>())
      ASSERT_TRUE(v >= 0.f && v <= 1.f);
    ++batches;
    samples += b.size();
  });
  EXPECT_EQ(batches, 2u);
  EXPECT_EQ(samples, 64u);
  BatchSource eval(c.accuracy.dataloader, "evaluation", "image");
  EXPECT_EQ(eval.size(), 10000u);
}

} // namespace
} // namespace qtune::tune

namespace qtune::tune {
namespace {

TEST(Examples, YoloxEvaluationConfigLoads) {
  Config c = load_config(test::source_dir("examples/coco/yolox_nano_eval.yaml"));
  EXPECT_EQ(c.accuracy.metric_name, "COCOmAP");
  EXPECT_EQ(c.accuracy.dataloader.dataset_type, "COCORaw");
  EXPECT_TRUE(c.accuracy.postprocess["yolox"].IsDefined());
}

} // namespace
} // namespace qtune::tune

namespace qtune::tune {
namespace {

TEST(Examples, YoloxTuningConfigLoads) {
  Config c = load_config(test::source_dir("examples/coco/yolox_nano.yaml"));
  EXPECT_EQ(c.quantization.calibration.sampling_size, std::vector<int64_t>{100});
  EXPECT_EQ(c.quantization.calibration.dataloader.dataset_type, "COCORaw");
  EXPECT_EQ(c.accuracy.metric_name, "COCOmAP");
  EXPECT_TRUE(c.tuning.relative);
  EXPECT_DOUBLE_EQ(c.tuning.criterion, 0.01);
}

} // namespace
} // namespace qtune::tune
