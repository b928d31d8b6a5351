// Graph passes on tiny hand-built graphs: each rewrite must leave the outputs
// (computed by the executor before and after) unchanged, and must really fire.
#include <functional>
#include <gtest/gtest.h>
#include <limits>
#include <random>

#include "ir/passes/pass.h"
#include "quant/lower_qdq.h"
#include "runtime/executor.h"
#include "runtime/fold_constants.h"

using namespace qtune;

namespace {

Tensor random_tensor(Shape shape, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  Tensor t(DType::f32, std::move(shape));
  for (float &v : t.span<float>())
    v = dist(rng);
  return t;
}

ValueInfo info(const std::string &name, Shape s) {
  ValueInfo v{name, DType::f32, {}, true};
  for (int64_t d : s)
    v.dims.push_back(Dim{d, ""});
  return v;
}

Node node(const std::string &op, std::vector<std::string> in, std::vector<std::string> out,
          std::map<std::string, Attribute> attrs = {}) {
  Node n;
  n.name = op + "_" + out.at(0);
  n.op_type = op;
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  n.attrs = std::move(attrs);
  return n;
}

std::vector<Tensor> run(const Graph &g, const Tensor &x) {
  Executor ex(std::make_shared<const Graph>(g), ExecutorOptions{1, false});
  return ex.run({{g.inputs.at(0).name, x}});
}

void expect_close(const std::vector<Tensor> &a, const std::vector<Tensor> &b, float tol = 1e-4f) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) {
    ASSERT_EQ(a[k].shape(), b[k].shape());
    auto x = a[k].to_f32_vector(), y = b[k].to_f32_vector();
    float worst = 0;
    for (size_t i = 0; i < x.size(); ++i)
      worst = std::max(worst, std::abs(x[i] - y[i]) / (1 + std::abs(x[i])));
    EXPECT_LT(worst, tol) << "output " << k;
  }
}

int count_op(const Graph &g, const std::string &op) {
  int c = 0;
  for (const auto &n : g.nodes)
    c += n.op_type == op;
  return c;
}

// x [1,3,8,8] -> Conv(4 out, 3x3, pad 1) -> "c".
Graph conv_graph(uint32_t seed) {
  Graph g;
  g.opset = 13;
  g.inputs.push_back(info("x", {1, 3, 8, 8}));
  g.initializers["w"] = random_tensor({4, 3, 3, 3}, seed);
  g.initializers["b"] = random_tensor({4}, seed + 1);
  g.nodes.push_back(node(
      "Conv", {"x", "w", "b"}, {"c"},
      {{"pads", std::vector<int64_t>{1, 1, 1, 1}}, {"kernel_shape", std::vector<int64_t>{3, 3}}}));
  g.value_info["c"] = info("c", {1, 4, 8, 8});
  return g;
}

TEST(Passes, BatchNormFoldsIntoConv) {
  Graph g = conv_graph(1);
  g.initializers["gamma"] = random_tensor({4}, 10, 0.5f, 2.0f);
  g.initializers["beta"] = random_tensor({4}, 11);
  g.initializers["mean"] = random_tensor({4}, 12);
  g.initializers["var"] = random_tensor({4}, 13, 0.1f, 3.0f);
  g.nodes.push_back(node("BatchNormalization", {"c", "gamma", "beta", "mean", "var"}, {"y"},
                         {{"epsilon", 1e-3f}}));
  g.outputs.push_back(info("y", {1, 4, 8, 8}));
  Tensor x = random_tensor({1, 3, 8, 8}, 99);
  auto before = run(g, x);
  EXPECT_TRUE(fold_batchnorm(g));
  eliminate_dead_nodes(g);
  EXPECT_EQ(count_op(g, "BatchNormalization"), 0);
  EXPECT_EQ(g.nodes.size(), 1u);
  EXPECT_FALSE(g.is_initializer("gamma")); // dead initializers are gone
  expect_close(before, run(g, x));
}

