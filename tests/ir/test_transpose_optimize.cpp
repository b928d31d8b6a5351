// The layout pass on NHWC graphs shaped like the TensorFlow importer's output
// (Transpose(0,3,1,2) -> Conv -> Transpose(0,2,3,1) around every conv, NHWC
// elementwise ops between): the executor's outputs before and after must agree
// to 1e-5 and the Transposes must drop to exactly the ones the graph needs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>

#include "../test_util.h"
#include "data/image_decode.h"
#include "data/transforms.h"
#include "frontends/model_loader.h"
#include "ir/passes/pass.h"
#include "runtime/executor.h"
#include "runtime/fold_constants.h"
#include "tune/model_backend.h"

using namespace qtune;

namespace {

using Ints = std::vector<int64_t>;
const Ints kToNchw = {0, 3, 1, 2}, kToNhwc = {0, 2, 3, 1};

ValueInfo info(const std::string &name, Shape s) {
  ValueInfo v{name, DType::f32, {}, true};
  for (int64_t d : s)
    v.dims.push_back(Dim{d, ""});
  return v;
}

// Builds NHWC graphs the way the TF importer emits them.
struct Builder {
  Graph g;
  uint32_t seed = 1;

  Builder(Shape nhwc) {
    g.opset = 13;
    g.inputs.push_back(info("x", nhwc));
  }
  std::string add(const std::string &op, std::vector<std::string> in,
                  std::map<std::string, Attribute> attrs = {}, int outputs = 1) {
    Node n;
    n.name = op + std::to_string(g.nodes.size());
    n.op_type = op;
    n.inputs = std::move(in);
    for (int k = 0; k < outputs; ++k)
      n.outputs.push_back(n.name + (k ? ":" + std::to_string(k) : ""));
    n.attrs = std::move(attrs);
    g.nodes.push_back(n);
    return n.outputs[0];
  }
  std::string tf(const std::string &op, std::vector<std::string> in,
                 std::map<std::string, Attribute> attrs = {}) {
    std::string y = add(op, std::move(in), std::move(attrs));
    g.nodes.back().domain = "tf";
    return y;
  }
  std::string i32(Shape shape, std::vector<int32_t> v) {
    return constant(Tensor::from_vector<int32_t>(std::move(shape), v));
  }
  std::string constant(Tensor t) {
    std::string name = "c" + std::to_string(g.initializers.size());
    g.initializers[name] = std::move(t);
    return name;
  }
  std::string ints(Ints v) {
    return constant(Tensor::from_vector<int64_t>({int64_t(v.size())}, v));
  }
  std::string channel_const(int64_t c, float lo = 0.5f) {
    Tensor t = test::random_tensor({c}, seed++);
    for (float &v : t.span<float>())
      v = lo + std::abs(v);
    return constant(std::move(t));
  }
  // NHWC in -> Transpose -> Conv 3x3 (pads `pad`) -> Transpose -> NHWC out.
  std::string conv(const std::string &in, int64_t cin, int64_t cout, int64_t pad = 1) {
    std::string t = add("Transpose", {in}, {{"perm", kToNchw}});
    std::string w = constant(test::random_tensor({cout, cin, 3, 3}, seed++));
    std::string b = constant(test::random_tensor({cout}, seed++));
    std::string c =
        add("Conv", {t, w, b}, {{"kernel_shape", Ints{3, 3}}, {"pads", Ints{pad, pad, pad, pad}}});
    return add("Transpose", {c}, {{"perm", kToNhwc}});
  }
  Graph done(std::vector<std::string> outs) {
    for (auto &o : outs)
      g.outputs.push_back(ValueInfo{o, DType::f32, {}, false});
    return g;
  }
};

int count_op(const Graph &g, const std::string &op) {
  int c = 0;
  for (const auto &n : g.nodes)
    c += n.op_type == op;
  return c;
}

std::vector<Tensor> run(const Graph &g, const Tensor &x) {
  Executor ex(std::make_shared<const Graph>(g), ExecutorOptions{1, false});
  return ex.run({{g.inputs.at(0).name, x}});
}

void expect_equal(const std::vector<Tensor> &a, const std::vector<Tensor> &b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) {
    ASSERT_EQ(a[k].shape(), b[k].shape()) << "output " << k;
    auto x = a[k].to_f32_vector(), y = b[k].to_f32_vector();
    for (size_t i = 0; i < x.size(); ++i)
      ASSERT_NEAR(x[i], y[i], 1e-5f * (1 + std::abs(x[i]))) << "output " << k << " at " << i;
  }
}

