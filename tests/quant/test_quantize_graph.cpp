// QDQ insertion: weight/bias quantization against values computed by hand from
// the initializers, plan levels and recipes, scale propagation; then the real
// executor: calibration, QDQ accuracy against FP32, ONNX export that passes
// onnx::checker and re-imports to the same outputs.
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <random>

#include "frontends/onnx/onnx_import.h"
#include "qtune/error.h"
#include "quant/calibrate.h"
#include "quant/lower_qdq.h"
#include "quant/quantize_graph.h"
#include "runtime/executor.h"

using namespace qtune;
using namespace qtune::quant;

namespace {

Tensor random_tensor(Shape shape, std::mt19937 &rng, float lo, float hi) {
  Tensor t(DType::f32, std::move(shape));
  std::uniform_real_distribution<float> d(lo, hi);
  for (float &v : t.span<float>())
    v = d(rng);
  return t;
}

Node make_node(std::string name, std::string op, std::vector<std::string> in,
               std::vector<std::string> out) {
  Node n;
  n.name = std::move(name);
  n.op_type = std::move(op);
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  return n;
}

// x[1,3,12,12] -> conv1(3->8,3x3,pad1) -> relu -> maxpool2 -> conv2(8->8) -> relu
// -> concat(with the maxpool output) -> conv3 1x1 (16->4, no bias) -> y
Graph small_cnn() {
  std::mt19937 rng(7);
  Graph g;
  g.name = "small_cnn";
  g.opset = 13;
  ValueInfo x;
  x.name = "x";
  x.dtype = DType::f32;
  x.dims = {{1, ""}, {3, ""}, {12, ""}, {12, ""}};
  x.has_shape = true;
  g.inputs = {x};
  ValueInfo y;
  y.name = "y";
  y.dtype = DType::f32;
  y.dims = {{1, ""}, {4, ""}, {6, ""}, {6, ""}};
  y.has_shape = true;
  g.outputs = {y};
  g.initializers["w1"] = random_tensor({8, 3, 3, 3}, rng, -0.5f, 0.5f);
  g.initializers["b1"] = random_tensor({8}, rng, -0.2f, 0.2f);
  g.initializers["w2"] = random_tensor({8, 8, 3, 3}, rng, -0.2f, 0.2f);
  g.initializers["b2"] = random_tensor({8}, rng, -0.1f, 0.1f);
  g.initializers["w3"] = random_tensor({4, 16, 1, 1}, rng, -0.3f, 0.3f);
  Node c1 = make_node("conv1", "Conv", {"x", "w1", "b1"}, {"c1"});
  c1.attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  c1.attrs["kernel_shape"] = std::vector<int64_t>{3, 3};
  Node p = make_node("pool", "MaxPool", {"r1"}, {"p1"});
  p.attrs["kernel_shape"] = std::vector<int64_t>{2, 2};
  p.attrs["strides"] = std::vector<int64_t>{2, 2};
  Node c2 = make_node("conv2", "Conv", {"p1", "w2", "b2"}, {"c2"});
  c2.attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  c2.attrs["kernel_shape"] = std::vector<int64_t>{3, 3};
  Node cat = make_node("cat", "Concat", {"r2", "p1"}, {"cat"});
  cat.attrs["axis"] = int64_t(1);
  Node c3 = make_node("conv3", "Conv", {"cat", "w3"}, {"y"});
  c3.attrs["kernel_shape"] = std::vector<int64_t>{1, 1};
  g.nodes = {c1, make_node("relu1", "Relu", {"c1"}, {"r1"}), p,
             c2, make_node("relu2", "Relu", {"c2"}, {"r2"}), cat,
             c3};
  return g;
}

CalibrationStats fake_stats() {
  CalibrationStats s;
  auto put = [&](const char *name, float lo, float hi) {
    std::vector<float> v = {lo, hi, 0.5f * (lo + hi)};
    s.tensors[name].add(v);
  };
  put("x", -1.f, 3.f);
  put("c1", -2.f, 2.f);
  put("r1", 0.f, 2.f);
  put("p1", 0.f, 1.5f); // differs from r1: scale propagation must win
  put("c2", -1.f, 1.f);
  put("r2", 0.f, 1.f);
  put("cat", 0.f, 2.5f);
  put("y", -3.f, 3.f);
  return s;
}

const Node *find_node(const Graph &g, const std::string &op, const std::string &output) {
  for (const Node &n : g.nodes)
    if (n.op_type == op && n.outputs[0] == output)
      return &n;
  return nullptr;
}

// Output of the DequantizeLinear feeding input `k` of the node named `name`.
const Node *dq_feeding(const Graph &g, const std::string &name, size_t k) {
  for (const Node &n : g.nodes)
    if (n.name == name)
      return find_node(g, "DequantizeLinear", n.inputs.at(k));
  return nullptr;
}

float scalar(const Graph &g, const std::string &name) {
  return g.initializers.at(name).to_f32_vector()[0];
}

} // namespace