TEST(Passes, BatchNormFoldsIntoGemm) {
  for (int64_t trans_b : {0, 1}) {
    Graph g;
    g.opset = 13;
    g.inputs.push_back(info("x", {2, 5}));
    g.initializers["w"] = random_tensor(trans_b ? Shape{3, 5} : Shape{5, 3}, 2);
    g.initializers["c"] = random_tensor({3}, 3);
    g.nodes.push_back(node("Gemm", {"x", "w", "c"}, {"g"},
                           {{"transB", trans_b}, {"alpha", 0.5f}, {"beta", 2.0f}}));
    for (auto [k, s] : {std::pair{"gamma", 4u}, {"beta", 5u}, {"mean", 6u}})
      g.initializers[k] = random_tensor({3}, s);
    g.initializers["var"] = random_tensor({3}, 7, 0.5f, 2.0f);
    g.nodes.push_back(node("BatchNormalization", {"g", "gamma", "beta", "mean", "var"}, {"y"}));
    g.outputs.push_back(info("y", {2, 3}));
    Tensor x = random_tensor({2, 5}, 8);
    auto before = run(g, x);
    EXPECT_TRUE(fold_batchnorm(g));
    EXPECT_EQ(g.nodes.size(), 1u);
    expect_close(before, run(g, x));
  }
}

TEST(Passes, BatchNormNotFoldedWhenConvOutputShared) {
  Graph g = conv_graph(1);
  for (const char *k : {"gamma", "beta", "mean", "var"})
    g.initializers[k] = random_tensor({4}, 3, 0.5f, 1.0f);
  g.nodes.push_back(node("BatchNormalization", {"c", "gamma", "beta", "mean", "var"}, {"y"}));
  g.outputs.push_back(info("y", {1, 4, 8, 8}));
  g.outputs.push_back(info("c", {1, 4, 8, 8}));
  EXPECT_FALSE(fold_batchnorm(g));
}

struct ActCase {
  std::string op;
  std::map<std::string, Attribute> attrs;
  std::string expected;
};

TEST(Passes, ActivationFusionIntoConv) {
  std::vector<ActCase> cases = {{"Relu", {}, "Relu"},
                                {"Clip", {}, "Clip"},
                                {"LeakyRelu", {{"alpha", 0.2f}}, "LeakyRelu"},
                                {"Sigmoid", {}, "Sigmoid"},
                                {"HardSigmoid", {{"alpha", 0.3f}, {"beta", 0.4f}}, "HardSigmoid"},
                                {"HardSwish", {}, "HardSwish"},
                                {"Tanh", {}, "Tanh"}};
  for (const auto &c : cases) {
    Graph g = conv_graph(3);
    std::vector<std::string> ins = {"c"};
    if (c.op == "Clip") {
      g.initializers["lo"] = Tensor::scalar_f32(0.0f);
      g.initializers["hi"] = Tensor::scalar_f32(0.5f);
      ins = {"c", "lo", "hi"};
    }
    g.nodes.push_back(node(c.op, ins, {"y"}, c.attrs));
    g.outputs.push_back(info("y", {1, 4, 8, 8}));
    Tensor x = random_tensor({1, 3, 8, 8}, 5);
    auto before = run(g, x);
    EXPECT_TRUE(fuse_activations(g)) << c.op;
    ASSERT_EQ(g.nodes.size(), 1u) << c.op;
    EXPECT_EQ(g.nodes[0].op_type, "FusedConv");
    EXPECT_EQ(g.nodes[0].domain, "qtune");
    EXPECT_EQ(g.nodes[0].attr_string("activation", ""), c.expected);
    expect_close(before, run(g, x));
  }
}

TEST(Passes, SiluFusion) {
  Graph g = conv_graph(4);
  g.nodes.push_back(node("Sigmoid", {"c"}, {"s"}));
  g.nodes.push_back(node("Mul", {"s", "c"}, {"y"}));
  g.outputs.push_back(info("y", {1, 4, 8, 8}));
  Tensor x = random_tensor({1, 3, 8, 8}, 6);
  auto before = run(g, x);
  EXPECT_TRUE(fuse_activations(g));
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].attr_string("activation", ""), "SiLU");
  expect_close(before, run(g, x));
}