std::string ops_of(const Graph &g) {
  std::string s;
  for (const auto &n : g.nodes)
    s += n.op_type + " ";
  return s;
}

struct Case {
  const char *name;
  std::function<Graph()> build;
  int transposes_after;                 // after optimize_transposes alone
  std::vector<std::string> gone_in_all; // op types the full pipeline removes
};

const Case kCases[] = {
    {"conv_bias_relu_conv",
     [] {
       Builder b({1, 8, 8, 3});
       auto c = b.conv("x", 3, 4);
       c = b.add("Add", {c, b.channel_const(4)});
       c = b.add("Relu", {c});
       c = b.conv(c, 4, 5);
       c = b.add("Add", {b.channel_const(5), c}); // constant first
       return b.done({c});
     },
     2,
     {"Add", "Relu"}},
    {"decomposed_batchnorm_relu6",
     [] {
       Builder b({1, 8, 8, 3});
       auto c = b.conv("x", 3, 4);
       c = b.add("Mul", {c, b.channel_const(4)});
       c = b.add("Add", {c, b.channel_const(4, -1.0f)});
       c = b.add("Clip", {c, b.constant(Tensor::scalar_f32(0)), b.constant(Tensor::scalar_f32(6))});
       c = b.conv(c, 4, 4);
       c = b.add("Sub", {c, b.channel_const(4)});
       c = b.add("Div", {c, b.channel_const(4)});
       return b.done({c});
     },
     2,
     {"Mul", "Add", "Sub", "Div", "Clip"}},
    {"residual_add",
     [] {
       Builder b({1, 8, 8, 4});
       auto a = b.add("Relu", {b.conv("x", 4, 4)});
       auto r = b.conv(a, 4, 4);
       auto s = b.add("Add", {a, r});
       s = b.add("Relu", {s});
       return b.done({b.conv(s, 4, 2)});
     },
     2,
     {}},
    {"concat_axis3",
     [] {
       Builder b({1, 8, 8, 3});
       auto l = b.conv("x", 3, 2), r = b.add("Sigmoid", {b.conv("x", 3, 3)});
       auto c = b.add("Concat", {l, r}, {{"axis", int64_t{3}}});
       return b.done({b.conv(c, 5, 2)});
     },
     2,
     {}},
    {"pad_nhwc_then_valid_conv",
     [] {
       Builder b({1, 8, 8, 3});
       auto c = b.conv("x", 3, 4);
       c = b.add("Pad", {c, b.ints({0, 1, 2, 0, 0, 2, 1, 0})});
       return b.done({b.conv(c, 4, 3, 0)});
     },
     2,
     {}},
    {"mean_over_hw_head",
     [] {
       Builder b({2, 6, 6, 3});
       auto c = b.add("Relu", {b.conv("x", 3, 4)});
       return b.done({b.add("ReduceMean", {c}, {{"axes", Ints{1, 2}}, {"keepdims", int64_t{0}}})});
     },
     1,
     {}},
    {"mean_keepdims_then_squeeze",
     [] {
       Builder b({2, 6, 6, 3});
       auto c = b.conv("x", 3, 4);
       c = b.add("ReduceMax", {c}, {{"axes", Ints{1, 2}}, {"keepdims", int64_t{1}}});
       return b.done({b.add("Squeeze", {c, b.ints({1, 2})})});
     },
     1,
     {}},
    {"channel_slice_and_split",
     [] {
       Builder b({1, 8, 8, 3});
       auto c = b.conv("x", 3, 6);
       auto s = b.add("Slice", {c, b.ints({1}), b.ints({5}), b.ints({-1})});
       auto parts = b.add("Split", {s, b.ints({1, 3})}, {{"axis", int64_t{3}}}, 2);
       auto l = b.conv(parts, 1, 2), r = b.conv(parts + ":1", 3, 2);
       return b.done({b.add("Mul", {l, r})});
     },
     2,
     {}},
    {"softmax_last_axis_output_stays_nhwc",
     [] {
       Builder b({1, 5, 5, 3});
       auto c = b.conv("x", 3, 4);
       return b.done({b.add("Softmax", {c}, {{"axis", int64_t{-1}}})});
     },
     2,
     {}},
    {"nhwc_output_also_feeds_next_conv",
     [] {
       Builder b({1, 6, 6, 3});
       auto c = b.conv("x", 3, 4);
       auto d = b.conv(b.add("Relu", {c}), 4, 2);
       return b.done({c, d});
     },
     3,
     {}},
    {"unknown_op_stops_the_push",
     [] {
       Builder b({1, 6, 6, 3});
       auto c = b.add("Tanh", {b.conv("x", 3, 4)});
       return b.done({b.add("Flatten", {c}, {{"axis", int64_t{2}}})});
     },
     2,
     {}},
    {"unsqueeze_and_argmax",
     [] {
       Builder b({1, 6, 6, 3});
       auto c = b.conv("x", 3, 4);
       auto u = b.add("Unsqueeze", {c, b.ints({2})});
       auto a = b.add("ArgMax", {c}, {{"axis", int64_t{3}}, {"keepdims", int64_t{0}}});
       return b.done({u, a});
     },
     2, // input, and Unsqueeze's output (5-D); ArgMax over C reads NCHW directly
     {}},
    {"tf_domain_pad_concat_mean",
     [] {
       Builder b({1, 6, 6, 3});
       auto a = b.conv("x", 3, 4);
       auto p = b.tf("Pad", {a, b.i32({4, 2}, {0, 0, 1, 1, 1, 1, 0, 0})});
       auto c = b.conv(p, 4, 4, 0);
       auto t = b.tf("Transpose", {"x", b.i32({4}, {0, 1, 2, 3})}); // identity perm
       auto cat = b.tf("ConcatV2", {c, a, t, b.i32({}, {-1})});
       auto m = b.tf("Mean", {cat, b.i32({2}, {1, 2})}, {{"keep_dims", int64_t{0}}});
       auto k = b.tf("Max", {cat, b.i32({2}, {2, 1})}, {{"keep_dims", int64_t{1}}});
       return b.done({m, b.tf("Squeeze", {k}, {{"squeeze_dims", Ints{1, -2}}})});
     },
     1,
     {}},
    {"qdq_between_convs",
     [] {
       Builder b({1, 6, 6, 3});
       auto c = b.add("Relu", {b.conv("x", 3, 4)});
       auto scale = b.constant(Tensor::scalar_f32(0.05f));
       auto zp = b.constant(Tensor::from_vector<uint8_t>({}, {0}));
       auto q = b.add("QuantizeLinear", {c, scale, zp});
       auto d = b.add("DequantizeLinear", {q, scale, zp});
       return b.done({b.conv(d, 4, 2)});
     },
     2,
     {}},
};