TEST(QuantizeGraph, WeightsAndBiasMatchHandQuantization) {
  Graph g = small_cnn();
  CalibrationStats stats = fake_stats();
  Plan plan;
  plan.recipes.scale_propagation_concat = false;
  QuantizeReport report;
  Graph q = quantize_graph(g, stats, plan, &report);
  EXPECT_EQ(report.int8, 5) << report.summary(); // 3 convs, maxpool, concat
  EXPECT_EQ(report.fp32, 0);
  EXPECT_EQ(q.opset, 13);

  const Node *wdq = dq_feeding(q, "conv1", 1);
  ASSERT_NE(wdq, nullptr);
  EXPECT_EQ(wdq->attr_int("axis", -1), 0);
  const Tensor &wq = q.initializers.at(wdq->inputs[0]);
  ASSERT_EQ(wq.dtype(), DType::i8);
  const Tensor &w = g.initializers.at("w1");
  std::vector<float> ws = q.initializers.at(wdq->inputs[1]).to_f32_vector();
  ASSERT_EQ(ws.size(), 8u);
  for (int c = 0; c < 8; ++c) {
    float m = 0;
    for (int i = 0; i < 27; ++i)
      m = std::max(m, std::fabs(w.data<float>()[c * 27 + i]));
    EXPECT_FLOAT_EQ(ws[c], m / 127.f);
    for (int i = 0; i < 27; ++i)
      EXPECT_EQ(wq.data<int8_t>()[c * 27 + i],
                int(std::nearbyint(w.data<float>()[c * 27 + i] / ws[c])));
  }
  // x is asymmetric u8 over [-1, 3]: scale 4/255, zero point round(255/4) = 64.
  const Node *xdq = dq_feeding(q, "conv1", 0);
  ASSERT_NE(xdq, nullptr);
  const float sx = scalar(q, xdq->inputs[1]);
  EXPECT_FLOAT_EQ(sx, 4.f / 255.f);
  EXPECT_EQ(q.initializers.at(xdq->inputs[2]).dtype(), DType::u8);
  EXPECT_EQ(q.initializers.at(xdq->inputs[2]).data<uint8_t>()[0], 64);
  // Bias: int32 with scale sx * sw[c].
  const Node *bdq = dq_feeding(q, "conv1", 2);
  ASSERT_NE(bdq, nullptr);
  const Tensor &bq = q.initializers.at(bdq->inputs[0]);
  ASSERT_EQ(bq.dtype(), DType::i32);
  for (int c = 0; c < 8; ++c)
    EXPECT_EQ(bq.data<int32_t>()[c],
              int(std::nearbyint(g.initializers.at("b1").data<float>()[c] / (sx * ws[c]))));
  // conv3 has no bias: none invented without bias correction.
  for (const Node &n : q.nodes)
    if (n.name == "conv3")
      EXPECT_EQ(n.num_inputs(), 2u);
  // MaxPool keeps its input's scale (r1 over [0,2]), not p1's own statistics.
  const Node *pool_in = dq_feeding(q, "pool", 0);
  const Node *pool_out = find_node(q, "QuantizeLinear", "p1_quantized");
  ASSERT_NE(pool_in, nullptr);
  ASSERT_NE(pool_out, nullptr);
  EXPECT_FLOAT_EQ(scalar(q, pool_in->inputs[1]), 2.f / 255.f);
  EXPECT_FLOAT_EQ(scalar(q, pool_out->inputs[1]), 2.f / 255.f);
  // Original f32 weights are gone; only quantized ones remain.
  EXPECT_EQ(q.initializers.count("w1"), 0u);
}