TEST(Passes, ActivationNotFusedWhenConvOutputAlsoUsed) {
  Graph g = conv_graph(4);
  g.nodes.push_back(node("Relu", {"c"}, {"r"}));
  g.nodes.push_back(node("Add", {"r", "c"}, {"y"}));
  g.outputs.push_back(info("y", {1, 4, 8, 8}));
  EXPECT_FALSE(fuse_activations(g));
}

// An If whose branches read `v` from the enclosing graph by name (the
// then-branch through a nested If of its own), output "branch".
Node if_reading(const std::string &v) {
  auto branch = [](const std::string &read, const std::string &out) {
    auto b = std::make_shared<Graph>();
    b->nodes.push_back(node("Identity", {read}, {out}));
    b->outputs.push_back(info(out, {}));
    return b;
  };
  auto then = std::make_shared<Graph>();
  Node inner = node("If", {"cond"}, {"t"});
  inner.attrs["then_branch"] = branch(v, "t1");
  inner.attrs["else_branch"] = branch(v, "t2");
  then->nodes.push_back(inner);
  then->outputs.push_back(info("t", {}));
  Node n = node("If", {"cond"}, {"branch"});
  n.attrs["then_branch"] = then;
  n.attrs["else_branch"] = branch(v, "e");
  return n;
}

// A node owning sub-graphs reads what they read from its scope (nested
// ones included); values the sub-graphs define themselves are not listed.
TEST(Graph, ConsumersCountSubgraphReads) {
  Graph g = conv_graph(7);
  g.initializers["cond"] = Tensor::from_vector<uint8_t>({}, {1});
  g.nodes.push_back(node("Relu", {"c"}, {"r"}));
  g.nodes.push_back(if_reading("r"));
  const auto users = g.consumers();
  ASSERT_TRUE(users.count("r"));
  // One entry per read: the then-branch's If reads r in both its branches
  // and cond as its condition; the else-branch reads r.
  EXPECT_EQ(users.at("r"), (std::vector<size_t>{2, 2, 2}));
  EXPECT_EQ(users.at("cond"), (std::vector<size_t>{2, 2}));
  EXPECT_FALSE(users.count("t1"));
  EXPECT_FALSE(users.count("e"));
  const std::vector<std::string> outer =
      g.nodes[2].attrs.count("then_branch")
          ? std::get<std::shared_ptr<Graph>>(g.nodes[2].attrs.at("then_branch"))->outer_reads()
          : std::vector<std::string>{};
  EXPECT_EQ(outer, (std::vector<std::string>{"cond", "r", "r"}));
}

// A conv output that an If body also reads by name is not single-use: no
// pass may fuse it away (the body would read a value nobody computes, or
// the fused one under its name). Each fusion with and without the If.
TEST(Passes, SubgraphReadsBlockFusions) {
  struct Case {
    const char *name;
    std::function<void(Graph &)> tail; // after "c", ending in output "y"
    std::function<bool(Graph &)> pass;
  };
  const std::vector<Case> cases = {
      {"activation", [](Graph &g) { g.nodes.push_back(node("Relu", {"c"}, {"y"})); },
       [](Graph &g) { return fuse_activations(g); }},
      {"batchnorm",
       [](Graph &g) {
         for (const char *k : {"gamma", "beta", "mean", "var"})
           g.initializers[k] = random_tensor({4}, 3, 0.5f, 1.0f);
         g.nodes.push_back(
             node("BatchNormalization", {"c", "gamma", "beta", "mean", "var"}, {"y"}));
       },
       [](Graph &g) { return fold_batchnorm(g); }},
      {"residual",
       [](Graph &g) {
         g.inputs.push_back(info("z", {1, 4, 8, 8}));
         g.nodes.push_back(node("Add", {"c", "z"}, {"y"}));
         g.value_info["y"] = info("y", {1, 4, 8, 8});
       },
       [](Graph &g) { return fuse_residual_add(g); }},
  };
  for (const Case &c : cases)
    for (bool read_by_if : {false, true}) {
      SCOPED_TRACE(testing::Message() << c.name << (read_by_if ? " read by an If" : ""));
      Graph g = conv_graph(8);
      g.initializers["cond"] = Tensor::from_vector<uint8_t>({}, {1});
      c.tail(g);
      g.outputs.push_back(info("y", {1, 4, 8, 8}));
      if (read_by_if) {
        g.nodes.push_back(if_reading("c"));
        g.outputs.push_back(info("branch", {}));
      }
      EXPECT_EQ(c.pass(g), !read_by_if);
      EXPECT_EQ(g.producers().count("c"), read_by_if ? 1u : 0u);
    }
}

