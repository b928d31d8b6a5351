// The QDQ lowering against the unlowered QDQ graph: a small conv chain
// (conv+relu, int8 maxpool, conv + residual add + relu, conv with f32 output)
// run once as written (QuantizeLinear/DequantizeLinear kernels, float Conv /
// Relu / Add / MaxPool computed here) and once lowered to qtune int8 kernels.
#include <cmath>
#include <gtest/gtest.h>
#include <random>
#include <set>

#include "../test_util.h"
#include "data/dataset.h"
#include "frontends/onnx/onnx_import.h"
#include "qdq_builder.h"
#include "quant/calibrate.h"
#include "quant/inference_graph.h"
#include "quant/lower_qdq.h"
#include "quant/quantize_graph.h"
#include "runtime/executor.h"
#include "runtime/kernel.h"

namespace qtune {
namespace {

// Float reference ops for the unlowered graph, on plain NCHW tensors.
Tensor ref_conv(const Node &n, const Tensor &x, const Tensor &w, const Tensor *b) {
  int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  int64_t O = w.dim(0), K = w.dim(2);
  int64_t pad = n.attr_ints("pads", {0, 0, 0, 0})[0];
  int64_t OH = H + 2 * pad - K + 1, OW = W + 2 * pad - K + 1;
  Tensor y(DType::f32, {N, O, OH, OW});
  const float *xv = x.data<float>();
  const float *wv = w.data<float>();
  for (int64_t nn = 0; nn < N; ++nn)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t i = 0; i < OH; ++i)
        for (int64_t j = 0; j < OW; ++j) {
          double acc = b ? b->data<float>()[o] : 0.0;
          for (int64_t c = 0; c < C; ++c)
            for (int64_t ki = 0; ki < K; ++ki)
              for (int64_t kj = 0; kj < K; ++kj) {
                int64_t yi = i - pad + ki, xj = j - pad + kj;
                if (yi < 0 || xj < 0 || yi >= H || xj >= W)
                  continue;
                acc += double(xv[((nn * C + c) * H + yi) * W + xj]) *
                       wv[((o * C + c) * K + ki) * K + kj];
              }
          y.data<float>()[((nn * O + o) * OH + i) * OW + j] = static_cast<float>(acc);
        }
  return y;
}

Tensor ref_maxpool3x3(const Tensor &x) { // kernel 3, stride 1, pads 1
  Tensor y(DType::f32, x.shape());
  int64_t NC = x.dim(0) * x.dim(1), H = x.dim(2), W = x.dim(3);
  for (int64_t p = 0; p < NC; ++p)
    for (int64_t i = 0; i < H; ++i)
      for (int64_t j = 0; j < W; ++j) {
        float m = -INFINITY;
        for (int64_t a = std::max<int64_t>(0, i - 1); a <= std::min(H - 1, i + 1); ++a)
          for (int64_t b = std::max<int64_t>(0, j - 1); b <= std::min(W - 1, j + 1); ++b)
            m = std::max(m, x.data<float>()[(p * H + a) * W + b]);
        y.data<float>()[(p * H + i) * W + j] = m;
      }
  return y;
}

// Runs nodes in order; float Conv/Relu/Add/MaxPool here, everything else via
// the kernel registry.
std::unordered_map<std::string, Tensor> run_graph(const Graph &g,
                                                  std::unordered_map<std::string, Tensor> values) {
  for (const auto &[k, v] : g.initializers)
    values[k] = v;
  for (const Node &n : g.nodes) {
    std::vector<Tensor> in;
    for (const auto &name : n.inputs)
      in.push_back(name.empty() ? Tensor() : values.at(name));
    std::vector<Tensor> out;
    if (n.op_type == "Conv") {
      out.push_back(ref_conv(n, in[0], in[1], in.size() > 2 ? &in[2] : nullptr));
    } else if (n.op_type == "Relu") {
      out.push_back(in[0].clone());
      for (float &v : out[0].span<float>())
        v = std::max(v, 0.f);
    } else if (n.op_type == "Add") {
      out.push_back(in[0].clone());
      for (int64_t i = 0; i < in[0].numel(); ++i)
        out[0].data<float>()[i] += in[1].data<float>()[i];
    } else if (n.op_type == "MaxPool") {
      out.push_back(ref_maxpool3x3(in[0]));
    } else {
      auto k = make_kernel(n, KernelEnv{});
      auto types = k->infer(in);
      k->prepare(in);
      for (auto &t : types)
        out.emplace_back(t.dtype, t.shape);
      k->run(in, out);
    }
    for (size_t i = 0; i < n.outputs.size(); ++i)
      values[n.outputs[i]] = out[i];
  }
  return values;
}

// Ops that must not be left in a lowered graph (fp32 compute between Q/DQ).
int count_ops(const Graph &g, const std::set<std::string> &ops) {
  int n = 0;
  for (const Node &node : g.nodes)
    n += ops.count(node.op_type) && node.domain != "qtune";
  return n;
}

TEST(LowerQdq, ConvChainMatchesUnloweredGraph) {
  Builder b;
  const int64_t C = 8, H = 12;
  std::vector<int64_t> pad1{1, 1, 1, 1};
  std::string x = b.qdq("x", 0.04f, 128);
  b.g.initializers["b1"] =
      Tensor::from_vector<float>({C}, {0.1f, -0.2f, 0.3f, 0, 0.05f, -0.4f, 0.2f, 0});
  b.node("Conv", {x, b.weight("w1", C, C, 3), "b1"}, "c1", {{"pads", pad1}});
  b.node("Relu", {"c1"}, "r1");
  std::string r1 = b.qdq("r1", 0.03f, 0);
  b.node("MaxPool", {r1}, "p1", {{"kernel_shape", std::vector<int64_t>{3, 3}}, {"pads", pad1}});
  std::string p1 = b.qdq("p1", 0.03f, 0);
  // Bias as int32 with scale s_x * s_w, as ONNX Runtime writes it.
  std::string w2 = b.weight("w2", C, C, 3);
  std::vector<float> b2s(C);
  Tensor b2q(DType::i32, {C});
  for (int64_t o = 0; o < C; ++o) {
    b2s[o] = 0.03f * b.g.initializers["w2_s"].data<float>()[o];
    b2q.data<int32_t>()[o] = static_cast<int32_t>((o - 3) * 50);
  }
  b.g.initializers["b2"] = b2q;
  b.g.initializers["b2_s"] = Tensor::from_vector<float>({C}, b2s);
  b.node("DequantizeLinear", {"b2", "b2_s"}, "b2_dq", {{"axis", int64_t{0}}});
  b.node("Conv", {p1, w2, "b2_dq"}, "c2", {{"pads", pad1}});
  b.node("Add", {"c2", p1}, "a2");
  b.node("Relu", {"a2"}, "r2");
  std::string r2 = b.qdq("r2", 0.05f, 0);
  b.node("Conv", {r2, b.weight("w3", 4, C, 1)}, "y");
  b.g.inputs.push_back({"x", DType::f32, {}, false});
  b.g.outputs.push_back({"r2_dq", DType::f32, {}, false});
  b.g.outputs.push_back({"y", DType::f32, {}, false});

  Tensor xin(DType::f32, {2, C, H, H});
  std::normal_distribution<float> nd(0.f, 1.5f);
  for (float &v : xin.span<float>())
    v = nd(b.rng);

  auto want = run_graph(b.g, {{"x", xin}});
  Graph lowered = b.g;
  auto report = quant::lower_qdq(lowered);
  EXPECT_EQ(report.count("conv"), 3) << report.summary();
  EXPECT_EQ(report.count("maxpool"), 1) << report.summary();
  for (const Node &n : lowered.nodes)
    EXPECT_TRUE(n.domain == "qtune" || n.op_type == "QuantizeLinear" ||
                n.op_type == "DequantizeLinear")
        << n.op_type << " left in the lowered graph";
  auto got = run_graph(lowered, {{"x", xin}});

  const Tensor &a = want.at("r2_dq");
  const Tensor &l = got.at("r2_dq");
  int off_by_more = 0;
  for (int64_t i = 0; i < a.numel(); ++i)
    if (std::abs(a.data<float>()[i] - l.data<float>()[i]) > 0.05f * 1.01f)
      ++off_by_more;
  EXPECT_EQ(off_by_more, 0) << "of " << a.numel() << " int8 outputs differ by more than 1 step";
  // f32 output of the last conv: one input step (0.05) times |w| sums bounds it.
  const Tensor &ya = want.at("y");
  const Tensor &yl = got.at("y");
  ASSERT_EQ(ya.shape(), yl.shape());
  double max_diff = 0;
  for (int64_t i = 0; i < ya.numel(); ++i)
    max_diff = std::max(max_diff, double(std::abs(ya.data<float>()[i] - yl.data<float>()[i])));
  EXPECT_LT(max_diff, 0.05 * 127 * 0.006 * C);
}

TEST(LowerQdq, LeavesNonConstantWeightsAlone) {
  Builder b;
  std::string x = b.qdq("x", 0.04f, 128);
  std::string w = b.qdq("w", 0.01f, 128); // a computed (graph input) weight
  b.node("Conv", {x, w}, "y");
  b.g.inputs.push_back({"x", DType::f32, {}, false});
  b.g.inputs.push_back({"w", DType::f32, {}, false});
  b.g.outputs.push_back({"y", DType::f32, {}, false});
  Graph lowered = b.g;
  auto report = quant::lower_qdq(lowered);
  EXPECT_EQ(report.count("conv"), 0);
  EXPECT_EQ(lowered.nodes.size(), b.g.nodes.size());
}

TEST(LowerQdq, MatMulGemmChainMatchesUnloweredGraph) {
  // x -> Flatten -> Gemm(transB, f32 bias) -> Relu -> MatMul -> Gemm(int32
  // bias, f32 output): three QMatMul, the Flatten on int8 values.
  Builder b;
  std::string x = b.qdq("x", 0.04f, 128);
  b.node("Flatten", {x}, "f", {{"axis", int64_t{1}}});
  std::string f = b.qdq("f", 0.04f, 128);
  std::vector<float> b1(24);
  for (size_t i = 0; i < b1.size(); ++i)
    b1[i] = 0.1f * (static_cast<float>(i % 7) - 3);
  b.g.initializers["b1"] = Tensor::from_vector<float>({24}, b1);
  b.node("Gemm", {f, b.weight2d("w1", 24, 32, 0), "b1"}, "g1", {{"transB", int64_t{1}}});
  b.node("Relu", {"g1"}, "r1");
  std::string r1 = b.qdq("r1", 0.03f, 0);
  b.node("MatMul", {r1, b.weight2d("w2", 24, 16, 1)}, "m2");
  std::string m2 = b.qdq("m2", 0.05f, 128);
  std::string w3 = b.weight2d("w3", 16, 5, 1);
  Tensor b3(DType::i32, {5});
  std::vector<float> b3s(5);
  for (int64_t j = 0; j < 5; ++j) {
    b3.data<int32_t>()[j] = static_cast<int32_t>(40 * j - 90);
    b3s[j] = 0.05f * b.g.initializers["w3_s"].data<float>()[j];
  }
  b.g.initializers["b3"] = b3;
  b.g.initializers["b3_s"] = Tensor::from_vector<float>({5}, b3s);
  b.node("DequantizeLinear", {"b3", "b3_s"}, "b3_dq", {{"axis", int64_t{0}}});
  b.node("Gemm", {m2, w3, "b3_dq"}, "y");
  b.input("x");
  b.output("r1_dq");
  b.output("y");

  Graph lowered = b.g;
  auto report = quant::lower_qdq(lowered);
  EXPECT_EQ(report.count("matmul"), 3) << report.summary();
  EXPECT_EQ(report.count("passthrough"), 1) << report.summary();
  EXPECT_EQ(count_ops(lowered, {"Gemm", "MatMul", "Relu", "Flatten"}), 1); // the int8 Flatten
  EXPECT_EQ(count_ops(lowered, {"QuantizeLinear"}), 1);
  auto [want, got] = run_both(b.g, lowered, {{"x", b.random_input({3, 2, 4, 4}, 0.5f, 2.f)}});
  EXPECT_LE(max_abs_diff(want[0], got[0]), 0.03 * 1.01); // one step of r1
  // y: one step (0.05) of each m2 input through |w3| <= 64 * 0.03, 16 inputs.
  EXPECT_LT(max_abs_diff(want[1], got[1]), 0.05 * 16 * 64 * 0.03);
  EXPECT_GT(max_abs_diff(want[1], Tensor(DType::f32, want[1].shape())), 0.1); // not all zero
}

TEST(LowerQdq, BatchedMatMulWithS8Output) {
  Builder b;
  std::string x = b.qdq("x", 0.02f, 100);
  b.node("MatMul", {x, b.weight2d("w", 20, 6, 1)}, "m");
  b.node("QuantizeLinear", {"m", b.scalar_f("m_s", 0.04f), b.scalar_q("m_z", DType::i8, -5)},
         "m_q");
  b.node("DequantizeLinear", {"m_q", "m_s", "m_z"}, "m_dq");
  b.input("x");
  b.output("m_dq");
  Graph lowered = b.g;
  auto report = quant::lower_qdq(lowered);
  EXPECT_EQ(report.count("matmul"), 1) << report.summary();
  EXPECT_EQ(count_ops(lowered, {"MatMul"}), 0);
  auto [want, got] = run_both(b.g, lowered, {{"x", b.random_input({2, 3, 20}, 2.f, 1.f)}});
  ASSERT_EQ(got[0].shape(), (Shape{2, 3, 6}));
  EXPECT_LE(max_abs_diff(want[0], got[0]), 0.04 * 1.01);
}

TEST(LowerQdq, DataMovementOpsRunOnInt8Values) {
  Builder b;
  std::string x1 = b.qdq("a", 0.05f, 120), x2 = b.qdq("b", 0.05f, 120);
  auto ints = [&](const std::string &name, std::vector<int64_t> v) {
    b.g.initializers[name] = Tensor::from_vector<int64_t>({int64_t(v.size())}, v);
    return name;
  };
  b.node("Concat", {x1, x2}, "c", {{"axis", int64_t{1}}});
  std::string c = b.qdq("c", 0.05f, 120);
  b.node("Transpose", {c}, "t", {{"perm", std::vector<int64_t>{0, 2, 3, 1}}});
  std::string t = b.qdq("t", 0.05f, 120);
  b.node("Slice", {t, ints("st", {1}), ints("en", {3}), ints("ax", {1})}, "s");
  std::string s = b.qdq("s", 0.05f, 120);
  b.node("Reshape", {s, ints("shape", {2, -1})}, "r");
  std::string r = b.qdq("r", 0.05f, 120);
  b.node("Unsqueeze", {r, ints("uax", {0})}, "u");
  std::string u = b.qdq("u", 0.05f, 120);
  b.node("Squeeze", {u, ints("sax", {0})}, "sq");
  std::string sq = b.qdq("sq", 0.05f, 120);
  b.node("Identity", {sq}, "id");
  b.qdq("id", 0.05f, 120);
  b.input("a");
  b.input("b");
  b.output("id_dq");
  Graph lowered = b.g;
  auto report = quant::lower_qdq(lowered);
  EXPECT_EQ(report.count("passthrough"), 7) << report.summary();
  EXPECT_EQ(count_ops(lowered, {"QuantizeLinear"}), 2);
  EXPECT_EQ(count_ops(lowered, {"DequantizeLinear"}), 1);
  auto [want, got] = run_both(b.g, lowered,
                              {{"a", b.random_input({1, 4, 3, 5}, 0.f, 3.f)},
                               {"b", b.random_input({1, 2, 3, 5}, 0.f, 3.f)}});
  ASSERT_EQ(got[0].shape(), (Shape{2, 30}));
  EXPECT_EQ(max_abs_diff(want[0], got[0]), 0.0); // moving int8 values is exact
}

// Inputs with their own scales: requant_concat maps each to the output's
// parameters with a table, then the Concat moves int8 values (lowering/lut.cpp).
TEST(LowerQdq, ConcatWithDifferentScalesRequantises) {
  Builder b;
  std::string x1 = b.qdq("a", 0.05f, 120), x2 = b.qdq("b", 0.07f, 120);
  b.node("Concat", {x1, x2}, "c", {{"axis", int64_t{1}}});
  b.qdq("c", 0.05f, 120);
  b.input("a");
  b.input("b");
  b.output("c_dq");
  Graph lowered = b.g;
  auto report = quant::lower_qdq(lowered);
  EXPECT_EQ(report.count("passthrough"), 0);
  EXPECT_EQ(report.count("requant_concat"), 1) << report.summary();
  EXPECT_EQ(std::count_if(lowered.nodes.begin(), lowered.nodes.end(),
                          [](const Node &n) { return n.op_type == "QLut"; }),
            1); // only b needs a new scale
  auto [want, got] = run_both(b.g, lowered,
                              {{"a", b.random_input({1, 2, 3, 5}, 0.f, 3.f)},
                               {"b", b.random_input({1, 2, 3, 5}, 0.f, 3.f)}});
  EXPECT_EQ(max_abs_diff(want[0], got[0]), 0.0);
}

TEST(LowerQdq, AveragePoolsMatchUnloweredGraph) {
  Builder b;
  std::string x = b.qdq("x", 0.04f, 128);
  b.node("AveragePool", {x}, "ap",
         {{"kernel_shape", std::vector<int64_t>{3, 3}},
          {"strides", std::vector<int64_t>{2, 2}},
          {"pads", std::vector<int64_t>{1, 1, 1, 1}}});
  std::string ap = b.qdq("ap", 0.02f, 100);
  b.node("GlobalAveragePool", {ap}, "gp");
  b.qdq("gp", 0.005f, 0);
  b.input("x");
  b.output("ap_dq");
  b.output("gp_dq");
  Graph lowered = b.g;
  auto report = quant::lower_qdq(lowered);
  EXPECT_EQ(report.count("avgpool"), 2) << report.summary();
  EXPECT_EQ(count_ops(lowered, {"AveragePool", "GlobalAveragePool"}), 0);
  auto [want, got] = run_both(b.g, lowered, {{"x", b.random_input({2, 6, 9, 9}, 0.3f, 1.5f)}});
  EXPECT_LE(max_abs_diff(want[0], got[0]), 0.02 * 1.01);
  EXPECT_LE(max_abs_diff(want[1], got[1]), 0.005 * 1.01);
}

// The Fashion-MNIST CNN quantized with the default plan (the tuner's first
// trial) lowers to int8 kernels end to end: one QuantizeLinear at the input,
// no fp32 Gemm / pool / Flatten between Q and DQ, and the same predictions as
// the QDQ graph on real test images.
TEST(LowerQdq, FashionMnistCnnRunsInt8EndToEnd) {
  auto fp32 = std::make_shared<const Graph>(
      load_onnx(test::source_dir("examples/fashion_mnist/fashion_mnist_cnn.onnx")));
  const std::string dir = qtune::test::fashion_mnist();
  auto batch = [](const data::MnistDataset &ds, size_t first, size_t n) {
    Tensor t(DType::f32, {int64_t(n), 1, 28, 28});
    for (size_t i = 0; i < n; ++i) {
      const auto &px = ds.get(first + i).image->pixels;
      for (size_t p = 0; p < 28 * 28; ++p)
        t.data<float>()[i * 784 + p] = px[p] / 255.f;
    }
    return t;
  };
  data::MnistDataset train(dir + "train-images-idx3-ubyte.gz", dir + "train-labels-idx1-ubyte.gz");
  quant::Calibrator cal(fp32, {.threads = 1});
  for (size_t i = 0; i < 4; ++i)
    cal.add({{"image", batch(train, i * 32, 32)}});
  Graph qdq = quant::quantize_graph(*fp32, cal.take(), quant::Plan{});

  Graph lowered = qdq;
  auto report = quant::prepare_for_inference(lowered);
  EXPECT_EQ(report.count("conv"), 2) << report.summary();
  EXPECT_EQ(report.count("matmul"), 2) << report.summary();
  EXPECT_EQ(report.count("maxpool"), 2) << report.summary();
  EXPECT_EQ(report.count("passthrough"), 1) << report.summary(); // Flatten
  EXPECT_EQ(count_ops(lowered, {"Conv", "FusedConv", "Gemm", "FusedGemm", "MatMul", "FusedMatMul",
                                "MaxPool", "AveragePool", "Relu", "DequantizeLinear"}),
            0);
  EXPECT_EQ(count_ops(lowered, {"QuantizeLinear"}), 1);

  // One input step of the last Gemm through the largest column of |w|.
  const Node *last = nullptr;
  for (const Node &n : lowered.nodes)
    if (n.op_type == "QMatMul" && n.attr_string("y_dtype", "") == "f32")
      last = &n;
  ASSERT_NE(last, nullptr);
  const Tensor &w = *lowered.initializer(last->inputs[1]);
  std::vector<float> ws = last->attr_floats("w_scales");
  bool trans_b = last->attr_int("trans_b", 0) != 0;
  int64_t k = trans_b ? w.dim(1) : w.dim(0), n = trans_b ? w.dim(0) : w.dim(1);
  double bound = 0;
  for (int64_t j = 0; j < n; ++j) {
    double col = 0;
    for (int64_t p = 0; p < k; ++p)
      col += std::abs(w.get_f64(trans_b ? j * k + p : p * n + j)) * ws[ws.size() == 1 ? 0 : j];
    bound = std::max(bound, col * last->attr_float("a_scale", 0));
  }

  data::MnistDataset test_set(dir + "t10k-images-idx3-ubyte.gz", dir + "t10k-labels-idx1-ubyte.gz");
  Tensor images = batch(test_set, 0, 200);
  auto [want, got] = run_both(qdq, lowered, {{"image", images}});
  EXPECT_LT(max_abs_diff(want[0], got[0]), bound);
  int same = 0;
  for (int64_t i = 0; i < 200; ++i) {
    const float *a = want[0].data<float>() + i * 10, *l = got[0].data<float>() + i * 10;
    same += std::max_element(a, a + 10) - a == std::max_element(l, l + 10) - l;
  }
  EXPECT_GE(same, 198) << "top-1 agreement of lowered vs QDQ graph on 200 test images";
}

// The residual form quantize_graph writes (QConv output quantized, then an
// int8 Add of two DQs) folds into the QConv's sum post-op when value_info
// proves equal shapes; without shapes it becomes a 256x256 table (rule lut) of
// the two int8 operands. Case 0: c2's
// narrow int8 range clips (the fold must clip too); case 2: a LeakyRelu conv
// with a c2 range that holds its outputs.
TEST(LowerQdq, ResidualAddFoldsIntoQConv) {
  for (int variant = 0; variant < 3; ++variant) {
    bool shapes = variant != 1, leaky = variant == 2;
    Builder b;
    const int64_t C = 8, H = 10;
    std::vector<int64_t> pad1{1, 1, 1, 1};
    std::string x = b.qdq("x", 0.04f, 128);
    b.node("Conv", {x, b.weight("w1", C, 3, 3)}, "c1", {{"pads", pad1}});
    b.node("Relu", {"c1"}, "r1");
    std::string r1 = b.qdq("r1", 0.03f, 0);
    b.node("Conv", {r1, b.weight("w2", C, C, 3)}, "c2", {{"pads", pad1}});
    std::string c2_out = "c2";
    if (leaky) {
      b.node("LeakyRelu", {"c2"}, "l2", {{"alpha", 0.1f}});
      c2_out = "l2";
    }
    float c2_scale = leaky ? 0.1f : 0.02f;
    std::string c2 = b.qdq(c2_out, c2_scale, 128);
    b.node("Add", {c2, r1}, "a");
    b.qdq("a", 0.05f, 100);
    b.input("x");
    b.output("a_dq");
    if (shapes) {
      b.shape("r1_dq", {2, C, H, H});
      b.shape(c2, {2, C, H, H});
    }
    Graph lowered = b.g;
    auto report = quant::lower_qdq(lowered);
    EXPECT_EQ(report.count("conv"), 2) << report.summary();
    EXPECT_EQ(report.count("residual_add"), shapes ? 1 : 0) << report.summary();
    EXPECT_EQ(report.count("lut"), shapes ? 0 : 1) << report.summary();
    EXPECT_EQ(count_ops(lowered, {"Add"}), 0);
    auto [want, got] = run_both(b.g, lowered, {{"x", b.random_input({2, 3, H, H}, 0.f, 2.f)}});
    // Folded, the conv output skips its own rounding (half a step of c2).
    EXPECT_LE(max_abs_diff(want[0], got[0]), (0.05 + c2_scale / 2) * 1.01) << "case " << variant;
  }
}

// Nearest Resize lowers to qtune:QResize on the int8 values; picking source
// elements must agree exactly with the fp32 Resize between the DQ and Q.
TEST(LowerQdq, NearestResizeMovesInt8ValuesExactly) {
  struct Case {
    std::string coord, nearest;
    std::vector<float> scales;
    std::vector<int64_t> sizes;
  };
  std::vector<Case> cases{
      {"half_pixel", "round_prefer_floor", {1, 1, 2, 2}, {}},
      {"asymmetric", "floor", {}, {1, 2, 9, 11}},
      {"align_corners", "round_prefer_ceil", {1, 1, 1.5f, 1.5f}, {}},
      {"pytorch_half_pixel", "ceil", {1, 1, 0.6f, 1.7f}, {}},
      {"tf_half_pixel_for_nn", "round_prefer_floor", {1, 1, 3, 0.5f}, {}},
  };
  for (const Case &c : cases) {
    Builder b;
    std::string x = b.qdq("x", 0.05f, 120);
    b.g.initializers["roi"] = Tensor(DType::f32, {0});
    b.g.initializers["scales"] = Tensor::from_vector<float>({int64_t(c.scales.size())}, c.scales);
    std::vector<std::string> in{x, "roi", "scales"};
    if (!c.sizes.empty()) {
      b.g.initializers["sizes"] = Tensor::from_vector<int64_t>({4}, c.sizes);
      in.push_back("sizes");
    }
    b.node("Resize", in, "r",
           {{"mode", std::string("nearest")},
            {"coordinate_transformation_mode", c.coord},
            {"nearest_mode", c.nearest}});
    b.qdq("r", 0.05f, 120);
    b.input("x");
    b.output("r_dq");
    Graph lowered = b.g;
    auto report = quant::lower_qdq(lowered);
    EXPECT_EQ(report.count("passthrough"), 1) << c.coord;
    EXPECT_EQ(count_ops(lowered, {"Resize"}), 0) << c.coord;
    auto [want, got] = run_both(b.g, lowered, {{"x", b.random_input({1, 2, 5, 7}, 0.f, 3.f)}});
    ASSERT_EQ(want[0].shape(), got[0].shape()) << c.coord;
    EXPECT_EQ(max_abs_diff(want[0], got[0]), 0.0) << c.coord;
  }
}

TEST(LowerQdq, LinearResizeStaysFp32) {
  Builder b;
  std::string x = b.qdq("x", 0.05f, 120);
  b.g.initializers["scales"] = Tensor::from_vector<float>({4}, {1, 1, 2, 2});
  b.node("Resize", {x, "", "scales"}, "r", {{"mode", std::string("linear")}});
  b.qdq("r", 0.05f, 120);
  b.input("x");
  b.output("r_dq");
  Graph lowered = b.g;
  EXPECT_EQ(quant::lower_qdq(lowered).count("passthrough"), 0);
}

// A QDQ model quantized before BN folding (UltraFace's ONNX file keeps its
// BatchNormalization nodes): the BN after an int8 conv folds into the QConv's
// per-channel scales and bias, negative gammas included.
TEST(LowerQdq, BatchNormAfterConvFoldsIntoQConv) {
  Builder b;
  const int64_t C = 6;
  std::string x = b.qdq("x", 0.04f, 128);
  b.g.initializers["b1"] = Tensor::from_vector<float>({C}, {0.1f, -0.2f, 0.3f, 0, 0.05f, -0.4f});
  b.node("Conv", {x, b.weight("w1", C, 3, 3), "b1"}, "c1",
         {{"pads", std::vector<int64_t>{1, 1, 1, 1}}});
  b.g.initializers["gamma"] = Tensor::from_vector<float>({C}, {1.5f, -0.7f, 0.2f, 2.f, -1.f, 0.9f});
  b.g.initializers["beta"] = Tensor::from_vector<float>({C}, {0.3f, 0.f, -0.5f, 0.1f, 0.2f, 1.f});
  b.g.initializers["mean"] = Tensor::from_vector<float>({C}, {0.1f, -0.3f, 0.f, 0.4f, 0.f, -1.f});
  b.g.initializers["var"] = Tensor::from_vector<float>({C}, {0.5f, 1.f, 0.1f, 2.f, 0.3f, 1.2f});
  b.node("BatchNormalization", {"c1", "gamma", "beta", "mean", "var"}, "bn", {{"epsilon", 1e-3f}});
  b.node("Relu", {"bn"}, "r");
  b.qdq("r", 0.03f, 0);
  b.input("x");
  b.output("r_dq");
  Graph lowered = b.g;
  auto report = quant::lower_qdq(lowered);
  EXPECT_EQ(report.count("conv"), 1) << report.summary();
  EXPECT_EQ(count_ops(lowered, {"BatchNormalization", "Relu", "Conv"}), 0);
  auto [want, got] = run_both(b.g, lowered, {{"x", b.random_input({2, 3, 9, 9}, 0.f, 2.f)}});
  EXPECT_LE(max_abs_diff(want[0], got[0]), 0.03 * 1.01);
  EXPECT_GT(max_abs_diff(want[0], Tensor(DType::f32, want[0].shape())), 0.5); // not all zero
}

// Exporters' dynamic reshapes read the fp32 value with a Shape node as well as
// quantizing it; the Shape moves to the int8 tensor so the op still lowers.
TEST(LowerQdq, PassThroughKeepsShapeReaders) {
  Builder b;
  std::string x = b.qdq("x", 0.05f, 120);
  b.node("Transpose", {x}, "t", {{"perm", std::vector<int64_t>{0, 2, 1}}});
  b.node("Shape", {"t"}, "t_shape");
  std::string t = b.qdq("t", 0.05f, 120);
  b.node("Reshape", {t, "t_shape"}, "r");
  b.input("x");
  b.output("r");
  b.g.outputs.push_back({"t_shape", DType::i64, {}, false});
  Graph lowered = b.g;
  auto report = quant::lower_qdq(lowered);
  EXPECT_EQ(report.count("passthrough"), 1) << report.summary();
  EXPECT_EQ(count_ops(lowered, {"DequantizeLinear"}), 1);
  auto [want, got] = run_both(b.g, lowered, {{"x", b.random_input({2, 3, 4}, 0.f, 3.f)}});
  EXPECT_EQ(max_abs_diff(want[0], got[0]), 0.0);
  EXPECT_EQ(got[1].to_i64_vector(), (std::vector<int64_t>{2, 4, 3}));
}

// Two int8 convs concatenated and read by a third: the Concat runs on the int8
// values between the convs; values must match the QDQ graph.
TEST(LowerQdq, ConcatBetweenInt8ConvsMatchesUnloweredGraph) {
  Builder b;
  const int64_t C = 16, H = 7;
  std::vector<int64_t> pad1{1, 1, 1, 1};
  std::string x = b.qdq("x", 0.04f, 128);
  b.node("Conv", {x, b.weight("w1", C, 4, 3)}, "c1", {{"pads", pad1}});
  b.node("Relu", {"c1"}, "r1");
  std::string r1 = b.qdq("r1", 0.03f, 0);
  b.node("Conv", {x, b.weight("w2", 8, 4, 1)}, "c2");
  b.node("Relu", {"c2"}, "r2");
  std::string r2 = b.qdq("r2", 0.03f, 0);
  b.node("Concat", {r1, r2}, "cat", {{"axis", int64_t{1}}});
  std::string cat = b.qdq("cat", 0.03f, 0);
  b.node("Conv", {cat, b.weight("w3", 8, C + 8, 1)}, "y");
  b.input("x");
  b.output("cat_dq");
  b.output("y");
  Graph lowered = b.g;
  auto report = quant::lower_qdq(lowered);
  EXPECT_EQ(report.count("conv"), 3) << report.summary();
  EXPECT_EQ(report.count("passthrough"), 1) << report.summary();
  EXPECT_EQ(count_ops(lowered, {"DequantizeLinear"}), 1); // cat_dq, the graph output
  auto [want, got] = run_both(b.g, lowered, {{"x", b.random_input({2, 4, H, H}, 0.f, 2.f)}});
  EXPECT_LE(max_abs_diff(want[0], got[0]), 0.03 * 1.01);
  // y: one step of each concat input through |w3| <= 64 * 0.006.
  EXPECT_LT(max_abs_diff(want[1], got[1]), 0.03 * (C + 8) * 64 * 0.006);
}

// Data-movement ops between a DQ and fp32 readers (YOLOX's final Transpose)
// move the int8 values and the DQ follows them, down a chain (Concat then
// Transpose): the same values, a quarter of the bytes. A Concat of
// differently quantized inputs stays as it is.
TEST(LowerQdq, DequantizeSinksBelowDataMovement) {
  Builder b;
  std::string x = b.qdq("x", 0.05f, 120), y = b.qdq("y", 0.05f, 120), z = b.qdq("z", 0.07f, 3);
  b.node("Concat", {x, y}, "c", {{"axis", int64_t{2}}});
  b.node("Transpose", {"c"}, "t", {{"perm", std::vector<int64_t>{0, 2, 1}}});
  b.node("Concat", {x, z}, "mixed", {{"axis", int64_t{2}}});
  b.input("x");
  b.input("y");
  b.input("z");
  b.output("t");
  b.output("c");
  b.output("mixed");
  Graph lowered = b.g;
  auto report = quant::lower_qdq(lowered);
  EXPECT_EQ(report.count("sink_dequantize"), 2) << report.summary();
  auto producers = lowered.producers();
  for (const Node &n : lowered.nodes) {
    if (n.op_type == "Transpose") {
      EXPECT_EQ(lowered.nodes[producers.at(n.inputs[0])].op_type, "Concat");
    }
  }
  auto [want, got] = run_both(b.g, lowered,
                              {{"x", b.random_input({1, 3, 4}, 0.f, 3.f)},
                               {"y", b.random_input({1, 3, 2}, 0.f, 3.f)},
                               {"z", b.random_input({1, 3, 5}, 0.f, 3.f)}});
  for (size_t k = 0; k < want.size(); ++k)
    EXPECT_EQ(max_abs_diff(want[k], got[k]), 0.0) << "output " << k;
}

// Q/DQ of constants that no rule consumed (UltraFace's priors, the weight DQ of
// an op left fp32) become initializers: no per-run work, identical values.
TEST(LowerQdq, ConstantQdqFoldsIntoInitializers) {
  Builder b;
  Tensor wq(DType::i8, {4});
  for (int i = 0; i < 4; ++i)
    wq.data<int8_t>()[i] = static_cast<int8_t>(30 * i - 50);
  b.g.initializers["wq"] = wq;
  b.node("DequantizeLinear", {"wq", b.scalar_f("wq_s", 0.01f)}, "w");
  b.node("Add", {"x", "w"}, "y1");
  b.g.initializers["prior"] = Tensor::from_vector<float>({4}, {0.1f, 0.52f, -0.3f, 2.f});
  b.qdq("prior", 0.02f, 128);
  b.node("Mul", {"x", "prior_dq"}, "y2");
  b.input("x");
  b.output("y1");
  b.output("y2");
  Graph lowered = b.g;
  auto report = quant::lower_qdq(lowered);
  EXPECT_EQ(report.folded_constants, 3) << report.summary();
  EXPECT_EQ(count_ops(lowered, {"QuantizeLinear", "DequantizeLinear"}), 0);
  EXPECT_EQ(lowered.nodes.size(), 2u);
  auto [want, got] = run_both(b.g, lowered, {{"x", b.random_input({2, 4}, 0.f, 1.f)}});
  EXPECT_EQ(max_abs_diff(want[0], got[0]), 0.0);
  EXPECT_EQ(max_abs_diff(want[1], got[1]), 0.0);
}

} // namespace
} // namespace qtune