class TransposeCases : public ::testing::TestWithParam<Case> {};

TEST_P(TransposeCases, OutputsEqualAndTransposesDrop) {
  const Case &c = GetParam();
  Graph g = c.build();
  const ValueInfo &in = g.inputs[0];
  Tensor x = test::random_tensor(in.static_shape(), 99);
  auto want = run(g, x);

  Graph t = g;
  EXPECT_TRUE(optimize_transposes(t));
  EXPECT_EQ(count_op(t, "Transpose"), c.transposes_after) << ops_of(t);
  expect_equal(want, run(t, x));
  EXPECT_FALSE(optimize_transposes(t)) << "not idempotent: " << ops_of(t);

  Graph all = g;
  optimize_graph_with_runtime(all, OptimizeLevel::all);
  EXPECT_EQ(count_op(all, "Transpose"), c.transposes_after) << ops_of(all);
  for (const auto &op : c.gone_in_all)
    EXPECT_EQ(count_op(all, op), 0) << op << " left: " << ops_of(all);
  expect_equal(want, run(all, x));
}

INSTANTIATE_TEST_SUITE_P(Layout, TransposeCases, ::testing::ValuesIn(kCases),
                         [](const auto &info) { return std::string(info.param.name); });

TEST(TransposeOptimize, FlattenIntoDenseFoldsIntoWeightRows) {
  for (bool gemm : {false, true}) {
    Builder b({2, 4, 5, 3});
    auto c = b.conv("x", 3, 6);
    b.g.value_info["Conv1"] = info("Conv1", {2, 6, 4, 5});
    auto f = b.add("Reshape", {c, b.ints({0, -1})});
    std::string y;
    if (gemm) // B as [N, K] with transB
      y = b.add("Gemm", {f, b.constant(test::random_tensor({7, 120}, 5))},
                {{"transB", int64_t{1}}});
    else
      y = b.add("MatMul", {f, b.constant(test::random_tensor({120, 7}, 5))});
    Graph g = b.done({y});
    Tensor x = test::random_tensor({2, 4, 5, 3}, 3);
    auto want = run(g, x);
    EXPECT_TRUE(optimize_transposes(g));
    EXPECT_EQ(count_op(g, "Transpose"), 1) << ops_of(g);
    expect_equal(want, run(g, x));
  }
}