TEST(QuantizeGraph, ConcatScalePropagation) {
  // LPOT's scale_propagation_concat alone: both concat inputs use the concat
  // output's range [0, 2.5], also p1, which conv2 reads as well.
  Plan lpot;
  lpot.recipes.concat_fork_own_scale = false;
  Graph q = quantize_graph(small_cnn(), fake_stats(), lpot);
  const Node *a = dq_feeding(q, "cat", 0);
  const Node *b = dq_feeding(q, "cat", 1);
  ASSERT_TRUE(a && b);
  EXPECT_FLOAT_EQ(scalar(q, a->inputs[1]), 2.5f / 255.f);
  EXPECT_FLOAT_EQ(scalar(q, b->inputs[1]), 2.5f / 255.f);
  EXPECT_FLOAT_EQ(scalar(q, dq_feeding(q, "conv2", 0)->inputs[1]), 2.5f / 255.f);

  // Default (concat_fork_own_scale): r2 is read by the concat only and still
  // takes its scale; p1 keeps the pool's (r1's [0, 2]), for conv2 and the concat.
  q = quantize_graph(small_cnn(), fake_stats(), Plan{});
  a = dq_feeding(q, "cat", 0);
  b = dq_feeding(q, "cat", 1);
  ASSERT_TRUE(a && b);
  EXPECT_FLOAT_EQ(scalar(q, a->inputs[1]), 2.5f / 255.f);
  EXPECT_FLOAT_EQ(scalar(q, b->inputs[1]), 2.f / 255.f);
  EXPECT_FLOAT_EQ(scalar(q, dq_feeding(q, "conv2", 0)->inputs[1]), 2.f / 255.f);
  const Node *out = find_node(q, "QuantizeLinear", "cat_quantized");
  ASSERT_NE(out, nullptr);
  EXPECT_FLOAT_EQ(scalar(q, out->inputs[1]), 2.5f / 255.f);
}

// LPOT's last_conv_or_matmul_quantization: false keeps the last compute node
// in graph order fp32 (conv3 here), unless op_wise names it.
TEST(QuantizeGraph, LastConvRecipe) {
  Plan plan;
  plan.recipes.last_conv_or_matmul_quantization = false;
  QuantizeReport report;
  quantize_graph(small_cnn(), fake_stats(), Plan::from_json(plan.to_json()), &report);
  EXPECT_EQ(report.nodes.at("conv3"), Precision::fp32);
  EXPECT_EQ(report.nodes.at("conv1"), Precision::int8);
  EXPECT_EQ(report.nodes.at("conv2"), Precision::int8);
  plan.op_wise["conv3"].precision = Precision::int8;
  quantize_graph(small_cnn(), fake_stats(), plan, &report);
  EXPECT_EQ(report.nodes.at("conv3"), Precision::int8);
}

