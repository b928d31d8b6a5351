// Lowering rules as a table of cases (llama.cpp's test-backend-ops is the
// model): each case builds a small QDQ graph and its inputs, names the rules
// that must fire and how often, and the largest difference allowed on each
// output between the lowered graph and the unlowered QDQ graph, both run by
// the executor on the same input (the unlowered one on QuantizeLinear /
// DequantizeLinear and fp32 kernels). A case may add structural checks (which
// ops are left) or checks on the two outputs. Whole models: test_lowering_models.cpp.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <gtest/gtest.h>
#include <map>
#include <random>
#include <set>

#include "frontends/onnx/onnx_import.h"
#include "qdq_builder.h"
#include "quant/inference_graph.h"
#include "quant/lower_qdq.h"

namespace qtune {
namespace {

using Inputs = std::unordered_map<std::string, Tensor>;
using Outputs = std::vector<Tensor>;

// Ops of these types outside the qtune domain (fp32 compute left between Q/DQ).
int count_ops(const Graph &g, const std::set<std::string> &ops) {
  int n = 0;
  for (const Node &node : g.nodes)
    n += ops.count(node.op_type) && node.domain != "qtune";
  return n;
}

struct RuleCase {
  const char *name;
  std::function<Inputs(Builder &)> build; // the QDQ graph in b.g; returns its inputs
  std::map<std::string, int> fires;       // rule -> nodes it rewrites ("folded": constant Q/DQ)
  std::vector<double> tolerance;          // max |lowered - unlowered| per output (one: all)
  // Extra checks on the lowered graph and the two runs' outputs (may be empty).
  std::function<void(const Graph &qdq, const Graph &lowered, const Outputs &want,
                     const Outputs &got)>
      check;
};

// ---- graph builders, one per case family ----
// conv + relu -> int8 maxpool -> conv (int32 bias as ONNX Runtime writes it) +
// residual add + relu -> conv with f32 output.
Inputs conv_chain(Builder &b) {
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
  b.input("x");
  b.output("r2_dq");
  b.output("y");
  return {{"x", b.random_input({2, C, H, H}, 0.f, 1.5f)}};
}

// A computed (graph input) weight: no int8 conv.
Inputs conv_computed_weight(Builder &b) {
  std::string x = b.qdq("x", 0.04f, 128);
  std::string w = b.qdq("w", 0.01f, 128);
  b.node("Conv", {x, w}, "y");
  b.input("x");
  b.input("w");
  b.output("y");
  return {{"x", b.random_input({1, 2, 5, 5}, 0.f, 1.f)},
          {"w", b.random_input({3, 2, 3, 3}, 0.f, 1.f)}};
}

// x -> Flatten -> Gemm(transB, f32 bias) -> Relu -> MatMul -> Gemm(int32 bias,
// f32 output): three QMatMul, the Flatten on int8 values.
Inputs matmul_gemm_chain(Builder &b) {
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
  return {{"x", b.random_input({3, 2, 4, 4}, 0.5f, 2.f)}};
}

// Batched MatMul [2, 3, 20] x [20, 6] with an s8 output.
Inputs batched_matmul_s8(Builder &b) {
  std::string x = b.qdq("x", 0.02f, 100);
  b.node("MatMul", {x, b.weight2d("w", 20, 6, 1)}, "m");
  b.node("QuantizeLinear", {"m", b.scalar_f("m_s", 0.04f), b.scalar_q("m_z", DType::i8, -5)},
         "m_q");
  b.node("DequantizeLinear", {"m_q", "m_s", "m_z"}, "m_dq");
  b.input("x");
  b.output("m_dq");
  return {{"x", b.random_input({2, 3, 20}, 2.f, 1.f)}};
}

// Concat -> Transpose -> Slice -> Reshape -> Unsqueeze -> Squeeze -> Identity,
// every tensor with the same scale.
Inputs data_movement_chain(Builder &b) {
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
  return {{"a", b.random_input({1, 4, 3, 5}, 0.f, 3.f)},
          {"b", b.random_input({1, 2, 3, 5}, 0.f, 3.f)}};
}

// A Concat of inputs with different scales cannot move int8 values.
Inputs concat_scales_differ(Builder &b) {
  std::string x1 = b.qdq("a", 0.05f, 120), x2 = b.qdq("b", 0.07f, 120);
  b.node("Concat", {x1, x2}, "c", {{"axis", int64_t{1}}});
  b.qdq("c", 0.05f, 120);
  b.input("a");
  b.input("b");
  b.output("c_dq");
  return {{"a", b.random_input({1, 2, 3, 3}, 0.f, 3.f)},
          {"b", b.random_input({1, 2, 3, 3}, 0.f, 3.f)}};
}

// AveragePool 3x3 stride 2 pads 1, then GlobalAveragePool, each with its own scale.
Inputs average_pools(Builder &b) {
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
  return {{"x", b.random_input({2, 6, 9, 9}, 0.3f, 1.5f)}};
}

// The residual form quantize_graph writes (QConv output quantized, then an
// int8 Add of two DQs). `shapes`: value_info proves the operands equal, so the
// Add folds into the QConv's sum post-op. Without LeakyRelu c2's narrow int8
// range clips (the fold must clip too); with it the c2 range holds its outputs.
// `deep`: a third conv c3 between c2 and the Add, so the Add's other operand
// r1 is no longer read by the folding conv itself: the QConv may then write
// its output over r1's buffer (the executor's in-place sum, exercised by
// run_both's second run; the sharing itself is checked by
// Executor.ResidualSumTakesOverItsAddendOnlyWhenReadLast).
constexpr int64_t kResC = 8, kResH = 10;
Inputs residual(Builder &b, bool shapes, bool leaky, bool deep = false) {
  std::vector<int64_t> pad1{1, 1, 1, 1};
  std::string x = b.qdq("x", 0.04f, 128);
  b.node("Conv", {x, b.weight("w1", kResC, 3, 3)}, "c1", {{"pads", pad1}});
  b.node("Relu", {"c1"}, "r1");
  std::string r1 = b.qdq("r1", 0.03f, 0);
  b.node("Conv", {r1, b.weight("w2", kResC, kResC, 3)}, "c2", {{"pads", pad1}});
  std::string c2_out = "c2";
  if (leaky) {
    b.node("LeakyRelu", {"c2"}, "l2", {{"alpha", 0.1f}});
    c2_out = "l2";
  }
  std::string c2 = b.qdq(c2_out, leaky ? 0.1f : 0.02f, 128);
  if (deep) {
    b.node("Conv", {c2, b.weight("w3", kResC, kResC, 3)}, "c3", {{"pads", pad1}});
    c2 = b.qdq("c3", 0.02f, 128);
  }
  b.node("Add", {c2, r1}, "a");
  b.qdq("a", 0.05f, 100);
  b.input("x");
  b.output("a_dq");
  if (shapes) {
    b.shape("r1_dq", {2, kResC, kResH, kResH});
    b.shape(c2, {2, kResC, kResH, kResH});
  }
  return {{"x", b.random_input({2, 3, kResH, kResH}, 0.f, 2.f)}};
}

// Resize between a DQ and a Q with the same parameters.
Inputs resize(Builder &b, const std::string &mode, const std::string &coord,
              const std::string &nearest, std::vector<float> scales, std::vector<int64_t> sizes) {
  std::string x = b.qdq("x", 0.05f, 120);
  b.g.initializers["roi"] = Tensor(DType::f32, {0});
  b.g.initializers["scales"] = Tensor::from_vector<float>({int64_t(scales.size())}, scales);
  std::vector<std::string> in{x, "roi", "scales"};
  if (!sizes.empty()) {
    b.g.initializers["sizes"] = Tensor::from_vector<int64_t>({4}, sizes);
    in.push_back("sizes");
  }
  std::map<std::string, Attribute> attrs{{"mode", mode}};
  if (!coord.empty())
    attrs["coordinate_transformation_mode"] = coord;
  if (!nearest.empty())
    attrs["nearest_mode"] = nearest;
  b.node("Resize", in, "r", attrs);
  b.qdq("r", 0.05f, 120);
  b.input("x");
  b.output("r_dq");
  return {{"x", b.random_input({1, 2, 5, 7}, 0.f, 3.f)}};
}

// DQ(x [N, 3, H, W]) -> Conv 3x3 (6 outputs, padded, f32 bias) -> "c1".
constexpr int64_t kConv6 = 6;
void conv6(Builder &b) {
  std::string x = b.qdq("x", 0.04f, 128);
  b.g.initializers["b1"] =
      Tensor::from_vector<float>({kConv6}, {0.1f, -0.2f, 0.3f, 0, 0.05f, -0.4f});
  b.node("Conv", {x, b.weight("w1", kConv6, 3, 3), "b1"}, "c1",
         {{"pads", std::vector<int64_t>{1, 1, 1, 1}}});
}

// A QDQ model quantized before BN folding (UltraFace's ONNX file keeps its
// BatchNormalization nodes): the BN after an int8 conv folds into the QConv's
// per-channel scales and bias, negative gammas included.
Inputs conv_batchnorm(Builder &b) {
  const int64_t C = kConv6;
  conv6(b);
  b.g.initializers["gamma"] = Tensor::from_vector<float>({C}, {1.5f, -0.7f, 0.2f, 2.f, -1.f, 0.9f});
  b.g.initializers["beta"] = Tensor::from_vector<float>({C}, {0.3f, 0.f, -0.5f, 0.1f, 0.2f, 1.f});
  b.g.initializers["mean"] = Tensor::from_vector<float>({C}, {0.1f, -0.3f, 0.f, 0.4f, 0.f, -1.f});
  b.g.initializers["var"] = Tensor::from_vector<float>({C}, {0.5f, 1.f, 0.1f, 2.f, 0.3f, 1.2f});
  b.node("BatchNormalization", {"c1", "gamma", "beta", "mean", "var"}, "bn", {{"epsilon", 1e-3f}});
  b.node("Relu", {"bn"}, "r");
  b.qdq("r", 0.03f, 0);
  b.input("x");
  b.output("r_dq");
  return {{"x", b.random_input({2, 3, 9, 9}, 0.f, 2.f)}};
}

// Recipe activation_table's form: conv -> Q/DQ (the pre-activation) -> SiLU
// -> Q/DQ. The lut rule makes the SiLU a table, conv_table folds it into the
// QConv: 3x3 or pointwise (8 channels, no zero point: oneDNN's brgconv).
Inputs conv_silu_table(Builder &b, bool pointwise) {
  const int64_t C = pointwise ? 8 : kConv6;
  if (pointwise) {
    std::string x = b.qdq("x", 0.04f, 0);
    b.node("Conv", {x, b.weight("w1", C, C, 1)}, "c1");
  } else {
    conv6(b);
  }
  std::string pre = b.qdq("c1", 0.05f, 100);
  b.node("Sigmoid", {pre}, "s1");
  b.node("Mul", {pre, "s1"}, "silu");
  b.input("x");
  b.output(b.qdq("silu", 0.02f, 20));
  return {{"x", b.random_input({2, pointwise ? C : 3, 9, 9}, pointwise ? 2.f : 0.f,
                               pointwise ? 1.5f : 2.f)}};
}

// Recipe activation_equalization's form: conv -> SiLU -> Mul(per-channel
// factors) -> Q; the Mul becomes QConv's channel_scale (a binary post-op).
Inputs conv_silu_channel_scale(Builder &b) {
  const int64_t C = kConv6;
  conv6(b);
  b.node("Sigmoid", {"c1"}, "s1");
  b.node("Mul", {"c1", "s1"}, "silu");
  b.g.initializers["f"] =
      Tensor::from_vector<float>({1, C, 1, 1}, {1.f, 4.f, 16.f, 2.5f, 1.f, 30.f});
  b.node("Mul", {"silu", "f"}, "scaled");
  b.qdq("scaled", 0.03f, 10);
  b.input("x");
  b.output("scaled_dq");
  return {{"x", b.random_input({2, 3, 9, 9}, 0.f, 2.f)}};
}

// Exporters' dynamic reshapes read the fp32 value with a Shape node as well as
// quantizing it; the Shape moves to the int8 tensor so the op still lowers.
Inputs passthrough_shape_reader(Builder &b) {
  std::string x = b.qdq("x", 0.05f, 120);
  b.node("Transpose", {x}, "t", {{"perm", std::vector<int64_t>{0, 2, 1}}});
  b.node("Shape", {"t"}, "t_shape");
  std::string t = b.qdq("t", 0.05f, 120);
  b.node("Reshape", {t, "t_shape"}, "r");
  b.input("x");
  b.output("r");
  b.g.outputs.push_back({"t_shape", DType::i64, {}, false});
  return {{"x", b.random_input({2, 3, 4}, 0.f, 3.f)}};
}

// Two int8 convs concatenated and read by a third: the Concat runs on the int8
// values between the convs.
constexpr int64_t kCatC = 16;
Inputs concat_between_convs(Builder &b) {
  const int64_t H = 7;
  std::vector<int64_t> pad1{1, 1, 1, 1};
  std::string x = b.qdq("x", 0.04f, 128);
  b.node("Conv", {x, b.weight("w1", kCatC, 4, 3)}, "c1", {{"pads", pad1}});
  b.node("Relu", {"c1"}, "r1");
  std::string r1 = b.qdq("r1", 0.03f, 0);
  b.node("Conv", {x, b.weight("w2", 8, 4, 1)}, "c2");
  b.node("Relu", {"c2"}, "r2");
  std::string r2 = b.qdq("r2", 0.03f, 0);
  b.node("Concat", {r1, r2}, "cat", {{"axis", int64_t{1}}});
  std::string cat = b.qdq("cat", 0.03f, 0);
  b.node("Conv", {cat, b.weight("w3", 8, kCatC + 8, 1)}, "y");
  b.input("x");
  b.output("cat_dq");
  b.output("y");
  return {{"x", b.random_input({2, 4, H, H}, 0.f, 2.f)}};
}

// Data-movement ops between a DQ and fp32 readers (YOLOX's final Transpose)
// move the int8 values and the DQ follows them, down a chain (Concat then
// Transpose). A Concat of differently quantized inputs stays as it is.
Inputs sink_dequantize(Builder &b) {
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
  return {{"x", b.random_input({1, 3, 4}, 0.f, 3.f)},
          {"y", b.random_input({1, 3, 2}, 0.f, 3.f)},
          {"z", b.random_input({1, 3, 5}, 0.f, 3.f)}};
}

// Q/DQ of constants that no rule consumed (UltraFace's priors, the weight DQ of
// an op left fp32) become initializers: no per-run work, identical values.
Inputs constant_qdq(Builder &b) {
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
  return {{"x", b.random_input({2, 4}, 0.f, 1.f)}};
}

// x -> Q -> DQ -> Split(axis 1, sizes [1, 3]) -> Q/DQ on each output.
// `second_scale` 0 gives the second output x's parameters.
Inputs split(Builder &b, float second_scale) {
  std::string x = b.qdq("x", 0.02f, 128);
  b.g.initializers["sizes"] = Tensor::from_vector<int64_t>({2}, {1, 3});
  Node split;
  split.name = "shuffle_split";
  split.op_type = "Split";
  split.inputs = {x, "sizes"};
  split.outputs = {"a", "b"};
  split.attrs["axis"] = int64_t{1};
  b.g.nodes.push_back(split);
  b.output(b.qdq("a", 0.02f, 128));
  std::string bq = second_scale == 0 ? b.qdq("b", 0.02f, 128) : b.qdq("b", second_scale, 128);
  b.output(bq);
  b.input("x");
  return {{"x", b.random_input({1, 4, 6, 6}, 0.f, 1.f)}};
}

// A QOperator model's QLinearConv (u8 activations with zero points, s8
// per-channel weights, int32 bias, stride 2), as the ONNX reference kernel runs it.
Inputs qlinear_conv(Builder &b) {
  std::mt19937 rng(7);
  const int64_t C = 8, O = 16, H = 10;
  Graph &g = b.g;
  Tensor w(DType::i8, {O, C, 3, 3});
  std::uniform_int_distribution<int> wd(-127, 127);
  for (int8_t &v : w.span<int8_t>())
    v = static_cast<int8_t>(wd(rng));
  std::vector<float> ws(O);
  for (int64_t o = 0; o < O; ++o)
    ws[o] = 0.002f + 0.0005f * o;
  Tensor bias(DType::i32, {O});
  for (int64_t o = 0; o < O; ++o)
    bias.data<int32_t>()[o] = static_cast<int32_t>((o - 8) * 700);
  g.initializers["xs"] = Tensor::scalar_f32(0.05f);
  b.scalar_q("xz", DType::u8, 120);
  g.initializers["w"] = w;
  g.initializers["ws"] = Tensor::from_vector<float>({O}, ws);
  g.initializers["wz"] = Tensor(DType::i8, {O});
  g.initializers["ys"] = Tensor::scalar_f32(0.4f);
  b.scalar_q("yz", DType::u8, 30);
  g.initializers["b"] = bias;
  b.node("QLinearConv", {"x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"}, "y",
         {{"pads", std::vector<int64_t>{1, 1, 1, 1}},
          {"strides", std::vector<int64_t>{2, 2}},
          {"kernel_shape", std::vector<int64_t>{3, 3}}});
  g.inputs.push_back({"x", DType::u8, {}, false});
  g.outputs.push_back({"y", DType::u8, {}, false});
  Tensor x(DType::u8, {2, C, H, H});
  std::uniform_int_distribution<int> xd(0, 255);
  for (uint8_t &v : x.span<uint8_t>())
    v = static_cast<uint8_t>(xd(rng));
  return {{"x", x}};
}

// QLinearMatMul: s8 A with a zero point, per-column s8 B, s8 output.
Inputs qlinear_matmul(Builder &b) {
  std::mt19937 rng(11);
  const int64_t M = 6, K = 40, N = 24;
  Graph &g = b.g;
  Tensor w(DType::i8, {K, N});
  std::uniform_int_distribution<int> d(-127, 127);
  for (int8_t &v : w.span<int8_t>())
    v = static_cast<int8_t>(d(rng));
  std::vector<float> ws(N);
  for (int64_t c = 0; c < N; ++c)
    ws[c] = 0.001f * (1 + c % 5);
  g.initializers["as"] = Tensor::scalar_f32(0.1f);
  b.scalar_q("az", DType::i8, -5);
  g.initializers["w"] = w;
  g.initializers["ws"] = Tensor::from_vector<float>({N}, ws);
  g.initializers["wz"] = Tensor(DType::i8, {N});
  g.initializers["ys"] = Tensor::scalar_f32(0.15f);
  b.scalar_q("yz", DType::i8, 3);
  b.node("QLinearMatMul", {"a", "as", "az", "w", "ws", "wz", "ys", "yz"}, "y");
  g.inputs.push_back({"a", DType::i8, {}, false});
  g.outputs.push_back({"y", DType::i8, {}, false});
  Tensor a(DType::i8, {M, K});
  for (int8_t &v : a.span<int8_t>())
    v = static_cast<int8_t>(d(rng));
  return {{"a", a}};
}

// ---- checks shared by several cases ----

// Only qtune kernels and Q/DQ are left.
void only_int8_kernels(const Graph &, const Graph &lowered, const Outputs &, const Outputs &) {
  for (const Node &n : lowered.nodes)
    EXPECT_TRUE(n.domain == "qtune" || n.op_type == "QuantizeLinear" ||
                n.op_type == "DequantizeLinear")
        << n.op_type << " left in the lowered graph";
}

// The rule did not fire: the graph is as it was.
void unchanged(const Graph &qdq, const Graph &lowered, const Outputs &, const Outputs &) {
  EXPECT_EQ(lowered.nodes.size(), qdq.nodes.size());
}

// A QLinear op became one qtune kernel `op` whose integer outputs differ from
// the reference kernel's by one step (rescale rounding at ties) in at most
// 1 / `off_share` of the elements, and the scales keep most outputs unsaturated.
auto one_qtune_kernel(const char *op, int64_t off_share) {
  return [op, off_share](const Graph &, const Graph &lowered, const Outputs &want,
                         const Outputs &got) {
    ASSERT_EQ(lowered.nodes.size(), 1u);
    EXPECT_EQ(lowered.nodes[0].op_type, op);
    const Tensor &w = want[0], &y = got[0];
    int64_t off = 0, saturated = 0;
    for (int64_t i = 0; i < w.numel(); ++i) {
      off += std::abs(w.get_f64(i) - y.get_f64(i)) > 0;
      double v = w.get_f64(i);
      saturated += w.dtype() == DType::u8 ? (v == 0 || v == 255) : (v == -128 || v == 127);
    }
    EXPECT_LE(off, w.numel() / off_share);
    EXPECT_LT(saturated, w.numel() / 4);
  };
}

// x -> Q/DQ (u8, zero point 128) -> Sigmoid -> Q/DQ, optionally the Mul of SiLU.
std::string qdq_sigmoid(Builder &b, bool silu) {
  std::string x = b.qdq("x", 0.03f, 128);
  b.node("Sigmoid", {x}, "sig");
  std::string s = b.qdq("sig", 1.f / 255, 0);
  if (!silu)
    return s;
  b.node("Mul", {x, s}, "silu");
  return b.qdq("silu", 0.02f, 20);
}

// Two int8 sources from x (different scales); `op` of their DQ values -> Q/DQ.
void binary_graph(Builder &b, const char *op, bool broadcast) {
  std::string a = b.qdq("x", 0.03f, 128);
  b.node(broadcast ? "GlobalAveragePool" : "Relu", {"x"}, "y");
  std::string c = b.qdq("y", 0.01f, 0);
  b.node(op, {a, c}, "z");
  b.output(b.qdq("z", 0.04f, 100));
}

// A case on one input "x" [1, 4, 6, 6] (the split and table rows).
std::function<Inputs(Builder &)> on_x(std::function<void(Builder &)> build) {
  return [build](Builder &b) {
    b.input("x");
    build(b);
    return Inputs{{"x", b.random_input({1, 4, 6, 6}, 0.f, 1.f)}};
  };
}

// ---- the table ----

auto ops_left(std::set<std::string> ops, int n) {
  return [ops, n](const Graph &, const Graph &lowered, const Outputs &, const Outputs &) {
    EXPECT_EQ(count_ops(lowered, ops), n) << "ops of " << testing::PrintToString(ops);
  };
}

// Several checks in one.
template <typename... F> auto all(F... f) {
  return [=](const Graph &q, const Graph &l, const Outputs &w, const Outputs &g) {
    (f(q, l, w, g), ...);
  };
}

// Output k is not all zero (the case exercises real values): max |want[k]| > v.
auto not_all_zero(size_t k, double v) {
  return [k, v](const Graph &, const Graph &, const Outputs &want, const Outputs &) {
    EXPECT_GT(max_abs_diff(want[k], Tensor(DType::f32, want[k].shape())), v);
  };
}

auto output_shape(size_t k, Shape s) {
  return [k, s](const Graph &, const Graph &, const Outputs &, const Outputs &got) {
    EXPECT_EQ(got[k].shape(), s);
  };
}

Inputs nearest_resize(Builder &b, const char *coord, const char *mode, std::vector<float> scales,
                      std::vector<int64_t> sizes = {}) {
  return resize(b, "nearest", coord, mode, std::move(scales), std::move(sizes));
}

const RuleCase kCases[] = {
    // conv: int8 outputs within one step (0.05) of the QDQ graph; the f32 output
    // of the last conv within one input step times the |w| sums (127 * 0.006 * C).
    {"conv_chain",
     conv_chain,
     {{"conv", 3}, {"maxpool", 1}},
     {0.05 * 1.01, 0.05 * 127 * 0.006 * 8},
     only_int8_kernels},
    {"conv_computed_weight_stays_fp32", conv_computed_weight, {{"conv", 0}}, {0.0}, unchanged},
    {"batchnorm_after_conv_folds",
     conv_batchnorm,
     {{"conv", 1}},
     {0.03 * 1.01},
     all(ops_left({"BatchNormalization", "Relu", "Conv"}, 0), not_all_zero(0, 0.5))},
    // residual_add: folded, the conv output skips its own rounding (half a step of c2).
    {"residual_add_folds",
     [](Builder &b) { return residual(b, true, false); },
     {{"conv", 2}, {"residual_add", 1}},
     {(0.05 + 0.02 / 2) * 1.01},
     ops_left({"Add"}, 0)},
    // Without shapes the Add becomes a 256x256 table of the two int8 operands (rule lut).
    {"residual_add_without_shapes_becomes_table",
     [](Builder &b) { return residual(b, false, false); },
     {{"conv", 2}, {"residual_add", 0}, {"lut", 1}},
     {(0.05 + 0.02 / 2) * 1.01},
     ops_left({"Add"}, 0)},
    {"residual_add_over_two_convs",
     [](Builder &b) { return residual(b, true, false, true); },
     {{"conv", 3}, {"residual_add", 1}},
     {(0.05 + 0.02 / 2) * 1.01},
     ops_left({"Add"}, 0)},
    {"residual_add_after_leaky_relu",
     [](Builder &b) { return residual(b, true, true); },
     {{"conv", 2}, {"residual_add", 1}},
     {(0.05 + 0.1 / 2) * 1.01},
     ops_left({"Add"}, 0)},
    {"concat_between_convs",
     concat_between_convs,
     {{"conv", 3}, {"passthrough", 1}},
     // y: one step of each concat input through |w3| <= 64 * 0.006.
     {0.03 * 1.01, 0.03 * (kCatC + 8) * 64 * 0.006},
     ops_left({"DequantizeLinear"}, 1)},
    // matmul: r1 within one step; y within one step (0.05) of each m2 input
    // through |w3| <= 64 * 0.03, 16 inputs.
    {"matmul_gemm_chain",
     matmul_gemm_chain,
     {{"matmul", 3}, {"passthrough", 1}},
     {0.03 * 1.01, 0.05 * 16 * 64 * 0.03},
     all(ops_left({"Gemm", "MatMul", "Relu", "Flatten"}, 1), ops_left({"QuantizeLinear"}, 1),
         not_all_zero(1, 0.1))},
    {"batched_matmul_s8_output",
     batched_matmul_s8,
     {{"matmul", 1}},
     {0.04 * 1.01},
     all(ops_left({"MatMul"}, 0), output_shape(0, {2, 3, 6}))},
    {"qlinear_conv", qlinear_conv, {{"qlinear_conv", 1}}, {1.0}, one_qtune_kernel("QConv", 100)},
    {"qlinear_matmul",
     qlinear_matmul,
     {{"qlinear_matmul", 1}},
     {1.0},
     one_qtune_kernel("QMatMul", 20)},
    {"average_pools",
     average_pools,
     {{"avgpool", 2}},
     {0.02 * 1.01, 0.005 * 1.01},
     ops_left({"AveragePool", "GlobalAveragePool"}, 0)},
    // passthrough: moving int8 values is exact.
    {"data_movement_chain",
     data_movement_chain,
     {{"passthrough", 7}},
     {0.0},
     all(ops_left({"QuantizeLinear"}, 2), ops_left({"DequantizeLinear"}, 1),
         output_shape(0, {2, 30}))},
    // Inputs with their own scales: requant_concat maps b to the output's
    // parameters with a table, then the Concat moves int8 values (lowering/lut.cpp).
    {"concat_scales_differ_requantises",
     concat_scales_differ,
     {{"passthrough", 0}, {"requant_concat", 1}},
     {0.0},
     [](const Graph &, const Graph &lowered, const Outputs &, const Outputs &) {
       EXPECT_EQ(std::count_if(lowered.nodes.begin(), lowered.nodes.end(),
                               [](const Node &n) { return n.op_type == "QLut"; }),
                 1); // only b needs a new scale
     }},
    {"passthrough_keeps_shape_readers",
     passthrough_shape_reader,
     {{"passthrough", 1}},
     {0.0},
     all(ops_left({"DequantizeLinear"}, 1),
         [](const Graph &, const Graph &, const Outputs &, const Outputs &got) {
           EXPECT_EQ(got[1].to_i64_vector(), (std::vector<int64_t>{2, 4, 3}));
         })},
    // Nearest Resize -> qtune:QResize: picking source elements agrees exactly.
    {"resize_nearest_half_pixel",
     [](Builder &b) {
       return nearest_resize(b, "half_pixel", "round_prefer_floor", {1, 1, 2, 2});
     },
     {{"passthrough", 1}},
     {0.0},
     ops_left({"Resize"}, 0)},
    {"resize_nearest_asymmetric_sizes",
     [](Builder &b) {
       return nearest_resize(b, "asymmetric", "floor", {}, {1, 2, 9, 11});
     },
     {{"passthrough", 1}},
     {0.0},
     ops_left({"Resize"}, 0)},
    {"resize_nearest_align_corners",
     [](Builder &b) {
       return nearest_resize(b, "align_corners", "round_prefer_ceil", {1, 1, 1.5f, 1.5f});
     },
     {{"passthrough", 1}},
     {0.0},
     ops_left({"Resize"}, 0)},
    {"resize_nearest_pytorch_half_pixel",
     [](Builder &b) {
       return nearest_resize(b, "pytorch_half_pixel", "ceil", {1, 1, 0.6f, 1.7f});
     },
     {{"passthrough", 1}},
     {0.0},
     ops_left({"Resize"}, 0)},
    {"resize_nearest_tf_half_pixel_for_nn",
     [](Builder &b) {
       return nearest_resize(b, "tf_half_pixel_for_nn", "round_prefer_floor", {1, 1, 3, 0.5f});
     },
     {{"passthrough", 1}},
     {0.0},
     ops_left({"Resize"}, 0)},
    {"resize_linear_stays_fp32",
     [](Builder &b) {
       return resize(b, "linear", "", "", {1, 1, 2, 2}, {});
     },
     {{"passthrough", 0}},
     {0.0},
     unchanged},
    {"sink_dequantize",
     sink_dequantize,
     {{"sink_dequantize", 2}},
     {0.0},
     [](const Graph &, const Graph &lowered, const Outputs &, const Outputs &) {
       auto producers = lowered.producers();
       for (const Node &n : lowered.nodes)
         if (n.op_type == "Transpose")
           EXPECT_EQ(lowered.nodes[producers.at(n.inputs[0])].op_type, "Concat");
     }},
    {"constant_qdq_folds",
     constant_qdq,
     {{"folded", 3}},
     {0.0},
     all(ops_left({"QuantizeLinear", "DequantizeLinear"}, 0),
         [](const Graph &, const Graph &lowered, const Outputs &, const Outputs &) {
           EXPECT_EQ(lowered.nodes.size(), 2u);
         })},
    // split: data movement on int8 values, bit-exact; an output with its own
    // scale gets int8 Split, then DQ -> Q of that part (same values).
    {"split_shared_scale", [](Builder &b) { return split(b, 0); }, {{"split", 1}}, {0.0}, nullptr},
    {"split_output_scale_differs",
     [](Builder &b) { return split(b, 0.05f); },
     {{"split", 1}},
     {0.0},
     nullptr},
    // Tables are the region evaluated on every input byte: bit-exact.
    {"lut_qdq_sigmoid",
     on_x([](Builder &b) { b.output(qdq_sigmoid(b, false)); }),
     {{"lut", 1}},
     {0.0},
     nullptr},
    // ORT's SiLU: the Sigmoid's own Q/DQ inside; its table is folded into the Mul's.
    {"lut_silu_ort",
     on_x([](Builder &b) { b.output(qdq_sigmoid(b, true)); }),
     {{"lut", 2}},
     {0.0},
     nullptr},
    {"lut_silu_fp32_sigmoid",
     on_x([](Builder &b) {
       std::string x = b.qdq("x", 0.03f, 128);
       b.node("Sigmoid", {x}, "sig");
       b.node("Mul", {x, "sig"}, "silu");
       b.output(b.qdq("silu", 0.02f, 20));
     }),
     {{"lut", 1}},
     {0.0},
     nullptr},
    // conv_table: the pre-activation may differ by one step (0.05) from the
    // QDQ graph's fp32 conv, moved by SiLU's slope (<= 1.1), plus one output step.
    {"conv_table_3x3",
     [](Builder &b) { return conv_silu_table(b, false); },
     {{"conv", 1}, {"lut", 1}, {"conv_table", 1}},
     {(0.05 * 1.1 + 0.02) * 1.01},
     all(ops_left({"Sigmoid", "Mul", "Conv"}, 0), not_all_zero(0, 0.5),
         [](const Graph &, const Graph &lowered, const Outputs &, const Outputs &) {
           for (const Node &n : lowered.nodes)
             EXPECT_NE(n.op_type, "QLut") << "the table is the QConv's input 4";
         })},
    {"conv_table_pointwise",
     [](Builder &b) { return conv_silu_table(b, true); },
     {{"conv", 1}, {"lut", 1}, {"conv_table", 1}},
     {(0.05 * 1.1 + 0.02) * 1.01},
     all(ops_left({"Sigmoid", "Mul", "Conv"}, 0), not_all_zero(0, 0.5))},
    // Another reader of the conv's int8 output: the table stays a QLut.
    {"conv_table_not_with_second_reader",
     [](Builder &b) {
       Inputs in = conv_silu_table(b, false);
       b.node("DequantizeLinear", {"c1_q", "c1_s", "c1_z"}, "c1_dq2");
       b.output("c1_dq2");
       return in;
     },
     {{"conv", 1}, {"lut", 1}, {"conv_table", 0}},
     {(0.05 * 1.1 + 0.02) * 1.01, 0.05 * 1.01},
     [](const Graph &, const Graph &lowered, const Outputs &, const Outputs &) {
       int luts = 0;
       for (const Node &n : lowered.nodes)
         luts += n.op_type == "QLut";
       EXPECT_EQ(luts, 1);
     }},
    // A Sigmoid read by fp32 ops (a detection head's Concat): an f32 table.
    {"lut_f32_sigmoid_to_fp32",
     on_x(
         [](Builder &b) {
           b.node("Sigmoid", {b.qdq("x", 0.03f, 128)}, "sig");
           b.node("Concat", {"sig", "x"}, "cat", {{"axis", int64_t{1}}});
           b.output("cat");
         }),
     {{"lut_f32", 1}},
     {0.0},
     nullptr},
    {"lut_hardswish",
     on_x(
         [](Builder &b) {
           b.node("HardSwish", {b.qdq("x", 0.03f, 128)}, "hs");
           b.output(b.qdq("hs", 0.02f, 30));
         }),
     {{"lut", 1}},
     {0.0},
     nullptr},
    {"lut_add_two_sources",
     on_x([](Builder &b) { binary_graph(b, "Add", false); }),
     {{"lut", 1}},
     {0.0},
     nullptr},
    {"lut_mul_broadcast",
     on_x([](Builder &b) { binary_graph(b, "Mul", true); }),
     {{"lut", 1}},
     {0.0},
     nullptr},
    // Broadcast over channels with rows of 40 contiguous elements on both
    // sides: the table's 16-wide gathers and their tail.
    {"lut_add_broadcast_rows",
     [](Builder &b) {
       b.input("x");
       std::string a = b.qdq("x", 0.03f, 128);
       b.node("ReduceMax", {"x"}, "y", {{"axes", std::vector<int64_t>{1}}, {"keepdims", int64_t{1}}});
       std::string c = b.qdq("y", 0.01f, 0);
       b.node("Add", {a, c}, "z");
       b.output(b.qdq("z", 0.04f, 100));
       return Inputs{{"x", b.random_input({1, 3, 4, 40}, 0.f, 1.f)}};
     },
     {{"lut", 1}},
     {0.0},
     not_all_zero(0, 0.5)},
    // Concat inputs with their own scales: requantised by tables, then int8 Concat.
    {"requant_concat",
     on_x(
         [](Builder &b) {
           std::string a = b.qdq("x", 0.03f, 128);
           b.node("Relu", {"x"}, "y");
           std::string c = b.qdq("y", 0.01f, 0);
           b.node("Concat", {a, c}, "cat", {{"axis", int64_t{1}}});
           b.output(b.qdq("cat", 0.04f, 100));
         }),
     {{"requant_concat", 1}},
     {0.0},
     nullptr},
};

class LoweringRules : public testing::TestWithParam<RuleCase> {};

TEST_P(LoweringRules, MatchesUnloweredGraph) {
  const RuleCase &c = GetParam();
  Builder b;
  Inputs in = c.build(b);
  Graph lowered = b.g;
  quant::LowerReport report = quant::lower_qdq(lowered);
  for (const auto &[rule, n] : c.fires)
    EXPECT_EQ(rule == "folded" ? report.folded_constants : report.count(rule), n)
        << rule << ": " << report.summary();
  auto [want, got] = run_both(b.g, lowered, in);
  ASSERT_EQ(want.size(), got.size());
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_LE(max_abs_diff(want[i], got[i]), c.tolerance[std::min(i, c.tolerance.size() - 1)])
        << "output " << i;
  if (c.check)
    c.check(b.g, lowered, want, got);
}

INSTANTIATE_TEST_SUITE_P(Cases, LoweringRules, testing::ValuesIn(kCases),
                         [](const testing::TestParamInfo<RuleCase> &i) { return i.param.name; });

// Through the whole inference preparation (the fusion pass makes Conv + SiLU
// one FusedConv first): one QConv carrying the factors, within one output step
// of the QDQ graph.
TEST(LoweringRulesConv, SiluChannelScaleBecomesPostOp) {
  Builder b;
  Inputs in = conv_silu_channel_scale(b);
  Graph lowered = b.g;
  quant::LowerReport report = quant::prepare_for_inference(lowered);
  EXPECT_EQ(report.count("conv"), 1) << report.summary();
  EXPECT_EQ(count_ops(lowered, {"Mul", "Sigmoid", "Conv"}), 0);
  int with_factors = 0;
  for (const Node &n : lowered.nodes)
    with_factors += n.op_type == "QConv" && n.attr_floats("channel_scale").size() == 6;
  EXPECT_EQ(with_factors, 1);
  auto [want, got] = run_both(b.g, lowered, in);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_LE(max_abs_diff(want[0], got[0]), 0.03 * 1.01);
  EXPECT_GT(max_abs_diff(want[0], Tensor(DType::f32, want[0].shape())), 0.5);
}

// A residual Add after such a conv is not folded into it as a sum (the factors
// multiply after the activation, the sum would come before them).
TEST(LoweringRulesConv, ChannelScaleConvKeepsItsResidualAddSeparate) {
  Builder b;
  Inputs in = conv_silu_channel_scale(b);
  b.g.outputs.clear();
  b.input("s");
  in["s"] = b.random_input({2, kConv6, 9, 9}, 0.f, 2.f);
  b.node("Add", {"scaled_dq", b.qdq("s", 0.02f, 0)}, "sum");
  b.shape("scaled_dq", {2, kConv6, 9, 9}); // equal known shapes: the rule's precondition
  b.shape("s_dq", {2, kConv6, 9, 9});
  b.qdq("sum", 0.06f, 10);
  b.output("sum_dq");
  Graph lowered = b.g;
  quant::LowerReport report = quant::prepare_for_inference(lowered);
  EXPECT_EQ(report.count("conv"), 1) << report.summary();
  for (const Node &n : lowered.nodes)
    EXPECT_FALSE(n.op_type == "QConv" && n.attr_int("sum", 0) != 0) << report.summary();
  auto [want, got] = run_both(b.g, lowered, in);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_LE(max_abs_diff(want[0], got[0]), 0.06 * 1.01 + 2 * 0.03);
}

// The SiLU table against the formula (std::exp, ONNX Q/DQ rounding half to
// even): x = (v - 128) * 0.03, s = Q(sigmoid(x), 1/255, 0), y = Q(x * DQ(s), 0.02, 20).
TEST(LoweringRulesLut, SiluTableMatchesFormula) {
  Builder b;
  b.input("x");
  b.output(qdq_sigmoid(b, true));
  Graph lowered = b.g;
  quant::lower_qdq(lowered);
  const Node *lut = nullptr;
  for (const Node &n : lowered.nodes)
    lut = n.op_type == "QLut" ? &n : lut;
  ASSERT_NE(lut, nullptr);
  const Tensor *table = lowered.initializer(lut->inputs.at(1));
  ASSERT_TRUE(table && table->numel() == 256 && table->dtype() == DType::u8);
  auto q = [](float v, float scale, int zp) {
    return std::clamp(static_cast<int>(std::nearbyint(v / scale)) + zp, 0, 255);
  };
  int off_by_one = 0;
  for (int v = 0; v < 256; ++v) {
    float x = (v - 128) * 0.03f;
    float s = q(1.f / (1.f + std::exp(-x)), 1.f / 255, 0) * (1.f / 255);
    int want = q(x * s, 0.02f, 20), got = table->data<uint8_t>()[v];
    EXPECT_LE(std::abs(want - got), 1) << "byte " << v;
    off_by_one += want != got; // an exp one ulp apart can cross a rounding tie
  }
  EXPECT_LE(off_by_one, 2);
}

// QOperator ops (com.microsoft, as ONNX Runtime's quantizer writes them)
// against the QDQ graph of their definition, run unlowered: input x ->
// Q(0.03, 128) = "a", Relu(x) -> Q(0.01, 0) = "b"; the op's output -> DQ.
struct QOperatorCase {
  const char *name;
  const char *qop;                     // com.microsoft op, inputs in its order
  std::vector<std::string> qop_inputs; // a / b and their parameters, then the output's
  const char *fp32_op;                 // what the QDQ reference runs
  std::vector<std::string> operands;   // "a", "b"
  std::map<std::string, Attribute> attrs;
  double tolerance;
};

void qoperator_sources(Builder &b) {
  b.node("QuantizeLinear", {"x", b.scalar_f("a_s", 0.03f), b.scalar_q("a_z", DType::u8, 128)}, "a");
  b.node("Relu", {"x"}, "r");
  b.node("QuantizeLinear", {"r", b.scalar_f("b_s", 0.01f), b.scalar_q("b_z", DType::u8, 0)}, "b");
  b.scalar_f("y_s", 0.04f);
  b.scalar_q("y_z", DType::u8, 100);
}

const QOperatorCase kQOperatorCases[] = {
    {"add",
     "QLinearAdd",
     {"a", "a_s", "a_z", "b", "b_s", "b_z", "y_s", "y_z"},
     "Add",
     {"a", "b"},
     {},
     0.0},
    {"mul",
     "QLinearMul",
     {"a", "a_s", "a_z", "b", "b_s", "b_z", "y_s", "y_z"},
     "Mul",
     {"a", "b"},
     {},
     0.0},
    {"sigmoid", "QLinearSigmoid", {"a", "a_s", "a_z", "y_s", "y_z"}, "Sigmoid", {"a"}, {}, 0.0},
    {"leaky_relu",
     "QLinearLeakyRelu",
     {"a", "a_s", "a_z", "y_s", "y_z"},
     "LeakyRelu",
     {"a"},
     {{"alpha", 0.1f}},
     0.0},
    {"concat",
     "QLinearConcat",
     {"y_s", "y_z", "a", "a_s", "a_z", "b", "b_s", "b_z"},
     "Concat",
     {"a", "b"},
     {{"axis", int64_t{1}}},
     0.0},
    // int8 average: one output step for a rounding tie
    {"global_average_pool",
     "QLinearGlobalAveragePool",
     {"a", "a_s", "a_z", "y_s", "y_z"},
     "GlobalAveragePool",
     {"a"},
     {},
     0.0401},
    {"average_pool",
     "QLinearAveragePool",
     {"a", "a_s", "a_z", "y_s", "y_z"},
     "AveragePool",
     {"a"},
     {{"kernel_shape", std::vector<int64_t>{2, 2}}, {"strides", std::vector<int64_t>{2, 2}}},
     0.0401},
};

class QOperatorLowering : public testing::TestWithParam<QOperatorCase> {};

TEST_P(QOperatorLowering, MatchesQdqDefinition) {
  const QOperatorCase &c = GetParam();
  Builder qop, ref;
  for (Builder *b : {&qop, &ref}) {
    b->input("x");
    qoperator_sources(*b);
  }
  qop.node(c.qop, c.qop_inputs, "y", c.attrs);
  qop.g.nodes.back().domain = "com.microsoft";
  std::vector<std::string> fp32_in;
  for (const std::string &o : c.operands) {
    ref.node("DequantizeLinear", {o, o + "_s", o + "_z"}, o + "_f");
    fp32_in.push_back(o + "_f");
  }
  ref.node(c.fp32_op, fp32_in, "yf", c.attrs);
  ref.node("QuantizeLinear", {"yf", "y_s", "y_z"}, "y");
  for (Builder *b : {&qop, &ref}) {
    b->node("DequantizeLinear", {"y", "y_s", "y_z"}, "out");
    b->output("out");
  }
  // Through an ONNX file, as a QOperator model arrives (com.microsoft domain kept).
  std::string file = testing::TempDir() + "qtune_qoperator_" + c.name + ".onnx";
  save_onnx(qop.g, file);
  Graph lowered = load_onnx(file);
  std::remove(file.c_str());
  quant::LowerReport report = quant::prepare_for_inference(lowered);
  EXPECT_EQ(report.count("qoperator"), 1) << report.summary();
  auto producers = lowered.producers();
  for (const Node &n : lowered.nodes) { // the op may stay (int8 Concat), not on fp32 values
    auto p = n.op_type == c.fp32_op ? producers.find(n.inputs[0]) : producers.end();
    EXPECT_FALSE(p != producers.end() && lowered.nodes[p->second].op_type == "DequantizeLinear")
        << "left fp32: " << report.summary();
  }
  std::unordered_map<std::string, Tensor> in{{"x", ref.random_input({1, 4, 6, 6}, 0.f, 1.f)}};
  auto [want, got] = run_both(ref.g, lowered, in);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_LE(max_abs_diff(want[0], got[0]), c.tolerance);
}

INSTANTIATE_TEST_SUITE_P(Cases, QOperatorLowering, testing::ValuesIn(kQOperatorCases),
                         [](const testing::TestParamInfo<QOperatorCase> &i) {
                           return std::string(i.param.name);
                         });

} // namespace
} // namespace qtune