// TF 2 Keras Flatten: the target shape [batch, -1] is computed from the NHWC
// value (Shape -> Slice -> Squeeze -> Unsqueeze -> Concat with [-1]).
TEST(TransposeOptimize, DynamicFlattenShapeFromNhwcValue) {
  Builder b({2, 4, 5, 3});
  auto c = b.conv("x", 3, 6);
  auto shape = b.add("Shape", {c});
  auto n = b.add("Slice", {shape, b.ints({0}), b.ints({1})});
  n = b.add("Squeeze", {n, b.ints({0})});
  n = b.add("Unsqueeze", {n, b.ints({0})});
  auto target = b.add("Concat", {n, b.ints({-1})}, {{"axis", int64_t{0}}});
  auto f = b.add("Reshape", {c, target});
  Graph g = b.done({b.add("MatMul", {f, b.constant(test::random_tensor({120, 7}, 5))})});
  Tensor x = test::random_tensor({2, 4, 5, 3}, 3);
  auto want = run(g, x);
  optimize_graph_with_runtime(g, OptimizeLevel::all);
  EXPECT_EQ(count_op(g, "Transpose"), 1) << ops_of(g);
  EXPECT_EQ(count_op(g, "Shape"), 0) << ops_of(g);
  expect_equal(want, run(g, x));
}

TEST(TransposeOptimize, ShapeOfTransposedValue) {
  Builder b({2, 4, 5, 3});
  auto c = b.conv("x", 3, 6);
  auto r = b.add("Relu", {c});
  Graph g = b.done({b.add("Shape", {r}), b.conv(r, 6, 2)});
  Tensor x = test::random_tensor({2, 4, 5, 3}, 3);
  auto want = run(g, x);
  EXPECT_TRUE(optimize_transposes(g));
  EXPECT_EQ(count_op(g, "Transpose"), 2) << ops_of(g);
  expect_equal(want, run(g, x));
}