TEST(Passes, ResidualAddWithRelu) {
  // a = Relu(Conv1(x)); y = Relu(Conv2(a) + a)
  Graph g;
  g.opset = 13;
  g.inputs.push_back(info("x", {1, 4, 6, 6}));
  std::map<std::string, Attribute> conv_attrs = {{"pads", std::vector<int64_t>{1, 1, 1, 1}}};
  g.initializers["w1"] = random_tensor({4, 4, 3, 3}, 20);
  g.initializers["w2"] = random_tensor({4, 4, 3, 3}, 21);
  g.initializers["b2"] = random_tensor({4}, 22);
  g.nodes.push_back(node("Conv", {"x", "w1"}, {"c1"}, conv_attrs));
  g.nodes.push_back(node("Relu", {"c1"}, {"a"}));
  g.nodes.push_back(node("Conv", {"a", "w2", "b2"}, {"c2"}, conv_attrs));
  g.nodes.push_back(node("Add", {"c2", "a"}, {"s"}));
  g.nodes.push_back(node("Relu", {"s"}, {"y"}));
  for (const char *v : {"c1", "a", "c2", "s"})
    g.value_info[v] = info(v, {1, 4, 6, 6});
  g.outputs.push_back(info("y", {1, 4, 6, 6}));
  Tensor x = random_tensor({1, 4, 6, 6}, 23);
  auto before = run(g, x);
  fuse_activations(g);
  EXPECT_TRUE(fuse_residual_add(g));
  ASSERT_EQ(g.nodes.size(), 2u);
  const Node &f = g.nodes[1];
  EXPECT_EQ(f.op_type, "FusedConv");
  EXPECT_EQ(f.attr_int("sum", 0), 1);
  EXPECT_EQ(f.inputs.at(3), "a");
  EXPECT_EQ(f.attr_string("post_activation", ""), "Relu");
  expect_close(before, run(g, x));
}

TEST(Passes, ResidualNotFusedOnBroadcastAdd) {
  Graph g = conv_graph(5);
  g.inputs.push_back(info("z", {1, 4, 1, 1}));
  g.nodes.push_back(node("Add", {"c", "z"}, {"y"}));
  g.value_info["y"] = info("y", {1, 4, 8, 8});
  g.outputs.push_back(info("y", {1, 4, 8, 8}));
  EXPECT_FALSE(fuse_residual_add(g));
}

TEST(Passes, MatMulAddBecomesGemmThenFused) {
  Graph g;
  g.opset = 13;
  g.inputs.push_back(info("x", {3, 6}));
  g.initializers["w"] = random_tensor({6, 5}, 30);
  g.initializers["b"] = random_tensor({5}, 31);
  g.nodes.push_back(node("MatMul", {"x", "w"}, {"m"}));
  g.nodes.push_back(node("Add", {"m", "b"}, {"a"}));
  g.nodes.push_back(node("Relu", {"a"}, {"y"}));
  g.outputs.push_back(info("y", {3, 5}));
  Tensor x = random_tensor({3, 6}, 32);
  auto before = run(g, x);
  EXPECT_TRUE(fuse_matmul_add(g));
  EXPECT_EQ(g.nodes[0].op_type, "Gemm");
  EXPECT_TRUE(fuse_activations(g));
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].op_type, "FusedGemm");
  expect_close(before, run(g, x));
}

