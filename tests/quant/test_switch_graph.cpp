// The cheap ranking's switch graph (quant/switch_graph.h): selector -1 is
// exactly the FP32 model, selector k equals the QDQ model with only op k int8,
// and the op that is sensitive by construction ranks first.
#include <gtest/gtest.h>
#include <random>

#include "conv_graph.h"
#include "quant/calibrate.h"
#include "quant/quantize_graph.h"
#include "quant/switch_graph.h"
#include "runtime/executor.h"

namespace qtune::quant {
namespace {

// x[1,4,6,6] in [0,1] -> wide (1x1, 4->4): channel 0 amplified 1000x, the
// others kept as they are -> narrow (1x1, 4->2): reads only channels 1..3.
// narrow's input shares one per-tensor u8 scale of ~1000/255 across channels
// whose useful content is below 1, so int8 destroys it: narrow alone loses
// nearly all of the output; wide alone only rounds an input in [0, 1] to
// 1/255 steps.
Graph wide_then_narrow() {
  Graph g = test::graph_with_io("wide_then_narrow", 4, 6, 6);
  std::vector<float> w1(16, 0.0f);
  w1[0] = 1000.0f;
  for (int c = 1; c < 4; ++c)
    w1[c * 4 + c] = 1.0f;
  g.initializers["w1"] = Tensor::from_vector<float>({4, 4, 1, 1}, w1);
  g.initializers["w2"] =
      Tensor::from_vector<float>({2, 4, 1, 1}, {0.0f, 1.0f, -0.5f, 0.7f, 0.0f, 0.3f, 0.9f, -1.0f});
  g.nodes = {test::conv_node("wide", "x", "w1", "", "a", 1),
             test::conv_node("narrow", "a", "w2", "", "y", 1)};
  return g;
}

std::vector<InputBatch> batches(int n) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<InputBatch> out;
  for (int b = 0; b < n; ++b) {
    Tensor t(DType::f32, {1, 4, 6, 6});
    for (float &v : t.span<float>())
      v = u(rng);
    out.push_back({{"x", t}});
  }
  return out;
}

TEST(SwitchGraph, SelectorPicksFp32OrOneOpAlone) {
  auto fp32 = std::make_shared<Graph>(wide_then_narrow());
  std::vector<InputBatch> in = batches(3);
  const CalibrationStats stats = test::calibrate(fp32, in);
  Graph qdq = quantize_graph(*fp32, stats, Plan{});
  SwitchGraph sg = build_switch_graph(*fp32, qdq, {"wide", "narrow"});
  ASSERT_EQ(sg.ops, (std::vector<std::string>{"wide", "narrow"}));

  auto sw = std::make_shared<Graph>(sg.graph);
  Executor ex(sw, {.threads = 1});
  Executor ref(fp32, {.threads = 1});
  // Reference for "narrow alone": the QDQ graph of a plan with wide fp32.
  Plan only_narrow;
  only_narrow.op_wise["wide"].precision = Precision::fp32;
  auto alone = std::make_shared<Graph>(quantize_graph(*fp32, stats, only_narrow));
  Executor ex_alone(alone, {.threads = 1});
  InputBatch b = in[0];
  std::vector<Tensor> want_fp32 = ref.run(b);
  std::vector<Tensor> want_alone = ex_alone.run(b);
  b[sg.selector] = Tensor::scalar_i64(-1);
  std::vector<Tensor> got_fp32 = ex.run(b);
  b[sg.selector] = Tensor::scalar_i64(1);
  std::vector<Tensor> got_alone = ex.run(b);
  auto a = want_fp32[0].span<float>(), c = got_fp32[0].span<float>();
  for (size_t i = 0; i < a.size(); ++i)
    ASSERT_EQ(a[i], c[i]) << i;
  auto d = want_alone[0].span<float>(), e = got_alone[0].span<float>();
  for (size_t i = 0; i < d.size(); ++i)
    ASSERT_NEAR(d[i], e[i], 1e-4f) << i;
}

TEST(SwitchGraph, SensitiveOpByConstructionRanksFirst) {
  auto fp32 = std::make_shared<Graph>(wide_then_narrow());
  std::vector<InputBatch> in = batches(2);
  Graph qdq = quantize_graph(*fp32, test::calibrate(fp32, in), Plan{});
  std::vector<double> score =
      score_ops_alone(build_switch_graph(*fp32, qdq, {"wide", "narrow"}), in);
  ASSERT_EQ(score.size(), 2u);
  EXPECT_GT(score[1], 0.3);  // narrow alone: most of the output lost
  EXPECT_LT(score[0], 1e-3); // wide alone: input rounding to 1/255 only
}

} // namespace
} // namespace qtune::quant