// Only per-channel constants fold into the conv: a constant varying along W
// (or a Sub with the constant first) stays an op.
TEST(FoldConvAffine, OnlyPerChannelConstantsFold) {
  Builder b({1, 5, 6, 3});
  auto c = b.conv("x", 3, 4);
  c = b.add("Mul", {c, b.channel_const(4)});
  c = b.add("Add", {c, b.constant(test::random_tensor({1, 6, 1}, 7))}); // along W in NHWC
  auto d = b.conv("x", 3, 4);
  d = b.add("Sub", {b.channel_const(4), d});
  Graph g = b.done({c, d});
  Tensor x = test::random_tensor({1, 5, 6, 3}, 3);
  auto want = run(g, x);
  optimize_graph_with_runtime(g, OptimizeLevel::fold_bn);
  EXPECT_EQ(count_op(g, "Mul"), 0) << ops_of(g);
  EXPECT_EQ(count_op(g, "Add"), 1) << ops_of(g);
  EXPECT_EQ(count_op(g, "Sub"), 1) << ops_of(g);
  expect_equal(want, run(g, x));
}

// Every rank-4 permutation through each rule with axes that are not the NHWC
// ones: x [2,3,4,5] -> Transpose(p) -> op -> output, before == after.
TEST(TransposeOptimize, EveryPermutationThroughEveryRule) {
  using Make = std::function<std::string(Builder &, const std::string &, const Ints &)>;
  const std::pair<const char *, Make> ops[] = {
      {"ReduceSum keepdims 0",
       [](Builder &b, const std::string &t, const Ints &d) {
         return b.add("ReduceSum", {t, b.ints({-1, 1})}, {{"keepdims", int64_t{0}}});
       }},
      {"ReduceMax keepdims 1 + Squeeze",
       [](Builder &b, const std::string &t, const Ints &d) {
         auto r = b.add("ReduceMax", {t}, {{"axes", Ints{0, 2}}, {"keepdims", int64_t{1}}});
         return b.add("Squeeze", {r, b.ints({2})});
       }},
      {"Unsqueeze",
       [](Builder &b, const std::string &t, const Ints &d) {
         return b.add("Unsqueeze", {t, b.ints({0, 3})});
       }},
      {"ArgMin",
       [](Builder &b, const std::string &t, const Ints &d) {
         return b.add("ArgMin", {t}, {{"axis", int64_t{2}}, {"keepdims", int64_t{0}}});
       }},
      {"Softmax",
       [](Builder &b, const std::string &t, const Ints &d) {
         return b.add("Softmax", {t}, {{"axis", int64_t{1}}});
       }},
      {"Slice + Pad",
       [](Builder &b, const std::string &t, const Ints &d) {
         auto s = b.add("Slice", {t, b.ints({1, 0}), b.ints({3, -1}), b.ints({-2, 1})});
         return b.add("Pad", {s, b.ints({0, 1, 0, 2, 1, 0, 3, 0})});
       }},
      {"Mul by [d2,1,d3] constant",
       [](Builder &b, const std::string &t, const Ints &d) {
         return b.add("Mul", {t, b.constant(test::random_tensor({1, 1, 1}, 4))});
       }},
      {"Split + Concat",
       [](Builder &b, const std::string &t, const Ints &d) {
         auto s = b.add("Split", {t, b.ints({1, d[0] - 1})}, {{"axis", int64_t{0}}}, 2);
         return b.add("Concat", {s + ":1", s}, {{"axis", int64_t{-4}}});
       }},
  };
  Ints p = {0, 1, 2, 3};
  do {
    for (const auto &[name, make] : ops) {
      SCOPED_TRACE(std::string(name) + " after perm " + std::to_string(p[0]) +
                   std::to_string(p[1]) + std::to_string(p[2]) + std::to_string(p[3]));
      Builder b({2, 3, 4, 5});
      auto t = b.add("Transpose", {"x"}, {{"perm", p}});
      Ints dims;
      for (int64_t a : p)
        dims.push_back(Ints{2, 3, 4, 5}[a]);
      Graph g = b.done({make(b, t, dims)});
      Tensor x = test::random_tensor({2, 3, 4, 5}, 11);
      auto want = run(g, x);
      bool identity = p == Ints{0, 1, 2, 3};
      EXPECT_EQ(optimize_transposes(g), true) << ops_of(g);
      EXPECT_LE(count_op(g, "Transpose"), identity ? 0 : 1) << ops_of(g);
      expect_equal(want, run(g, x));
    }
  } while (std::next_permutation(p.begin(), p.end()));
}