TEST(QuantizeGraph, PlanLevelsAndRecipes) {
  Graph g = small_cnn();
  Plan plan;
  plan.recipes.first_conv_or_matmul_quantization = false;
  plan.optype_wise["MaxPool"].precision = Precision::fp32;
  plan.optype_wise["Concat"].precision = Precision::fp32;
  plan.op_wise["conv3"].activation_asymmetric = false;
  plan.op_wise["conv3"].weight_per_channel = false;
  // The tuner stores plans as JSON: round trip before use.
  Plan back = Plan::from_json(plan.to_json());
  EXPECT_EQ(back.to_json(), plan.to_json());
  QuantizeReport report;
  Graph q = quantize_graph(g, fake_stats(), back, &report);
  EXPECT_EQ(report.nodes.at("conv1"), Precision::fp32);
  EXPECT_EQ(report.nodes.at("pool"), Precision::fp32);
  EXPECT_EQ(report.nodes.at("conv2"), Precision::int8);
  EXPECT_EQ(report.int8, 2);
  EXPECT_EQ(dq_feeding(q, "conv1", 1), nullptr); // fp32 weights stay
  const Node *w3 = dq_feeding(q, "conv3", 1);
  ASSERT_NE(w3, nullptr);
  EXPECT_FALSE(w3->has_attr("axis")); // per tensor
  EXPECT_EQ(q.initializers.at(w3->inputs[1]).numel(), 1);
  // conv3 asked for s8 symmetric activations (zero point 0, scale 2.5/127).
  const Node *x3 = dq_feeding(q, "conv3", 0);
  ASSERT_NE(x3, nullptr);
  EXPECT_EQ(q.initializers.at(x3->inputs[2]).dtype(), DType::i8);
  EXPECT_EQ(q.initializers.at(x3->inputs[2]).data<int8_t>()[0], 0);
  EXPECT_FLOAT_EQ(scalar(q, x3->inputs[1]), 2.5f / 127.f);
  EXPECT_THROW(Plan::from_json(nlohmann::json{{"op_wise", {{"x", {{"precision", "int4"}}}}}}),
               InputError);
}

TEST(QuantizeGraph, MissingStatisticsKeepsNodeFp32) {
  CalibrationStats s = fake_stats();
  s.tensors.erase("r2");
  QuantizeReport report;
  quantize_graph(small_cnn(), s, Plan{}, &report);
  EXPECT_EQ(report.nodes.at("cat"), Precision::fp32);
  EXPECT_NE(report.fallback_reason.at("cat").find("r2"), std::string::npos);
}

TEST(QuantizeGraph, FastBiasCorrectionShiftsBiasByMeanWeightError) {
  Graph g = small_cnn();
  CalibrationStats s = fake_stats();
  // Channel means of x: 1, 2, 3.
  std::vector<float> v = {1, 2, 3};
  s.tensors["x"].add_channel_sums(v, std::vector<int64_t>{1, 3, 1, 1});
  Plan plan;
  plan.recipes.fast_bias_correction = true;
  Graph q = quantize_graph(g, s, plan);
  const Node *wdq = dq_feeding(q, "conv1", 1);
  const Node *bdq = dq_feeding(q, "conv1", 2);
  const Node *xdq = dq_feeding(q, "conv1", 0);
  std::vector<float> ws = q.initializers.at(wdq->inputs[1]).to_f32_vector();
  const Tensor &wq = q.initializers.at(wdq->inputs[0]);
  const float sx = scalar(q, xdq->inputs[1]);
  const Tensor &w = g.initializers.at("w1");
  for (int c = 0; c < 8; ++c) {
    double delta = 0;
    for (int ic = 0; ic < 3; ++ic)
      for (int k = 0; k < 9; ++k) {
        int i = (c * 3 + ic) * 9 + k;
        delta += (w.data<float>()[i] - wq.data<int8_t>()[i] * ws[c]) * (ic + 1);
      }
    double expect = (g.initializers.at("b1").data<float>()[c] + delta) / (sx * ws[c]);
    EXPECT_EQ(q.initializers.at(bdq->inputs[0]).data<int32_t>()[c], int(std::nearbyint(expect)));
  }
}

namespace {

std::vector<std::unordered_map<std::string, Tensor>> random_inputs(int n) {
  std::mt19937 rng(11);
  std::vector<std::unordered_map<std::string, Tensor>> out;
  for (int i = 0; i < n; ++i)
    out.push_back({{"x", random_tensor({1, 3, 12, 12}, rng, -1.f, 3.f)}});
  return out;
}

double max_abs_diff(const Tensor &a, const Tensor &b) {
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i)
    m = std::max(m, double(std::fabs(a.data<float>()[i] - b.data<float>()[i])));
  return m;
}

} // namespace