TEST(Passes, ConstantFoldingAndDeadNodes) {
  Graph g;
  g.opset = 13;
  g.inputs.push_back(info("x", {4}));
  g.initializers["p"] = Tensor::from_vector<float>({4}, {1, 2, 3, 4});
  g.initializers["q"] = Tensor::from_vector<float>({4}, {0.5f, 0.5f, 2, 2});
  g.initializers["unused"] = Tensor::scalar_f32(1);
  g.nodes.push_back(node("Add", {"p", "q"}, {"pq"}));
  g.nodes.push_back(node("Mul", {"x", "pq"}, {"y"}));
  g.nodes.push_back(node("Relu", {"x"}, {"dangling"}));
  g.outputs.push_back(info("y", {4}));
  Tensor x = Tensor::from_vector<float>({4}, {1, -1, 2, 0.5f});
  auto before = run(g, x);
  EXPECT_TRUE(fold_constants(g, make_constant_evaluator()));
  ASSERT_TRUE(g.is_initializer("pq"));
  EXPECT_EQ(g.initializer("pq")->to_f32_vector(), (std::vector<float>{1.5f, 2.5f, 5, 6}));
  EXPECT_TRUE(eliminate_dead_nodes(g));
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].op_type, "Mul");
  EXPECT_FALSE(g.is_initializer("unused"));
  EXPECT_FALSE(g.is_initializer("p"));
  expect_close(before, run(g, x));
  EXPECT_FALSE(eliminate_dead_nodes(g)); // nothing left to do
}

// x [1,3,8,8] -> Focus (YOLOX order: rows/cols (0,0),(1,0),(0,1),(1,1), two
// Slices each, or one Slice over both axes) -> Concat -> Conv(12 -> 5, 3x3).
Graph focus_graph(std::vector<int64_t> conv_strides, std::vector<int64_t> pads, int64_t end_h) {
  Graph g;
  g.opset = 13;
  g.inputs.push_back(info("x", {1, 3, 8, 8}));
  auto ints = [&](const std::string &name, std::vector<int64_t> v) {
    g.initializers[name] = Tensor::from_vector<int64_t>({(int64_t)v.size()}, v);
  };
  ints("big", {std::numeric_limits<int64_t>::max()});
  ints("endh", {end_h});
  ints("zero", {0}), ints("one", {1}), ints("two", {2}), ints("ax2", {2}), ints("ax3", {3});
  ints("s11", {1, 1}), ints("big2", {1 << 30, 1 << 30}), ints("ax23", {2, 3}), ints("st22", {2, 2});
  const char *off[4][2] = {{"zero", "zero"}, {"one", "zero"}, {"zero", "one"}, {"one", "one"}};
  std::vector<std::string> parts;
  for (int k = 0; k < 3; ++k) {
    std::string r = "r" + std::to_string(k), p = "p" + std::to_string(k);
    g.nodes.push_back(node("Slice", {"x", off[k][0], "endh", "ax2", "two"}, {r}));
    g.nodes.push_back(node("Slice", {r, off[k][1], "big", "ax3", "two"}, {p}));
    parts.push_back(p);
  }
  g.nodes.push_back(node("Slice", {"x", "s11", "big2", "ax23", "st22"}, {"p3"}));
  parts.push_back("p3");
  g.nodes.push_back(node("Concat", parts, {"cat"}, {{"axis", int64_t{1}}}));
  g.initializers["w"] = random_tensor({5, 12, 3, 3}, 3);
  g.initializers["b"] = random_tensor({5}, 4);
  g.nodes.push_back(node(
      "Conv", {"cat", "w", "b"}, {"y"},
      {{"pads", pads}, {"strides", conv_strides}, {"kernel_shape", std::vector<int64_t>{3, 3}}}));
  g.outputs.push_back(info("y", {}));
  g.outputs.back().has_shape = false;
  return g;
}

TEST(Passes, SpaceToDepthFoldsIntoConv) {
  Tensor x = random_tensor({1, 3, 8, 8}, 11, 0, 255);
  for (auto [strides, pads] :
       {std::pair<std::vector<int64_t>, std::vector<int64_t>>{{1, 1}, {1, 1, 1, 1}},
        {{2, 1}, {1, 0, 0, 1}},
        {{1, 2}, {0, 0, 0, 0}}}) {
    Graph g = focus_graph(strides, pads, std::numeric_limits<int64_t>::max());
    auto before = run(g, x);
    optimize_graph(g, make_constant_evaluator(), OptimizeLevel::fold_bn);
    EXPECT_EQ(count_op(g, "Slice"), 0);
    EXPECT_EQ(count_op(g, "Concat"), 0);
    ASSERT_EQ(g.nodes.size(), 1u);
    EXPECT_EQ(g.nodes[0].attr_ints("kernel_shape"), (std::vector<int64_t>{6, 6}));
    EXPECT_EQ(g.nodes[0].inputs[0], "x");
    expect_close(before, run(g, x), 1e-5f);
  }
}