TEST(TransposeOptimize, PushThatWouldAddTransposesIsUndone) {
  // One NHWC value read by two graph outputs through different unary ops:
  // pushing would need two Transposes instead of one.
  Builder b({1, 4, 4, 3});
  auto t = b.add("Transpose", {"x"}, {{"perm", kToNchw}});
  auto r = b.add("Relu", {t});
  auto s = b.add("Sigmoid", {t});
  Graph g = b.done({r, s});
  EXPECT_FALSE(optimize_transposes(g));
  EXPECT_EQ(count_op(g, "Transpose"), 1);
  EXPECT_EQ(g.nodes.size(), 3u);
}

// Digits as NHWC x/255 in [N,28,28,1].
Tensor digits(int first, int count) {
  std::vector<uint8_t> raw(size_t(count) * 784);
  std::ifstream f(test::shared_data("mnist/images_10000x28x28_u8.bin"), std::ios::binary);
  f.seekg(std::streamoff(first) * 784);
  f.read(reinterpret_cast<char *>(raw.data()), std::streamsize(raw.size()));
  EXPECT_TRUE(f.good());
  Tensor x(DType::f32, {count, 28, 28, 1});
  for (size_t i = 0; i < raw.size(); ++i)
    x.data<float>()[i] = raw[i] / 255.f;
  return x;
}

std::vector<uint8_t> labels(int count) {
  std::vector<uint8_t> l(count);
  std::ifstream f(test::shared_data("mnist/labels_10000_u8.bin"), std::ios::binary);
  f.read(reinterpret_cast<char *>(l.data()), count);
  return l;
}

// keras2onnx MNIST CNNs: NHWC input, a Transpose before the convs and one
// before Flatten -> Dense. After the pipeline only the input's is left, and
// every one of 1000 real digits gets the same class with the same scores.
TEST(TransposeOptimize, WuhanstudioMnistKeepsTop1AndLosesTransposes) {
  for (const char *f : {"wuhanstudio_mnist-sm.onnx", "wuhanstudio_mnist-lg.onnx"}) {
    SCOPED_TRACE(f);
    Graph g = load_model(test::shared_data(std::string("models/mnist/") + f));
    EXPECT_EQ(count_op(g, "Transpose"), 2);
    Graph opt = g;
    optimize_graph_with_runtime(opt, OptimizeLevel::all);
    EXPECT_EQ(count_op(opt, "Transpose"), 1) << ops_of(opt);
    const int n = 1000;
    Tensor x = digits(0, n);
    auto before = run(g, x), after = run(opt, x);
    expect_equal(before, after);
    auto lab = labels(n);
    int agree = 0, correct = 0;
    for (int i = 0; i < n; ++i) {
      const float *a = before[0].data<float>() + i * 10, *b = after[0].data<float>() + i * 10;
      int ka = int(std::max_element(a, a + 10) - a), kb = int(std::max_element(b, b + 10) - b);
      agree += ka == kb;
      correct += kb == lab[i];
    }
    EXPECT_EQ(agree, n);
    EXPECT_GE(correct, 850); // measured 0.868 (sm), 0.914 (lg) on these digits
  }
}

} // namespace

namespace {

bool conv_like(const Node &n) {
  return n.op_type == "Conv" || n.op_type == "FusedConv";
}

// Transposes with a conv upstream and a conv downstream of them: the ones a
// backbone should not have (nodes in topological order).
int transposes_between_convs(const Graph &g) {
  std::unordered_map<std::string, bool> conv_before; // value -> a conv upstream
  std::vector<bool> before(g.nodes.size(), false), after(g.nodes.size(), false);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (const auto &in : g.nodes[i].inputs)
      before[i] = before[i] || conv_before[in];
    for (const auto &o : g.nodes[i].outputs)
      conv_before[o] = before[i] || conv_like(g.nodes[i]);
  }
  auto consumers = g.consumers();
  for (size_t i = g.nodes.size(); i-- > 0;)
    for (const auto &o : g.nodes[i].outputs)
      for (size_t c : consumers[o])
        after[i] = after[i] || conv_like(g.nodes[c]) || after[c];
  int n = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    n += g.nodes[i].op_type == "Transpose" && before[i] && after[i];
  return n;
}

