// Recipe consumer_error_clipping (quant/consumer_clipping.h): the scale it picks
// is the one whose whole QDQ model (run by the executor, not the recipe's
// linearized conv-of-the-error) is closest to FP32 on the scoring inputs, among
// the same candidate fractions.
#include <cmath>
#include <gtest/gtest.h>
#include <random>

#include "conv_graph.h"
#include "quant/consumer_clipping.h"
#include "quant/quantize_graph.h"
#include "runtime/executor.h"

namespace qtune::quant {
namespace {

using test::Batch;

// x[1,4,16,16] -> conv 1x1 (4 -> 4) -> y.
Graph pointwise(std::mt19937 &rng) {
  Graph g = test::graph_with_io("pointwise", 4, 16, 16);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  Tensor w(DType::f32, {4, 4, 1, 1});
  for (float &v : w.span<float>())
    v = u(rng);
  g.initializers["w"] = w;
  g.nodes = {test::conv_node("conv", "x", "w", "", "y", 1)};
  return g;
}

// Values in [0, hi) (one sample with an outlier when `outlier` > 0).
Batch sample(std::mt19937 &rng, float hi, float outlier = 0) {
  std::uniform_real_distribution<float> u(0.0f, hi);
  Tensor t(DType::f32, {1, 4, 16, 16});
  for (float &v : t.span<float>())
    v = u(rng);
  if (outlier > 0)
    t.data<float>()[5] = outlier;
  return {{"x", t}};
}

double output_error(const Graph &fp32, const Graph &q, const std::vector<Batch> &in) {
  Executor ef(std::make_shared<const Graph>(fp32), {.threads = 1});
  Executor eq(std::make_shared<const Graph>(q), {.threads = 1});
  double err = 0;
  for (const Batch &b : in) {
    Tensor f = ef.run(b)[0], r = eq.run(b)[0];
    for (int64_t i = 0; i < f.numel(); ++i)
      err += std::pow(double(r.data<float>()[i]) - f.data<float>()[i], 2);
  }
  return err;
}

TEST(ConsumerErrorClipping, PicksTheScaleTheWholeModelPrefers) {
  std::mt19937 rng(17);
  auto fp32 = std::make_shared<Graph>(pointwise(rng));
  // Calibration saw one outlier at 2.5; the scoring inputs live in [0, 1).
  std::vector<Batch> calib = {sample(rng, 1.0f, 2.5f), sample(rng, 1.0f)};
  std::vector<Batch> scoring = {sample(rng, 1.0f), sample(rng, 1.0f), sample(rng, 1.0f)};
  const Graph qdq = quantize_graph(*fp32, test::calibrate(fp32, calib), Plan{});
  const float s = qdq.initializers.at("x_scale").data<float>()[0];

  float best_f = 0;
  double best = -1;
  for (float f : {1.0f, 0.9f, 0.8f, 0.7f, 0.6f, 0.5f, 0.4f}) {
    Graph g = qdq;
    g.initializers["x_scale"] = Tensor::scalar_f32(s * f);
    const double e = output_error(*fp32, g, scoring);
    if (best < 0 || e < best) {
      best = e;
      best_f = f;
    }
  }
  Graph clipped = qdq;
  ClippingReport r = clip_by_consumer_error(clipped, scoring);
  EXPECT_EQ(r.tensors, 1);
  EXPECT_EQ(r.clipped, 1);
  EXPECT_LT(best_f, 1.0f); // [0, 2.5) -> about [0, 1): clipping pays here
  EXPECT_FLOAT_EQ(clipped.initializers.at("x_scale").data<float>()[0], s * best_f);
  EXPECT_LT(output_error(*fp32, clipped, scoring), output_error(*fp32, qdq, scoring));
}

} // namespace
} // namespace qtune::quant
