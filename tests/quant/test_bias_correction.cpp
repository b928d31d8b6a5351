// Recipes bias_correction (quant/bias_correction.h) and depthwise_range_check
// (quant/quantize_graph.cpp), each against what running the graphs measures.
#include <cmath>
#include <gtest/gtest.h>
#include <random>

#include "conv_graph.h"
#include "quant/bias_correction.h"
#include "quant/calibrate.h"
#include "quant/quantize_graph.h"
#include "runtime/executor.h"

namespace qtune::quant {
namespace {

using test::Batch;

// x[1,C,6,6] -> Conv (weight [O, C/group, k, k], bias) -> y.
Graph one_conv(int64_t c, int64_t o, int64_t group, int64_t k, std::mt19937 &rng) {
  Graph g = test::graph_with_io("one_conv", c, 6, 6);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  Tensor w(DType::f32, {o, c / group, k, k});
  for (float &v : w.span<float>())
    v = u(rng);
  Tensor b(DType::f32, {o});
  for (float &v : b.span<float>())
    v = 0.1f * u(rng);
  g.initializers["w"] = w;
  g.initializers["b"] = b;
  g.nodes = {test::conv_node("conv", "x", "w", "b", "y", k, group)};
  return g;
}

// Channel c in [0, hi[c]).
std::vector<Batch> batches(const std::vector<float> &hi, int count, std::mt19937 &rng) {
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  const int64_t c = static_cast<int64_t>(hi.size());
  std::vector<Batch> out;
  for (int i = 0; i < count; ++i) {
    Tensor t(DType::f32, {1, c, 6, 6});
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t p = 0; p < 36; ++p)
        t.data<float>()[ch * 36 + p] = hi[ch] * u(rng);
    out.push_back({{"x", t}});
  }
  return out;
}

// Largest |mean over the batches and positions of (quantized - fp32)| of any output channel.
double worst_mean_error(const Graph &fp32, const Graph &qdq, const std::vector<Batch> &in) {
  Executor ef(std::make_shared<const Graph>(fp32), {.threads = 1});
  Executor eq(std::make_shared<const Graph>(qdq), {.threads = 1});
  std::vector<double> sum;
  int64_t per_channel = 0;
  for (const Batch &b : in) {
    Tensor r = ef.run(b)[0], q = eq.run(b)[0];
    const int64_t o = r.dim(1), inner = r.numel() / o;
    sum.resize(o, 0.0);
    for (int64_t ch = 0; ch < o; ++ch)
      for (int64_t i = 0; i < inner; ++i)
        sum[ch] += double(q.data<float>()[ch * inner + i]) - r.data<float>()[ch * inner + i];
    per_channel += inner;
  }
  double worst = 0;
  for (double s : sum)
    worst = std::max(worst, std::fabs(s / double(per_channel)));
  return worst;
}

TEST(BiasCorrection, MeanOutputErrorOfQuantizedConvBecomesZero) {
  std::mt19937 rng(11);
  // Channel 0 sets the per-tensor scale (~0.39); channels 1..3 live below one
  // step, so their rounding is far from zero-mean.
  auto fp32 = std::make_shared<Graph>(one_conv(4, 3, 1, 1, rng));
  std::vector<Batch> in = batches({100.0f, 0.3f, 0.3f, 0.3f}, 6, rng);
  Graph qdq = quantize_graph(*fp32, test::calibrate(fp32, in), Plan{});
  const double before = worst_mean_error(*fp32, qdq, in);
  BiasCorrectionReport r = correct_biases(qdq, *fp32, in);
  const double after = worst_mean_error(*fp32, qdq, in);
  EXPECT_EQ(r.convs, 1);
  EXPECT_GT(before, 0.05);
  EXPECT_LT(after, 2e-3);
}

TEST(DepthwiseRangeCheck, SqueezedChannelsKeepDepthwiseConvFp32) {
  std::mt19937 rng(5);
  auto fp32 = std::make_shared<Graph>(one_conv(8, 8, 8, 3, rng));
  fp32->nodes[0].attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  auto quantized = [&](const std::vector<float> &hi, bool recipe) {
    Plan plan;
    plan.recipes.depthwise_range_check = recipe;
    QuantizeReport report;
    quantize_graph(*fp32, test::calibrate(fp32, batches(hi, 3, rng)), plan, &report);
    return report;
  };
  // Two wide channels set the scale at 100/255: the others span ~1 level.
  const std::vector<float> squeezed = {100, 100, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
  QuantizeReport on = quantized(squeezed, true);
  EXPECT_EQ(on.nodes.at("conv"), Precision::fp32);
  EXPECT_NE(on.fallback_reason.at("conv").find("depthwise_range_check"), std::string::npos);
  EXPECT_EQ(quantized(squeezed, false).nodes.at("conv"), Precision::int8);
  // Balanced channels: int8 with the recipe on.
  EXPECT_EQ(quantized(std::vector<float>(8, 1.0f), true).nodes.at("conv"), Precision::int8);
}

} // namespace
} // namespace qtune::quant