std::string read_file(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

struct TfModel {
  const char *path;
  std::vector<std::string> inputs, outputs; // LoadOptions
  std::function<Tensor()> input;
  int transposes_after; // the input's, plus one per NHWC value a Reshape reads
};

Tensor dog_512() { // CenterNet's input: dog.jpg as f32 0..255 NHWC
  auto f =
      data::frame_from_image(data::load_image_file(test::shared_data("models/yolox_nano/dog.jpg")));
  return data::frame_to_tensor(data::resize_frame(f, 512, 512, data::Interp::bilinear))
      .reshaped({1, 512, 512, 3});
}

Tensor aiy_dog() { // the TensorFlow.js reference input of the AIY SSD
  std::string bytes = read_file(test::shared_data("reference/aiy_ssd_dog.input.u8"));
  Tensor x(DType::u8, {1, 256, 256, 3});
  EXPECT_EQ(bytes.size(), x.nbytes());
  std::memcpy(x.raw(), bytes.data(), std::min(bytes.size(), x.nbytes()));
  return x;
}

// What quantize/tune/evaluate load (tune::load_model_file) is already laid
// out, so calibration and Q/DQ insertion never see the layout Transposes.
TEST(TransposeOptimize, ModelFilesLoadLaidOut) {
  auto g = tune::load_model_file(test::shared_data("models/mnist/wuhanstudio_mnist-lg.onnx"));
  EXPECT_EQ(count_op(*g, "Transpose"), 1) << ops_of(*g);
  auto cifar =
      tune::load_model_file(test::shared_data("tf/small/frozen_cnn_cifar32/frozen_graph.pb"));
  EXPECT_EQ(count_op(*cifar, "Transpose"), 1) << ops_of(*cifar);
}

// Imported TensorFlow CNNs: the importer wraps every conv and pool in a
// Transpose pair; after the pipeline none is left between two convs, the
// count is the minimum the NHWC semantics need, and the outputs equal the
// unoptimized graph's (same detections for the detectors).
TEST(TransposeOptimize, ImportedTfCnnBackboneHasNoTransposeBetweenConvs) {
  const TfModel models[] = {
      {"tf/small/frozen_cnn_cifar32/frozen_graph.pb",
       {},
       {},
       [] {
         Tensor x = test::random_tensor({3, 32, 32, 3}, 11);
         for (float &v : x.span<float>())
           v = (v + 1) / 2;
         return x;
       },
       1},
      {"models/centernet_tfjs/centernet.json", {}, {"tower_0/detections"}, dog_512, 3},
      {"tf/od_api_weights/aiy_ssd_mobilenet_v1_256_person_cat_dog/frozen_inference_graph.pb",
       {"image_tensor"},
       {"num_detections", "detection_boxes", "detection_scores", "detection_classes"},
       aiy_dog,
       13}, // 6 feature maps x (boxes, classes) reshaped from NHWC
  };
  for (const auto &m : models) {
    SCOPED_TRACE(m.path);
    LoadOptions o;
    o.inputs = m.inputs;
    o.outputs = m.outputs;
    Graph g = load_model(test::shared_data(m.path), o);
    EXPECT_GT(transposes_between_convs(g), 0);
    Graph opt = g;
    optimize_graph_with_runtime(opt, OptimizeLevel::all);
    EXPECT_EQ(transposes_between_convs(opt), 0) << ops_of(opt);
    EXPECT_EQ(count_op(opt, "Transpose"), m.transposes_after) << ops_of(opt);
    EXPECT_LT(count_op(opt, "Transpose") * 4, count_op(g, "Transpose"));
    Tensor x = m.input();
    expect_equal(run(g, x), run(opt, x));
  }
}

} // namespace