TEST(QuantizeGraph, CalibratedQdqModelRunsCloseToFp32AndExportsToOnnx) {
  auto fp32 = std::make_shared<const Graph>(small_cnn());
  auto inputs = random_inputs(6);
  Calibrator cal(fp32, {.threads = 1});
  for (const auto &in : inputs)
    cal.add(in);
  CalibrationStats stats = cal.take();
  ASSERT_TRUE(stats.find("r1") && stats.find("x") && stats.find("cat"));
  EXPECT_NEAR(stats.find("x")->max, 3.0, 0.05);

  auto qdq = std::make_shared<const Graph>(quantize_graph(*fp32, stats, Plan{}));
  Executor ref(fp32, {.threads = 1});
  Executor run_qdq(qdq, {.threads = 1});
  Graph lowered_graph = *qdq;
  LowerReport lowered = lower_qdq(lowered_graph);
  EXPECT_EQ(lowered.count("conv"), 3) << lowered.summary();
  Executor run_lowered(std::make_shared<const Graph>(lowered_graph), {.threads = 1});

  const std::string path =
      (std::filesystem::temp_directory_path() / "qtune_small_qdq.onnx").string();
  save_onnx(*qdq, path);
  onnx::ModelProto model;
  {
    std::ifstream f(path, std::ios::binary);
    ASSERT_TRUE(model.ParseFromIstream(&f));
  }
  EXPECT_NO_THROW(onnx::checker::check_model(model));
  auto reimported = std::make_shared<const Graph>(load_onnx(path));
  Executor run_reimported(reimported, {.threads = 1});
  Graph relowered = *reimported;
  lower_qdq(relowered);
  Executor run_relowered(std::make_shared<const Graph>(relowered), {.threads = 1});

  for (const auto &in : inputs) {
    Tensor y = ref.run(in)[0];
    Tensor yq = run_qdq.run(in)[0];
    double range = std::max(std::fabs(stats.find("y")->min), std::fabs(stats.find("y")->max));
    // Three int8 layers: errors of a few percent of the output range at most.
    EXPECT_LT(max_abs_diff(y, yq), 0.05 * range);
    // The quantum at the last conv: input scale * max weight scale * fan-in.
    EXPECT_LT(max_abs_diff(yq, run_lowered.run(in)[0]), 0.01 * range);
    EXPECT_LT(max_abs_diff(yq, run_reimported.run(in)[0]), 1e-5 * range);
    EXPECT_LT(max_abs_diff(run_lowered.run(in)[0], run_relowered.run(in)[0]), 1e-5 * range);
  }
  std::filesystem::remove(path);
}

TEST(QuantizeGraph, HundredConvModelQuantizesQuickly) {
  // 100 convs 64->64 3x3: the tuner rebuilds quantized models from cached stats.
  std::mt19937 rng(3);
  Graph g;
  g.opset = 13;
  CalibrationStats stats;
  std::string prev = "x";
  std::vector<float> range = {-1.f, 2.f};
  stats.tensors["x"].add(range);
  for (int i = 0; i < 100; ++i) {
    std::string w = "w" + std::to_string(i), b = "b" + std::to_string(i);
    std::string out = "c" + std::to_string(i);
    g.initializers[w] = random_tensor({64, 64, 3, 3}, rng, -0.1f, 0.1f);
    g.initializers[b] = random_tensor({64}, rng, -0.1f, 0.1f);
    g.nodes.push_back(make_node("conv" + std::to_string(i), "Conv", {prev, w, b}, {out}));
    stats.tensors[out].add(range);
    prev = out;
  }
  auto t0 = std::chrono::steady_clock::now();
  QuantizeReport report;
  Graph q = quantize_graph(g, stats, Plan{}, &report);
  double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(report.int8, 100);
  EXPECT_EQ(q.nodes.size(), 100u + 99 * 2 + 2 + 200);
  EXPECT_LT(sec, 2.0); // typically ~0.1 s; a loose bound, not a benchmark
}

