// Recipe activation_equalization (quant/activation_equalize.h): the rewritten
// FP32 graph computes the same function (hand-built conv -> SiLU -> depthwise /
// pointwise readers, and YOLOX-Nano on a real image), the inserted Mul is never
// a quantizable node, and the int8 model of a graph whose activation channels
// span very different ranges loses less after it.
#include <cmath>
#include <cstdio>
#include <gtest/gtest.h>
#include <random>

#include "../test_util.h"
#include "conv_graph.h"
#include "frontends/onnx/onnx_import.h"
#include "quant/activation_equalize.h"
#include "quant/quantize_graph.h"
#include "runtime/executor.h"
#include "tune/model_backend.h"

namespace qtune::quant {
namespace {

using test::Batch;
using test::random_tensor;
using test::relative_max_diff;
const auto images = test::random_images;

// Appends x * Sigmoid(x) after `in`; returns its output name.
std::string add_silu(Graph &g, const std::string &in) {
  Node sig, mul;
  sig.name = in + "_sig";
  sig.op_type = "Sigmoid";
  sig.inputs = {in};
  sig.outputs = {in + "_s"};
  mul.name = in + "_silu";
  mul.op_type = "Mul";
  mul.inputs = {in, sig.outputs[0]};
  mul.outputs = {in + "_m"};
  g.nodes.push_back(sig);
  g.nodes.push_back(mul);
  return mul.outputs[0];
}

// x[1,4,8,8] -> conv 3x3 (output channel c scaled by gain[c]) -> SiLU -> a
// a -> depthwise 3x3 -> SiLU -> b;  a, b both read by pointwise convs whose
// sum is y (so `a` has a depthwise and a pointwise reader). The pointwise
// readers undo the gains: the narrow channels matter as much as the wide one.
Graph conv_silu_readers(std::mt19937 &rng) {
  Graph g = test::graph_with_io("conv_silu_readers", 4, 8, 8);
  const float gain[4] = {8.0f, 1.0f, 0.05f, 0.3f};
  g.initializers["w1"] = test::gained_weights({4, 4, 3, 3}, 0.5f, gain, rng);
  g.initializers["b1"] = random_tensor({4}, -0.1f, 0.1f, rng);
  g.initializers["wd"] = random_tensor({4, 1, 3, 3}, -1.0f, 1.0f, rng);
  g.initializers["bd"] = random_tensor({4}, -0.1f, 0.1f, rng);
  for (const char *w : {"wp1", "wp2"}) {
    Tensor t = random_tensor({3, 4, 1, 1}, -1.0f, 1.0f, rng);
    for (int64_t o = 0; o < 3; ++o)
      for (int64_t c = 0; c < 4; ++c)
        t.data<float>()[o * 4 + c] /= gain[c];
    g.initializers[w] = t;
  }
  Node c1 = test::conv_node("c1", "x", "w1", "b1", "c1_out", 3);
  c1.attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  g.nodes.push_back(c1);
  const std::string a = add_silu(g, "c1_out");
  Node dw = test::conv_node("dw", a, "wd", "bd", "dw_out", 3, 4);
  dw.attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  g.nodes.push_back(dw);
  const std::string b = add_silu(g, "dw_out");
  g.nodes.push_back(test::conv_node("pw1", a, "wp1", "", "p1", 1));
  g.nodes.push_back(test::conv_node("pw2", b, "wp2", "", "p2", 1));
  Node add;
  add.name = "add";
  add.op_type = "Add";
  add.inputs = {"p1", "p2"};
  add.outputs = {"y"};
  g.nodes.push_back(add);
  return g;
}

TEST(ActivationEqualization, SameFunctionMarkedMulLessInt8Error) {
  std::mt19937 rng(5);
  const Graph fp32 = conv_silu_readers(rng);
  const std::vector<Batch> calib = images(8, rng), held_out = images(8, rng);
  const CalibrationStats stats = test::calibrate(std::make_shared<const Graph>(fp32), calib);
  const Plan plan;
  ActivationEqualization eq = equalize_activations(fp32, stats, plan);
  std::printf("%s\n", eq.summary().c_str());
  // `a` (c1's SiLU: one depthwise and one pointwise reader) and `b` (dw's SiLU).
  EXPECT_EQ(eq.tensors, 2);
  EXPECT_EQ(eq.readers, 3);
  EXPECT_GT(eq.mean_gain, 1.5);
  EXPECT_LT(relative_max_diff(fp32, eq.graph, held_out), 1e-5);
  // The source graph's weights are untouched (copies share storage).
  std::mt19937 same_seed(5);
  EXPECT_EQ(relative_max_diff(fp32, conv_silu_readers(same_seed), held_out), 0.0);
  int marked = 0;
  for (const Node &n : eq.graph.nodes)
    marked += n.attrs.count(kChannelScaleAttr) ? 1 : 0;
  EXPECT_EQ(marked, 2);
  for (const QuantizableNode &q : list_quantizable_nodes(eq.graph))
    EXPECT_EQ(q.name.find("_equalize"), std::string::npos) << q.name;

  const double before = test::output_nmse(fp32, quantize_graph(fp32, stats, plan), held_out);
  const Graph qdq = quantize_graph(eq.graph, eq.stats, plan);
  const double after = test::output_nmse(fp32, qdq, held_out);
  std::printf("int8 output NMSE %.3g -> %.3g\n", before, after);
  EXPECT_LT(after, 0.5 * before);

  // Through an ONNX file the marks survive (model metadata), so a saved model's
  // precision map does not count the Muls as fp32 fallbacks.
  const std::string file = testing::TempDir() + "qtune_activation_equalize.onnx";
  save_onnx(qdq, file);
  const Graph back = load_onnx(file);
  std::remove(file.c_str());
  int restored = 0;
  for (const Node &n : back.nodes)
    restored += n.attrs.count(kChannelScaleAttr) ? 1 : 0;
  EXPECT_EQ(restored, 2);
  for (const QuantizableNode &q : list_quantizable_nodes(back))
    EXPECT_EQ(q.name.find("_equalize"), std::string::npos) << q.name;
}

TEST(ActivationEqualization, SkippedUnlessReadersAreU8Minmax) {
  std::mt19937 rng(6);
  const Graph fp32 = conv_silu_readers(rng);
  const CalibrationStats stats =
      test::calibrate(std::make_shared<const Graph>(fp32), images(4, rng));
  Plan plan;
  plan.model_wise.activation.algorithm = CalibAlgorithm::kl; // histograms of x, not of x * f
  ActivationEqualization eq = equalize_activations(fp32, stats, plan);
  EXPECT_EQ(eq.tensors, 0);
  EXPECT_EQ(eq.skipped_scheme, 2);
  EXPECT_NE(eq.summary().find("not u8 minmax"), std::string::npos);
}

// YOLOX-Nano: the activations its convs write through SiLU and only convs
// read are equalized; the graph keeps its outputs on a real image.
TEST(ActivationEqualization, YoloxSameOutputs) {
  auto yolox = tune::load_model_file(test::shared_data("models/yolox_nano/yolox_nano.onnx"));
  std::mt19937 rng(9);
  std::vector<Batch> in = {
      {{yolox->inputs[0].name, random_tensor({1, 3, 416, 416}, 0.0f, 255.0f, rng)}}};
  const CalibrationStats stats = test::calibrate(yolox, in);
  ActivationEqualization eq = equalize_activations(*yolox, stats, Plan{});
  std::printf("YOLOX-Nano: %s\n", eq.summary().c_str());
  EXPECT_GE(eq.tensors, 60);
  EXPECT_LT(relative_max_diff(*yolox, eq.graph, in), 1e-4);
}

} // namespace
} // namespace qtune::quant
