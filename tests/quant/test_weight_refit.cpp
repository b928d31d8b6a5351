// Recipe weight_refit (quant/weight_refit.h): measured by running the graphs
// on inputs the refit never saw, against the FP32 graph's outputs.
#include <gtest/gtest.h>
#include <random>

#include "../test_util.h"
#include "conv_graph.h"
#include "data/dataset.h"
#include "frontends/onnx/onnx_import.h"
#include "quant/bias_correction.h"
#include "quant/inference_graph.h"
#include "quant/quantize_graph.h"
#include "quant/weight_refit.h"
#include "runtime/executor.h"

namespace qtune::quant {
namespace {

using test::Batch;

// x -> conv1 (3x3, pad 1) -> y1 -> conv2 (1x1) -> y. Channel 0 of x is 100x
// wider than the others (its weights 100x smaller, so every channel matters
// as much at the output): one per-tensor int8 scale leaves the narrow
// channels about 2 levels. They follow channel 0's spatial pattern, so a
// refitted conv can recover much of what rounding took from them.
Graph two_convs(std::mt19937 &rng) {
  Graph g = test::graph_with_io("two_convs", 4, 6, 6);
  std::normal_distribution<float> nd(0.0f, 0.5f);
  Tensor w1(DType::f32, {8, 4, 3, 3}), b1(DType::f32, {8}), w2(DType::f32, {3, 8, 1, 1}),
      b2(DType::f32, {3});
  for (Tensor *t : {&w1, &b1, &w2, &b2})
    for (float &v : t->span<float>())
      v = nd(rng);
  for (int64_t o = 0; o < 8; ++o)
    for (int64_t k = 0; k < 9; ++k)
      w1.data<float>()[o * 36 + k] *= 0.01f; // input channel 0
  g.initializers = {{"w1", w1}, {"b1", b1}, {"w2", w2}, {"b2", b2}};
  Node c1 = test::conv_node("conv1", "x", "w1", "b1", "y1", 3);
  c1.attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  g.nodes = {c1, test::conv_node("conv2", "y1", "w2", "b2", "y", 1)};
  return g;
}

std::vector<Batch> inputs(int count, std::mt19937 &rng) {
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  const float hi[4] = {60.0f, 0.6f, 0.5f, 0.4f};
  std::vector<Batch> out;
  for (int i = 0; i < count; ++i) {
    Tensor t(DType::f32, {1, 4, 6, 6});
    for (int64_t p = 0; p < 36; ++p) {
      const float pattern = u(rng);
      for (int64_t c = 0; c < 4; ++c)
        t.data<float>()[c * 36 + p] = hi[c] * (0.9f * pattern + 0.1f * u(rng));
    }
    out.push_back({{"x", t}});
  }
  return out;
}

TEST(WeightRefit, LowersHeldOutOutputErrorBelowBiasCorrection) {
  std::mt19937 rng(3);
  auto fp32 = std::make_shared<Graph>(two_convs(rng));
  const std::vector<Batch> calib = inputs(16, rng), held_out = inputs(16, rng);
  Graph corrected = quantize_graph(*fp32, test::calibrate(fp32, calib), Plan{});
  correct_biases(corrected, *fp32, calib);
  Graph refit = corrected;
  WeightRefitReport r = refit_weights(refit, *fp32, calib);
  EXPECT_EQ(r.convs, 2) << r.summary();
  EXPECT_EQ(r.stages, 2); // conv2 reads conv1: refitted after it
  EXPECT_LT(r.error_after, r.error_before) << r.summary();
  const double before = test::output_nmse(*fp32, corrected, held_out);
  const double after = test::output_nmse(*fp32, refit, held_out);
  EXPECT_GT(before, 1e-3); // the narrow channels really are lost
  EXPECT_LT(after, 0.7 * before) << "bias corrected " << before << ", refitted " << after;
  // The refitted QDQ graph still lowers to int8 convs and computes the same.
  Graph lowered = refit;
  LowerReport lr = prepare_for_inference(lowered);
  EXPECT_EQ(lr.count("conv"), 2) << lr.summary();
  EXPECT_LT(test::output_nmse(refit, lowered, held_out), 0.05 * after + 1e-6);
}

// The Fashion-MNIST CNN shipped in examples/ on real images: refitted on 128
// training images, judged on 500 test images (output logits and top-1).
TEST(WeightRefit, FashionMnistCnnHeldOutLogitsCloserToFp32) {
  auto fp32 = std::make_shared<const Graph>(
      load_onnx(test::source_dir("examples/fashion_mnist/fashion_mnist_cnn.onnx")));
  const std::string dir = test::fashion_mnist();
  data::MnistDataset train(dir + "train-images-idx3-ubyte.gz", dir + "train-labels-idx1-ubyte.gz");
  data::MnistDataset test_set(dir + "t10k-images-idx3-ubyte.gz", dir + "t10k-labels-idx1-ubyte.gz");
  std::vector<Batch> calib, held_out;
  for (size_t i = 0; i < 4; ++i)
    calib.push_back({{"image", test::mnist_images(train, i * 32, 32)}});
  for (size_t i = 0; i < 5; ++i)
    held_out.push_back({{"image", test::mnist_images(test_set, i * 100, 100)}});
  Graph corrected = quantize_graph(*fp32, test::calibrate(fp32, calib), Plan{});
  correct_biases(corrected, *fp32, calib);
  Graph refit = corrected;
  WeightRefitReport r = refit_weights(refit, *fp32, calib);
  EXPECT_EQ(r.convs, 2) << r.summary(); // the two convs; the Gemms are not convs
  const double before = test::output_nmse(*fp32, corrected, held_out);
  const double after = test::output_nmse(*fp32, refit, held_out);
  EXPECT_LT(after, before) << "bias corrected " << before << ", refitted " << after;
}

} // namespace
} // namespace qtune::quant