namespace qtune {
namespace {

// A QOperator model's QLinearConv (u8 activations with zero points, s8
// per-channel weights, int32 bias) lowered to QConv gives the ONNX reference
// kernel's result: rounding of the rescale may differ by one step at ties.
TEST(LowerQdq, QLinearConvRunsAsQConv) {
  std::mt19937 rng(7);
  const int64_t C = 8, O = 16, H = 10;
  Graph g;
  auto scalar_u8 = [](uint8_t v) {
    Tensor t(DType::u8, {});
    t.data<uint8_t>()[0] = v;
    return t;
  };
  Tensor w(DType::i8, {O, C, 3, 3});
  std::uniform_int_distribution<int> wd(-127, 127);
  for (int8_t &v : w.span<int8_t>())
    v = static_cast<int8_t>(wd(rng));
  std::vector<float> ws(O);
  for (int64_t o = 0; o < O; ++o)
    ws[o] = 0.002f + 0.0005f * o;
  Tensor b(DType::i32, {O});
  for (int64_t o = 0; o < O; ++o)
    b.data<int32_t>()[o] = static_cast<int32_t>((o - 8) * 700);
  g.initializers["xs"] = Tensor::scalar_f32(0.05f);
  g.initializers["xz"] = scalar_u8(120);
  g.initializers["w"] = w;
  g.initializers["ws"] = Tensor::from_vector<float>({O}, ws);
  g.initializers["wz"] = Tensor(DType::i8, {O});
  g.initializers["ys"] = Tensor::scalar_f32(0.4f);
  g.initializers["yz"] = scalar_u8(30);
  g.initializers["b"] = b;
  Node n;
  n.name = "qlc";
  n.op_type = "QLinearConv";
  n.inputs = {"x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"};
  n.outputs = {"y"};
  n.attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  n.attrs["strides"] = std::vector<int64_t>{2, 2};
  n.attrs["kernel_shape"] = std::vector<int64_t>{3, 3};
  g.nodes.push_back(n);
  g.inputs.push_back({"x", DType::u8, {}, false});
  g.outputs.push_back({"y", DType::u8, {}, false});

  Tensor x(DType::u8, {2, C, H, H});
  std::uniform_int_distribution<int> xd(0, 255);
  for (uint8_t &v : x.span<uint8_t>())
    v = static_cast<uint8_t>(xd(rng));

  Tensor want = Executor(std::make_shared<Graph>(g)).run({{"x", x}})[0].clone();
  Graph lowered = g;
  auto report = quant::lower_qdq(lowered);
  ASSERT_EQ(report.count("qlinear_conv"), 1) << report.summary();
  ASSERT_EQ(lowered.nodes.size(), 1u);
  EXPECT_EQ(lowered.nodes[0].op_type, "QConv");
  Tensor got = Executor(std::make_shared<Graph>(lowered)).run({{"x", x}})[0].clone();
  ASSERT_EQ(got.shape(), want.shape());
  int64_t off_by_one = 0, saturated = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    int d = std::abs(int(got.data<uint8_t>()[i]) - int(want.data<uint8_t>()[i]));
    ASSERT_LE(d, 1) << "element " << i;
    off_by_one += d;
    saturated += want.data<uint8_t>()[i] == 0 || want.data<uint8_t>()[i] == 255;
  }
  EXPECT_LE(off_by_one, want.numel() / 100);
  EXPECT_LT(saturated, want.numel() / 4); // the scales keep most outputs in range
}

} // namespace
} // namespace qtune