// focus_graph in the QDQ form ONNX Runtime's quantizer writes: Concat -> Q (u8,
// zero point 117) -> DQ -> Conv, weights int8 per output channel behind a DQ.
Graph qdq_focus_graph() {
  Graph g = focus_graph({1, 1}, {1, 1, 1, 1}, std::numeric_limits<int64_t>::max());
  Node conv = g.nodes.back();
  g.nodes.pop_back();
  const Tensor &w = *g.initializer("w");
  Tensor wq(DType::i8, w.shape());
  std::vector<float> ws(w.dim(0));
  int64_t per = w.numel() / w.dim(0);
  for (int64_t o = 0; o < w.dim(0); ++o) {
    float m = 0;
    for (int64_t k = 0; k < per; ++k)
      m = std::max(m, std::abs(w.data<float>()[o * per + k]));
    ws[o] = m / 127;
    for (int64_t k = 0; k < per; ++k)
      wq.data<int8_t>()[o * per + k] =
          static_cast<int8_t>(std::nearbyint(w.data<float>()[o * per + k] / ws[o]));
  }
  g.initializers["wq"] = wq;
  g.initializers["ws"] = Tensor::from_vector<float>({w.dim(0)}, ws);
  g.initializers["xs"] = Tensor::scalar_f32(1.1f);
  Tensor zp(DType::u8, {});
  zp.data<uint8_t>()[0] = 117;
  g.initializers["xz"] = zp;
  g.nodes.push_back(node("QuantizeLinear", {"cat", "xs", "xz"}, {"cat_q"}));
  g.nodes.push_back(node("DequantizeLinear", {"cat_q", "xs", "xz"}, {"cat_dq"}));
  g.nodes.push_back(node("DequantizeLinear", {"wq", "ws"}, {"w_dq"}, {{"axis", int64_t{0}}}));
  conv.inputs[0] = "cat_dq", conv.inputs[1] = "w_dq";
  g.nodes.push_back(conv);
  return g;
}

// The Q moves onto the image and the int8 weights spread: same values as the
// unfolded QDQ graph, unlowered and lowered to int8 kernels.
TEST(Passes, SpaceToDepthFoldsIntoQdqConv) {
  Tensor x = random_tensor({1, 3, 8, 8}, 11, 0, 255);
  Graph g = qdq_focus_graph();
  Graph lowered_before = g;
  optimize_graph(lowered_before, make_constant_evaluator(), OptimizeLevel::basic);
  quant::lower_qdq(lowered_before);
  auto before = run(g, x);
  optimize_graph(g, make_constant_evaluator(), OptimizeLevel::fold_bn);
  EXPECT_EQ(count_op(g, "Slice"), 0);
  EXPECT_EQ(count_op(g, "Concat"), 0);
  ASSERT_EQ(count_op(g, "Conv"), 1);
  for (const Node &n : g.nodes) {
    if (n.op_type == "QuantizeLinear")
      EXPECT_EQ(n.inputs[0], "x");
    if (n.op_type == "Conv")
      EXPECT_EQ(n.attr_ints("kernel_shape"), (std::vector<int64_t>{6, 6}));
  }
  expect_close(before, run(g, x), 1e-4f);
  quant::lower_qdq(g);
  EXPECT_EQ(count_op(g, "QConv"), 1);
  expect_close(run(lowered_before, x), run(g, x), 1e-6f);
}

TEST(Passes, SpaceToDepthNotFoldedWhenSliceStopsEarly) {
  Graph g = focus_graph({1, 1}, {1, 1, 1, 1}, 7); // rows 0..6 only: not a space-to-depth
  optimize_graph(g, make_constant_evaluator(), OptimizeLevel::fold_bn);
  EXPECT_EQ(count_op(g, "Concat"), 1);
  EXPECT_EQ(g.initializer("w")->dim(3), 3);
}

