// Recipe cross_layer_equalization (quant/equalize.h): the FP32 function is
// unchanged (hand-built pairs and NanoDet-m, LeakyReLU throughout), the two
// convs of a pair end with equal per-channel weight ranges, int8 loses less
// after it, and pairs joined by SiLU / Relu6 are skipped (YOLOX-Nano: none).
#include <algorithm>
#include <cmath>
#include <gtest/gtest.h>
#include <random>

#include "../test_util.h"
#include "conv_graph.h"
#include "quant/equalize.h"
#include "quant/quantize_graph.h"
#include "runtime/executor.h"
#include "tune/model_backend.h"

namespace qtune::quant {
namespace {

using test::Batch;
using test::random_tensor;
using test::relative_max_diff;
const auto images = test::random_images;

// x[1,4,8,8] -> depthwise 3x3 (channel c's weights scaled by gain[c]) + bias
// -> act -> pointwise 1x1 (4 -> 3, input c scaled by 1 / gain[c]) + bias -> y.
// `act` empty: none between.
Graph dw_pw(const std::vector<std::string> &act, std::mt19937 &rng) {
  Graph g = test::graph_with_io("dw_pw", 4, 8, 8);
  const float gain[4] = {50.0f, 1.0f, 0.02f, 5.0f};
  g.initializers["w1"] = test::gained_weights({4, 1, 3, 3}, 1.0f, gain, rng);
  g.initializers["b1"] = random_tensor({4}, -0.1f, 0.1f, rng);
  // The pointwise conv undoes the gains (as training often leaves such pairs):
  // channel 2 is small between the convs but matters as much as the others.
  Tensor w2 = random_tensor({3, 4, 1, 1}, -1.0f, 1.0f, rng);
  for (int64_t o = 0; o < 3; ++o)
    for (int64_t c = 0; c < 4; ++c)
      w2.data<float>()[o * 4 + c] /= gain[c];
  g.initializers["w2"] = w2;
  g.initializers["b2"] = random_tensor({3}, -0.1f, 0.1f, rng);
  Node dw = test::conv_node("dw", "x", "w1", "b1", "a", 3, 4);
  dw.attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  g.nodes = {dw};
  std::string v = "a";
  for (const std::string &op : act) {
    Node n;
    n.name = op;
    n.op_type = op;
    n.inputs = {v};
    n.outputs = {v + "_" + op};
    if (op == "Clip")
      n.inputs = {v, g.unique_name("lo"), g.unique_name("hi")};
    if (op == "Clip") {
      g.initializers[n.inputs[1]] = Tensor::scalar_f32(0.0f);
      g.initializers[n.inputs[2]] = Tensor::scalar_f32(6.0f);
    }
    if (op == "LeakyRelu")
      n.attrs["alpha"] = 0.1f;
    v = n.outputs[0];
    g.nodes.push_back(n);
  }
  g.nodes.push_back(test::conv_node("pw", v, "w2", "b2", "y", 1));
  return g;
}

// x * Sigmoid(x) between the two convs, as exporters write SiLU.
Graph dw_silu_pw(std::mt19937 &rng) {
  Graph g = dw_pw({}, rng);
  Node sig, mul;
  sig.name = "sig";
  sig.op_type = "Sigmoid";
  sig.inputs = {"a"};
  sig.outputs = {"s"};
  mul.name = "mul";
  mul.op_type = "Mul";
  mul.inputs = {"a", "s"};
  mul.outputs = {"m"};
  g.nodes.back().inputs[0] = "m";
  g.nodes.insert(g.nodes.begin() + 1, {sig, mul});
  return g;
}

float channel_max(const Tensor &w, int64_t c) {
  const int64_t inner = w.numel() / w.dim(0);
  float m = 0;
  for (int64_t k = 0; k < inner; ++k)
    m = std::max(m, std::fabs(w.data<float>()[c * inner + k]));
  return m;
}

TEST(CrossLayerEqualization, SameFunctionEqualRangesLessInt8Error) {
  for (const std::vector<std::string> &act :
       {std::vector<std::string>{}, {"Relu"}, {"LeakyRelu"}}) {
    std::mt19937 rng(21);
    const Graph fp32 = dw_pw(act, rng);
    Graph eq = fp32;
    EqualizeReport r = equalize_cross_layer(eq);
    EXPECT_EQ(r.pairs, 1);
    EXPECT_TRUE(r.skipped.empty());
    const std::vector<Batch> in = images(4, rng);
    EXPECT_LT(relative_max_diff(fp32, eq, in), 1e-5);
    // Channel c: largest |w| of dw output c equals that of pw input c.
    const Tensor &w1 = eq.initializers.at("w1"), &w2 = eq.initializers.at("w2");
    for (int64_t c = 0; c < 4; ++c) {
      float r2 = 0;
      for (int64_t o = 0; o < 3; ++o)
        r2 = std::max(r2, std::fabs(w2.data<float>()[o * 4 + c]));
      EXPECT_NEAR(channel_max(w1, c), r2, 1e-4 * r2) << c;
    }
    // The source graph's weights were not touched (storage is shared by copies).
    EXPECT_GT(channel_max(fp32.initializers.at("w1"), 0) / channel_max(eq.initializers.at("w1"), 0),
              2.0f);
    auto int8_error = [&](const Graph &g) {
      auto gp = std::make_shared<const Graph>(g);
      return test::output_nmse(fp32, quantize_graph(g, test::calibrate(gp, in), Plan{}), in);
    };
    const double before = int8_error(fp32), after = int8_error(eq);
    std::printf("act %s: int8 output NMSE %.3g -> %.3g\n", act.empty() ? "none" : act[0].c_str(),
                before, after);
    EXPECT_LT(after, 0.5 * before);
  }
}

TEST(CrossLayerEqualization, NotAcrossSiluOrRelu6) {
  std::mt19937 rng(4);
  Graph silu = dw_silu_pw(rng);
  const Graph before = silu;
  EqualizeReport r = equalize_cross_layer(silu);
  EXPECT_EQ(r.pairs, 0);
  EXPECT_EQ(r.skipped.at("SiLU (x * Sigmoid(x))"), 1);
  EXPECT_EQ(relative_max_diff(before, silu, images(1, rng)), 0.0);
  Graph relu6 = dw_pw({"Clip"}, rng);
  r = equalize_cross_layer(relu6);
  EXPECT_EQ(r.pairs, 0);
  EXPECT_EQ(r.skipped.at("Clip (Relu6-like bounds)"), 1);
  EXPECT_NE(r.summary().find("not positively homogeneous"), std::string::npos);
}

// Real models: NanoDet-m (ShuffleNetV2 + LeakyReLU head) keeps its outputs;
// YOLOX-Nano (SiLU everywhere) has no valid pair.
TEST(CrossLayerEqualization, NanoDetEqualizedYoloxSkipped) {
  const Graph nanodet =
      *tune::load_model_file(test::shared_data("models/nanodet/nanodet_m_320.onnx"));
  Graph eq = nanodet;
  EqualizeReport r = equalize_cross_layer(eq);
  std::printf("NanoDet-m: %s\n", r.summary().c_str());
  EXPECT_GE(r.pairs, 20);
  std::mt19937 rng(8);
  std::vector<Batch> in = {
      {{nanodet.inputs[0].name, random_tensor({1, 3, 320, 320}, -2.0f, 2.0f, rng)}}};
  EXPECT_LT(relative_max_diff(nanodet, eq, in), 1e-4);

  Graph yolox = *tune::load_model_file(test::shared_data("models/yolox_nano/yolox_nano.onnx"));
  r = equalize_cross_layer(yolox);
  std::printf("YOLOX-Nano: %s\n", r.summary().c_str());
  EXPECT_EQ(r.pairs, 0);
  EXPECT_GE(r.skipped.at("SiLU (x * Sigmoid(x))"), 20);
}

} // namespace
} // namespace qtune::quant