namespace qtune {
namespace {

// QLinearMatMul (s8 A with a zero point, per-column s8 B, s8 output) lowered to
// QMatMul against the ONNX reference kernel, within one step.
TEST(LowerQdq, QLinearMatMulRunsAsQMatMul) {
  std::mt19937 rng(11);
  const int64_t M = 6, K = 40, N = 24;
  auto scalar_i8 = [](int8_t v) {
    Tensor t(DType::i8, {});
    t.data<int8_t>()[0] = v;
    return t;
  };
  Graph g;
  Tensor w(DType::i8, {K, N});
  std::uniform_int_distribution<int> d(-127, 127);
  for (int8_t &v : w.span<int8_t>())
    v = static_cast<int8_t>(d(rng));
  std::vector<float> ws(N);
  for (int64_t c = 0; c < N; ++c)
    ws[c] = 0.001f * (1 + c % 5);
  g.initializers["as"] = Tensor::scalar_f32(0.1f);
  g.initializers["az"] = scalar_i8(-5);
  g.initializers["w"] = w;
  g.initializers["ws"] = Tensor::from_vector<float>({N}, ws);
  g.initializers["wz"] = Tensor(DType::i8, {N});
  g.initializers["ys"] = Tensor::scalar_f32(0.15f);
  g.initializers["yz"] = scalar_i8(3);
  Node n;
  n.name = "qlmm";
  n.op_type = "QLinearMatMul";
  n.inputs = {"a", "as", "az", "w", "ws", "wz", "ys", "yz"};
  n.outputs = {"y"};
  g.nodes.push_back(n);
  g.inputs.push_back({"a", DType::i8, {}, false});
  g.outputs.push_back({"y", DType::i8, {}, false});
  Tensor a(DType::i8, {M, K});
  for (int8_t &v : a.span<int8_t>())
    v = static_cast<int8_t>(d(rng));

  Tensor want = Executor(std::make_shared<Graph>(g)).run({{"a", a}})[0].clone();
  Graph lowered = g;
  auto report = quant::lower_qdq(lowered);
  ASSERT_EQ(report.count("qlinear_matmul"), 1) << report.summary();
  ASSERT_EQ(lowered.nodes.size(), 1u);
  EXPECT_EQ(lowered.nodes[0].op_type, "QMatMul");
  Tensor got = Executor(std::make_shared<Graph>(lowered)).run({{"a", a}})[0].clone();
  ASSERT_EQ(got.shape(), want.shape());
  int64_t off = 0, saturated = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    int diff = std::abs(int(got.data<int8_t>()[i]) - int(want.data<int8_t>()[i]));
    ASSERT_LE(diff, 1) << "element " << i;
    off += diff;
    saturated += want.data<int8_t>()[i] == -128 || want.data<int8_t>()[i] == 127;
  }
  EXPECT_LE(off, want.numel() / 20);
  EXPECT_LT(saturated, want.numel() / 4);
}

} // namespace
} // namespace qtune