TEST(Passes, OptimizeLevelBasicKeepsPlainOnnx) {
  Graph g = conv_graph(7);
  g.nodes.push_back(node("Relu", {"c"}, {"y"}));
  g.outputs.push_back(info("y", {1, 4, 8, 8}));
  Graph fused = g;
  optimize_graph(g, make_constant_evaluator(), OptimizeLevel::basic);
  EXPECT_EQ(count_op(g, "Conv"), 1);
  EXPECT_EQ(count_op(g, "Relu"), 1);
  optimize_graph(fused, make_constant_evaluator(), OptimizeLevel::all);
  EXPECT_EQ(count_op(fused, "FusedConv"), 1);
  EXPECT_EQ(fused.nodes.size(), 1u);
}

// A YOLO-style head: x [1,3,8,8] -> per level two convs (stride 1 and 2)
// concatenated on channels (what the kernels write channels-last), each
// flattened by a Reshape whose target comes from Shape/Slice/Concat as torch
// exports it, the levels joined on axis 2 and transposed to [1, 80, 24].
// `shared`: the first level's Reshape output is also a graph output.
Graph head_graph(bool shared) {
  Graph g;
  g.opset = 13;
  g.inputs.push_back(info("x", {1, 3, 8, 8}));
  auto ints = [&](const std::string &name, std::vector<int64_t> v) {
    g.initializers[name] = Tensor::from_vector<int64_t>({(int64_t)v.size()}, v);
  };
  ints("zero", {0}), ints("two", {2}), ints("minus1", {-1});
  std::vector<std::string> flat;
  for (int level = 0; level < 2; ++level) {
    const std::string l = std::to_string(level);
    const int64_t stride = level + 1;
    std::vector<std::string> parts;
    for (int k = 0; k < 2; ++k) {
      const std::string c = "c" + l + std::to_string(k), w = "w" + c;
      g.initializers[w] = random_tensor({k == 0 ? 16 : 8, 3, 3, 3}, 20 + 2 * level + k);
      g.nodes.push_back(node("Conv", {"x", w}, {c},
                             {{"pads", std::vector<int64_t>{1, 1, 1, 1}},
                              {"strides", std::vector<int64_t>{stride, stride}},
                              {"kernel_shape", std::vector<int64_t>{3, 3}}}));
      parts.push_back(c);
    }
    const std::string x = "level" + l;
    g.nodes.push_back(node("Concat", parts, {x}, {{"axis", int64_t{1}}}));
    g.value_info[x] = info(x, {1, 24, 8 / stride, 8 / stride});
    g.nodes.push_back(node("Shape", {x}, {"shape" + l}));
    g.nodes.push_back(node("Slice", {"shape" + l, "zero", "two"}, {"nc" + l}));
    g.nodes.push_back(node("Concat", {"nc" + l, "minus1"}, {"target" + l}, {{"axis", int64_t{0}}}));
    g.nodes.push_back(node("Reshape", {x, "target" + l}, {"flat" + l}));
    flat.push_back("flat" + l);
  }
  g.nodes.push_back(node("Concat", flat, {"boxes_t"}, {{"axis", int64_t{2}}}));
  g.nodes.push_back(
      node("Transpose", {"boxes_t"}, {"boxes"}, {{"perm", std::vector<int64_t>{0, 2, 1}}}));
  g.outputs.push_back(info("boxes", {1, 80, 24}));
  if (shared)
    g.outputs.push_back(info("flat0", {1, 24, 64}));
  return g;
}

TEST(Passes, HeadTransposeMovesToEachLevel) {
  Graph g = head_graph(false);
  Tensor x = random_tensor({1, 3, 8, 8}, 5);
  auto before = run(g, x);
  optimize_graph(g, make_constant_evaluator(), OptimizeLevel::basic);
  EXPECT_EQ(count_op(g, "Shape"), 0); // static shapes folded
  EXPECT_EQ(count_op(g, "Transpose"), 2);
  const Node &last = g.nodes.back();
  EXPECT_EQ(last.op_type, "Concat");
  EXPECT_EQ(last.attr_int("axis", 0), 1);
  EXPECT_EQ(last.outputs.at(0), "boxes");
  // Only data movement: the same floats, bit for bit. The convs write
  // blocked layouts, the level Concats channels-last, which the new
  // Transposes take as their bytes.
  Executor ex(std::make_shared<const Graph>(g), ExecutorOptions{1, true});
  auto after = ex.run({{"x", x}});
  ASSERT_EQ(after.at(0).shape(), before.at(0).shape());
  EXPECT_EQ(after[0].to_f32_vector(), before[0].to_f32_vector());
  int same_bytes = 0;
  for (const NodeProfile &p : ex.profile())
    same_bytes +=
        p.op_type == "Transpose" && p.implementation.find("channels-last") != std::string::npos;
  EXPECT_EQ(same_bytes, 2);
}