namespace {

// x -> conv1 (3->8, 1x1) -> SiLU as Mul(c1, Sigmoid(c1)) -> conv2 (8->4) -> y
Graph silu_cnn() {
  std::mt19937 rng(3);
  Graph g = small_cnn();
  g.initializers["w1"] = random_tensor({8, 3, 1, 1}, rng, -0.5f, 0.5f);
  g.initializers["w2"] = random_tensor({4, 8, 1, 1}, rng, -0.5f, 0.5f);
  g.outputs[0].dims = {{1, ""}, {4, ""}, {12, ""}, {12, ""}};
  Node c1 = make_node("conv1", "Conv", {"x", "w1", "b1"}, {"c1"});
  Node c2 = make_node("conv2", "Conv", {"silu", "w2"}, {"y"});
  g.nodes = {c1, make_node("gate", "Sigmoid", {"c1"}, {"s1"}),
             make_node("silu_mul", "Mul", {"c1", "s1"}, {"silu"}), c2};
  return g;
}

double silu(double x) {
  return x / (1 + std::exp(-x));
}

} // namespace

// Recipe activation_table: the conv's pre-activation gets its own Q/DQ, read
// by both the Sigmoid and the Mul, with its lower bound raised to where SiLU
// stays within half an output step of 0 (the calibrated -20 would spend 3/4
// of the levels on a tail SiLU flattens); the lowering then folds the SiLU
// table into conv1.
TEST(QuantizeGraph, ActivationTableQuantizesThePreActivation) {
  CalibrationStats s;
  auto put = [&](const char *name, float lo, float hi) {
    std::vector<float> v = {lo, hi};
    s.tensors[name].add(v);
  };
  put("x", -1.f, 3.f);
  put("c1", -20.f, 6.f);
  put("s1", 0.f, 1.f);
  put("silu", -0.28f, 6.f);
  put("y", -3.f, 3.f);
  Plan plain;
  Graph q = quantize_graph(silu_cnn(), s, plain);
  EXPECT_EQ(find_node(q, "QuantizeLinear", "c1_quantized"), nullptr);

  Plan table;
  table.recipes.activation_table = true;
  q = quantize_graph(silu_cnn(), s, Plan::from_json(table.to_json()));
  const Node *gate = dq_feeding(q, "gate", 0), *mul = dq_feeding(q, "silu_mul", 0);
  ASSERT_TRUE(gate && mul);
  EXPECT_EQ(gate, mul);
  const float s_out = scalar(q, dq_feeding(q, "conv2", 0)->inputs[1]);
  EXPECT_FLOAT_EQ(s_out, 6.28f / 255.f);
  const float scale = scalar(q, gate->inputs[1]);
  const double lo = 6.0 - 255.0 * scale; // u8: [lo, 6] over 255 steps
  EXPECT_LT(std::fabs(silu(lo)), s_out / 2);
  EXPECT_GE(std::fabs(silu(lo + 0.02)), s_out / 2);
  EXPECT_GT(lo, -7.0);
  EXPECT_LT(lo, -5.0);

  // The Sigmoid read by another op too: that reader would see the clipped
  // pre-activation, so no table.
  Graph other = silu_cnn();
  other.nodes.push_back(make_node("other", "Relu", {"s1"}, {"s1_relu"}));
  other.outputs.push_back(other.outputs[0]);
  other.outputs.back().name = "s1_relu";
  EXPECT_EQ(find_node(quantize_graph(other, s, table), "QuantizeLinear", "c1_quantized"), nullptr);

  LowerReport r = lower_qdq(q);
  EXPECT_EQ(r.count("conv_table"), 1) << r.summary();
  int tables = 0;
  for (const Node &n : q.nodes) {
    EXPECT_NE(n.op_type, "Sigmoid");
    EXPECT_NE(n.op_type, "QLut");
    tables += n.op_type == "QConv" && n.inputs.size() == 5;
  }
  EXPECT_EQ(tables, 1);
}