TEST(Passes, HeadTransposeStaysWhenALevelIsReadElsewhere) {
  Graph g = head_graph(true);
  optimize_graph(g, make_constant_evaluator(), OptimizeLevel::basic);
  EXPECT_EQ(count_op(g, "Transpose"), 1);
  EXPECT_EQ(g.nodes.back().op_type, "Transpose");
}

// Table of head graphs the rewrite must leave alone (the Transpose stays
// last and the outputs are those of the graph as built).
TEST(Passes, HeadTransposeOnlyForItsPattern) {
  const std::vector<std::pair<const char *, std::function<void(Graph &)>>> cases = {
      {"other perm",
       [](Graph &g) {
         g.nodes.back().attrs["perm"] = std::vector<int64_t>{1, 0, 2};
       }},
      {"a level read by a Relu too",
       [](Graph &g) {
         g.nodes.push_back(node("Relu", {"flat1"}, {"also1"}));
         g.outputs.push_back(info("also1", {1, 24, 16}));
       }},
      {"joined levels read by a Relu too",
       [](Graph &g) {
         g.nodes.push_back(node("Relu", {"boxes_t"}, {"also"}));
         g.outputs.push_back(info("also", {1, 24, 80}));
       }},
      {"level shape unknown", [](Graph &g) { g.value_info.erase("level1"); }},
  };
  for (const auto &[name, edit] : cases) {
    SCOPED_TRACE(name);
    Graph g = head_graph(false);
    edit(g);
    Tensor x = random_tensor({1, 3, 8, 8}, 6);
    auto before = run(g, x);
    optimize_graph(g, make_constant_evaluator(), OptimizeLevel::basic);
    EXPECT_EQ(count_op(g, "Transpose"), 1);
    expect_close(before, run(g, x), 1e-7f);
  }
}

// Shape folds to a constant from a static inferred shape, with its start /
// end (negative counts from the back); not from a graph output's declared
// shape (nothing checks it at run time) nor from an unknown dim.
TEST(Passes, StaticShapeFolds) {
  struct Case {
    const char *name;
    int64_t start, end;
    bool output, unknown_dim;
    std::vector<int64_t> want; // empty: not folded
  } cases[] = {{"all", 0, 4, false, false, {1, 4, 8, 8}},
               {"start end", 1, 3, false, false, {4, 8}},
               {"negative", -2, -1, false, false, {8}},
               {"graph output", 0, 4, true, false, {}},
               {"unknown dim", 0, 4, false, true, {}}};
  for (const Case &c : cases) {
    SCOPED_TRACE(c.name);
    Graph g = conv_graph(3);
    if (c.unknown_dim)
      g.value_info["c"].dims[2] = Dim{-1, "h"};
    if (c.output) {
      g.outputs.push_back(info("c", {1, 4, 8, 8}));
      g.value_info.erase("c");
    }
    g.nodes.push_back(
        node("Shape", {"c"}, {"s"}, {{"start", int64_t{c.start}}, {"end", int64_t{c.end}}}));
    g.nodes.push_back(node("Identity", {"s"}, {"s2"})); // a graph output stays a node output
    g.outputs.push_back(info("s2", {}));
    g.outputs.back().dtype = DType::i64;
    g.outputs.back().has_shape = false;
    fold_constants(g, make_constant_evaluator());
    const Tensor *t = g.initializer("s");
    if (c.want.empty()) {
      EXPECT_EQ(t, nullptr);
    } else {
      ASSERT_NE(t, nullptr);
      EXPECT_EQ(t->to_i64_vector(), c.want);
    }
  }
}

} // namespace
