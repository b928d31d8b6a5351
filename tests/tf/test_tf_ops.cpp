// TF op conversion checked against direct computations of TF's documented
// semantics (NHWC conv with SAME padding, depthwise channel multiplier, batch
// norm, pooling that excludes padding, StridedSlice masks ...) on small
// GraphDefs built here.
#include <cmath>
#include <gtest/gtest.h>

#include "graph_builder.h"
#include "qtune/error.h"
#include "tf_run_util.h"

namespace qtune {
namespace {

using tensorflow::DT_FLOAT;
using tensorflow::DT_INT32;
using test::GraphBuilder;

std::vector<float> values(const Tensor &t) {
  return t.to_f32_vector();
}

std::vector<float> random_values(int64_t n, uint32_t seed) {
  return values(test::random_tensor({n}, seed));
}

void expect_near(const Tensor &got, const std::vector<float> &want, float tol = 1e-4f) {
  ASSERT_EQ(got.numel(), (int64_t)want.size());
  auto g = got.to_f32_vector();
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_NEAR(g[i], want[i], tol) << "at " << i;
}

struct Geom {
  int64_t n, h, w, c, kh, kw, sh, sw, dh, dw, oh, ow, pt, pl;
};

// TF SAME: out = ceil(in / stride), the odd padding pixel at the end.
Geom same_geom(int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw, int64_t s,
               int64_t d) {
  Geom g{n, h, w, c, kh, kw, s, s, d, d, (h + s - 1) / s, (w + s - 1) / s, 0, 0};
  g.pt = std::max<int64_t>((g.oh - 1) * s + (kh - 1) * d + 1 - h, 0) / 2;
  g.pl = std::max<int64_t>((g.ow - 1) * s + (kw - 1) * d + 1 - w, 0) / 2;
  return g;
}

// out[n,y,x,o] = sum x[n, y*s - pt + ky*d, x*s - pl + kx*d, c] * w(ky,kx,c,o).
template <typename W>
std::vector<float> conv_ref(const std::vector<float> &x, const Geom &g, int64_t oc, W weight,
                            bool depthwise) {
  std::vector<float> out(g.n * g.oh * g.ow * oc, 0.f);
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t y = 0; y < g.oh; ++y)
      for (int64_t xx = 0; xx < g.ow; ++xx)
        for (int64_t o = 0; o < oc; ++o) {
          double acc = 0;
          for (int64_t ky = 0; ky < g.kh; ++ky)
            for (int64_t kx = 0; kx < g.kw; ++kx) {
              int64_t iy = y * g.sh - g.pt + ky * g.dh, ix = xx * g.sw - g.pl + kx * g.dw;
              if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w)
                continue;
              for (int64_t c = 0; c < g.c; ++c) {
                if (depthwise && c != o / (oc / g.c))
                  continue;
                acc += x[((n * g.h + iy) * g.w + ix) * g.c + c] * weight(ky, kx, c, o);
              }
            }
          out[((n * g.oh + y) * g.ow + xx) * oc + o] = (float)acc;
        }
  return out;
}

Tensor nhwc(const Geom &g, const std::vector<float> &v) {
  return Tensor::from_vector<float>({g.n, g.h, g.w, g.c}, v);
}

void conv_attrs(tensorflow::NodeDef &n, int64_t s, int64_t d, const std::string &pad) {
  GraphBuilder::ints(n, "strides", {1, s, s, 1});
  GraphBuilder::ints(n, "dilations", {1, d, d, 1});
  GraphBuilder::s(n, "padding", pad);
  GraphBuilder::s(n, "data_format", "NHWC");
  GraphBuilder::type(n, "T", DT_FLOAT);
}

TEST(TfOps, Conv2dSameStride2BiasRelu6) {
  Geom g = same_geom(2, 7, 9, 3, 3, 3, 2, 1);
  int64_t oc = 4;
  auto x = random_values(g.n * g.h * g.w * g.c, 1), w = random_values(3 * 3 * 3 * oc, 2),
       bias = random_values(oc, 3);
  for (auto &v : x)
    v *= 4;
  GraphBuilder b;
  b.placeholder("x", DT_FLOAT, {-1, g.h, g.w, g.c});
  b.f32("w", {3, 3, 3, oc}, w);
  b.node("w/read", "Identity", {"w"});
  b.f32("b", {oc}, bias);
  conv_attrs(b.node("conv", "Conv2D", {"x", "w/read"}), 2, 1, "SAME");
  b.node("bias", "BiasAdd", {"conv", "b"});
  b.node("relu6", "Relu6", {"bias"});
  Graph graph = tf::import_graph(b.source());
  // The bias folded into the conv: Transpose, Conv, Transpose, Clip.
  // The Conv carries the TF node's name (op-wise configs name TF nodes).
  int convs = 0, adds = 0;
  for (auto &n : graph.nodes) {
    convs += n.op_type == "Conv";
    adds += n.op_type == "Add";
    if (n.op_type == "Conv")
      EXPECT_EQ(n.name, "conv");
  }
  EXPECT_EQ(convs, 1);
  EXPECT_EQ(adds, 0);
  ASSERT_EQ(graph.inputs[0].dims.size(), 4u);
  EXPECT_FALSE(graph.inputs[0].dims[0].known());
  auto out = test::run_graph(graph, {{"x", nhwc(g, x)}});
  auto want = conv_ref(
      x, g, oc,
      [&](int64_t ky, int64_t kx, int64_t c, int64_t o) {
        return w[((ky * 3 + kx) * 3 + c) * oc + o];
      },
      false);
  for (size_t i = 0; i < want.size(); ++i)
    want[i] = std::min(std::max(want[i] + bias[i % oc], 0.f), 6.f);
  EXPECT_EQ(out[0].shape(), (Shape{g.n, g.oh, g.ow, oc}));
  expect_near(out[0], want);
}

TEST(TfOps, DepthwiseMultiplier2Dilation2) {
  Geom g = same_geom(1, 8, 6, 3, 3, 3, 1, 2);
  int64_t m = 2, oc = 3 * m;
  auto x = random_values(g.h * g.w * g.c, 4), w = random_values(3 * 3 * 3 * m, 5);
  GraphBuilder b;
  b.placeholder("x", DT_FLOAT, {1, g.h, g.w, g.c});
  b.f32("w", {3, 3, 3, m}, w);
  conv_attrs(b.node("dw", "DepthwiseConv2dNative", {"x", "w"}), 1, 2, "SAME");
  auto out = test::run_graph(tf::import_graph(b.source()), {{"x", nhwc(g, x)}});
  auto want = conv_ref(
      x, g, oc,
      [&](int64_t ky, int64_t kx, int64_t c, int64_t o) {
        return w[((ky * 3 + kx) * 3 + c) * m + o % m];
      },
      true);
  expect_near(out[0], want);
}

// _FusedConv2D [FusedBatchNorm, Relu] with EXPLICIT padding (top 1, bottom 0,
// left 2, right 1), VALID pooling after it.
TEST(TfOps, FusedConvBatchNormExplicitPadding) {
  Geom g{1, 5, 5, 2, 2, 2, 1, 1, 1, 1, 0, 0, 1, 2};
  g.oh = 5 + 1 + 0 - 2 + 1;
  g.ow = 5 + 2 + 1 - 2 + 1;
  int64_t oc = 3;
  auto x = random_values(25 * 2, 6), w = random_values(2 * 2 * 2 * oc, 7);
  std::vector<float> scale{1.5f, -0.5f, 2.f}, offset{0.1f, 0.2f, -0.3f}, mean{0.2f, -0.1f, 0.f},
      var{0.5f, 2.f, 1.f};
  GraphBuilder b;
  b.placeholder("x", DT_FLOAT, {1, 5, 5, 2});
  b.f32("w", {2, 2, 2, oc}, w);
  b.f32("scale", {oc}, scale);
  b.f32("offset", {oc}, offset);
  b.f32("mean", {oc}, mean);
  b.f32("var", {oc}, var);
  auto &c = b.node("conv", "_FusedConv2D", {"x", "w", "scale", "offset", "mean", "var"});
  conv_attrs(c, 1, 1, "EXPLICIT");
  GraphBuilder::ints(c, "explicit_paddings", {0, 0, 1, 0, 2, 1, 0, 0});
  GraphBuilder::strings(c, "fused_ops", {"FusedBatchNorm", "Relu"});
  GraphBuilder::f(c, "epsilon", 0.001f);
  GraphBuilder::i(c, "num_args", 4);
  auto out = test::run_graph(tf::import_graph(b.source()), {{"x", nhwc(g, x)}});
  auto want = conv_ref(
      x, g, oc,
      [&](int64_t ky, int64_t kx, int64_t ci, int64_t o) {
        return w[((ky * 2 + kx) * 2 + ci) * oc + o];
      },
      false);
  for (size_t i = 0; i < want.size(); ++i) {
    int64_t o = i % oc;
    float y = (want[i] - mean[o]) / std::sqrt(var[o] + 0.001f) * scale[o] + offset[o];
    want[i] = std::max(y, 0.f);
  }
  EXPECT_EQ(out[0].shape(), (Shape{1, g.oh, g.ow, oc}));
  expect_near(out[0], want);
}

// A FusedBatchNorm reading a graph input (nothing to fold into): BatchNormalization.
TEST(TfOps, StandaloneFusedBatchNorm) {
  auto x = random_values(2 * 3 * 2, 8);
  std::vector<float> scale{1.5f, -0.5f}, offset{0.1f, 0.2f}, mean{0.2f, -0.1f}, var{0.5f, 2.f};
  GraphBuilder b;
  b.placeholder("x", DT_FLOAT, {1, 2, 3, 2});
  b.f32("scale", {2}, scale);
  b.f32("offset", {2}, offset);
  b.f32("mean", {2}, mean);
  b.f32("var", {2}, var);
  auto &bn = b.node("bn", "FusedBatchNormV3", {"x", "scale", "offset", "mean", "var"});
  GraphBuilder::b(bn, "is_training", false);
  GraphBuilder::f(bn, "epsilon", 0.01f);
  auto out = test::run_graph(tf::import_graph(b.source()),
                             {{"x", Tensor::from_vector<float>({1, 2, 3, 2}, x)}});
  std::vector<float> want(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    int o = i % 2;
    want[i] = (x[i] - mean[o]) / std::sqrt(var[o] + 0.01f) * scale[o] + offset[o];
  }
  expect_near(out[0], want);
}

// 3x3 stride-2 SAME pools on 5x6: max over the window, average over the
// window's pixels inside the image only.
TEST(TfOps, PoolingSame) {
  Geom g = same_geom(1, 5, 6, 2, 3, 3, 2, 1);
  auto x = random_values(5 * 6 * 2, 9);
  GraphBuilder b;
  b.placeholder("x", DT_FLOAT, {1, 5, 6, 2});
  for (const char *op : {"MaxPool", "AvgPool"}) {
    auto &p = b.node(op, op, {"x"});
    GraphBuilder::ints(p, "ksize", {1, 3, 3, 1});
    GraphBuilder::ints(p, "strides", {1, 2, 2, 1});
    GraphBuilder::s(p, "padding", "SAME");
  }
  tf::ImportOptions opt;
  opt.outputs = {"MaxPool", "AvgPool"};
  auto out = test::run_graph(tf::import_graph(b.source(), opt), {{"x", nhwc(g, x)}});
  std::vector<float> mx, av;
  for (int64_t y = 0; y < g.oh; ++y)
    for (int64_t xx = 0; xx < g.ow; ++xx)
      for (int64_t c = 0; c < 2; ++c) {
        float m = -1e30f, s = 0;
        int cnt = 0;
        for (int64_t ky = 0; ky < 3; ++ky)
          for (int64_t kx = 0; kx < 3; ++kx) {
            int64_t iy = y * 2 - g.pt + ky, ix = xx * 2 - g.pl + kx;
            if (iy < 0 || iy >= 5 || ix < 0 || ix >= 6)
              continue;
            float v = x[(iy * 6 + ix) * 2 + c];
            m = std::max(m, v);
            s += v;
            ++cnt;
          }
        mx.push_back(m);
        av.push_back(s / cnt);
      }
  expect_near(out[0], mx);
  expect_near(out[1], av);
}

// Keras Flatten: Shape -> StridedSlice(shrink) -> Pack -> Reshape on a
// dynamic batch; plus StridedSlice masks with a negative stride.
TEST(TfOps, ShapeArithmeticAndStridedSlice) {
  GraphBuilder b;
  b.placeholder("x", DT_FLOAT, {-1, 2, 3});
  b.node("shape", "Shape", {"x"});
  b.i32("begin", {1}, {0});
  b.i32("end", {1}, {1});
  b.i32("one", {1}, {1});
  auto &ss = b.node("batch", "StridedSlice", {"shape", "begin", "end", "one"});
  GraphBuilder::i(ss, "shrink_axis_mask", 1);
  b.i32("minus1", {}, {-1});
  b.node("dims", "Pack", {"batch", "minus1"});
  b.node("flat", "Reshape", {"x", "dims"});
  // x[:, ::-1, 1:] via begin_mask on axis 0/1, end_mask on axis 0/1/2.
  b.i32("b2", {3}, {0, 0, 1});
  b.i32("e2", {3}, {0, 0, 0});
  b.i32("s2", {3}, {1, -1, 1});
  auto &ss2 = b.node("rev", "StridedSlice", {"x", "b2", "e2", "s2"});
  GraphBuilder::i(ss2, "begin_mask", 3);
  GraphBuilder::i(ss2, "end_mask", 7);
  tf::ImportOptions opt;
  opt.outputs = {"flat", "rev"};
  Graph g = tf::import_graph(b.source(), opt);
  for (auto &n : g.nodes)
    EXPECT_TRUE(n.domain.empty()) << n.describe() << " is not an ONNX op";
  std::vector<float> x(2 * 2 * 3);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = (float)i;
  auto out = test::run_graph(g, {{"x", Tensor::from_vector<float>({2, 2, 3}, x)}});
  EXPECT_EQ(out[0].shape(), (Shape{2, 6}));
  expect_near(out[0], x);
  EXPECT_EQ(out[1].shape(), (Shape{2, 2, 2}));
  expect_near(out[1], {4, 5, 1, 2, 10, 11, 7, 8});
}

// Integer FloorDiv / FloorMod round toward -inf (Python semantics), unlike C.
TEST(TfOps, IntegerFloorDivMod) {
  GraphBuilder b;
  b.placeholder("a", DT_INT32, {4});
  b.i32("b", {4}, {3, -3, 3, -3});
  GraphBuilder::type(b.node("div", "FloorDiv", {"a", "b"}), "T", DT_INT32);
  GraphBuilder::type(b.node("mod", "FloorMod", {"a", "b"}), "T", DT_INT32);
  tf::ModelSource s = b.source();
  tf::ImportOptions opt;
  opt.outputs = {"div", "mod"};
  auto out = test::run_graph(tf::import_graph(s, opt),
                             {{"a", Tensor::from_vector<int32_t>({4}, {7, 7, -7, -7})}});
  EXPECT_EQ(out[0].to_i64_vector(), (std::vector<int64_t>{2, -3, -3, 2}));
  EXPECT_EQ(out[1].to_i64_vector(), (std::vector<int64_t>{1, -2, 2, -1}));
}

// TopKV2 (ties: lower index first, indices int32) and ResizeBilinear with TF
// 1.x's default coordinates (in = out * in_size / out_size).
TEST(TfOps, TopKAndResizeBilinear) {
  GraphBuilder b;
  b.placeholder("v", DT_FLOAT, {1, 5});
  b.i32("k", {}, {3});
  b.node("top", "TopKV2", {"v", "k"});
  b.node("idx", "Identity", {"top:1"});
  b.placeholder("img", DT_FLOAT, {1, 2, 2, 1});
  b.i32("size", {2}, {3, 4});
  b.node("resized", "ResizeBilinear", {"img", "size"});
  tf::ImportOptions opt;
  opt.outputs = {"top", "idx", "resized"};
  auto out = test::run_graph(tf::import_graph(b.source(), opt),
                             {{"v", Tensor::from_vector<float>({1, 5}, {1, 3, 2, 3, 0})},
                              {"img", Tensor::from_vector<float>({1, 2, 2, 1}, {0, 1, 2, 3})}});
  expect_near(out[0], {3, 3, 2});
  EXPECT_EQ(out[1].dtype(), DType::i32);
  EXPECT_EQ(out[1].to_i64_vector(), (std::vector<int64_t>{1, 3, 2}));
  // rows: in_y = y * 2/3 -> 0, 2/3, 4/3 (clamped to row 1); cols: x * 2/4.
  std::vector<float> want;
  for (float fy : {0.f, 2.f / 3, 1.f})
    for (float fx : {0.f, 0.5f, 1.f, 1.f})
      want.push_back(fy * 2 + fx);
  expect_near(out[2], want, 1e-5f);
}

// Variables: VariableV2 read through Identity, VarHandleOp + ReadVariableOp,
// and a TF.js Const without value, all bound to ModelSource::variables.
TEST(TfOps, VariablesBoundByName) {
  GraphBuilder b;
  b.placeholder("x", DT_FLOAT, {2});
  b.node("a", "VariableV2");
  b.node("a/read", "Identity", {"a"});
  b.node("h", "VarHandleOp");
  b.node("h/read", "ReadVariableOp", {"h"});
  b.node("c", "Const");
  b.node("ax", "Mul", {"x", "a/read"});
  b.node("axh", "Add", {"ax", "h/read"});
  b.node("y", "Sub", {"axh", "c"});
  tf::ModelSource s = b.source();
  s.variables["a"] = Tensor::scalar_f32(0.5f);
  s.variables["h"] = Tensor::scalar_f32(2.f);
  s.variables["c"] = Tensor::from_vector<float>({2}, {1, 10});
  Graph g = tf::import_graph(s);
  ASSERT_EQ(g.outputs.size(), 1u);
  EXPECT_EQ(g.outputs[0].name, "y");
  auto out = test::run_graph(g, {{"x", Tensor::from_vector<float>({2}, {4, 8})}});
  expect_near(out[0], {3, -4});

  s.variables.erase("h");
  try {
    tf::import_graph(s);
    FAIL() << "missing variable accepted";
  } catch (const InputError &e) {
    EXPECT_NE(std::string(e.what()).find("'h'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("test.pb"), std::string::npos) << e.what();
  }
}

// Outputs found automatically ignore NoOp/Assert; control edges are dropped
// and the graph is pruned to what the outputs need.
TEST(TfOps, AutomaticOutputsAndPruning) {
  GraphBuilder b;
  b.placeholder("x", DT_FLOAT, {2});
  b.placeholder("unused", DT_FLOAT, {2});
  b.f32("two", {}, {2});
  b.node("check", "Assert", {"x", "x"});
  b.node("y", "Mul", {"x", "two", "^check"});
  b.node("dead", "Neg", {"unused"});
  b.node("init", "NoOp", {"^dead"});
  tf::ImportOptions opt;
  opt.outputs = {"y"};
  Graph g = tf::import_graph(b.source(), opt);
  ASSERT_EQ(g.inputs.size(), 1u);
  EXPECT_EQ(g.inputs[0].name, "x");
  EXPECT_EQ(g.nodes.size(), 1u);
  Graph all = tf::import_graph(b.source());
  std::vector<std::string> outs;
  for (auto &o : all.outputs)
    outs.push_back(o.name);
  EXPECT_EQ(outs, (std::vector<std::string>{"y", "dead"}));
}

std::string import_error(const tf::ModelSource &s) {
  try {
    tf::import_graph(s);
  } catch (const Error &e) {
    std::string m = e.what();
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    return m;
  }
  ADD_FAILURE() << "no error";
  return "";
}

TEST(TfOps, BadGraphsAreOneLineErrors) {
  {
    GraphBuilder b;
    b.placeholder("x", DT_FLOAT, {2});
    b.node("y", "FancyNewOp", {"x"});
    EXPECT_EQ(import_error(b.source("m.pb")), "m.pb: node 'y' (op FancyNewOp): op not supported");
  }
  {
    GraphBuilder b;
    b.placeholder("x", DT_FLOAT, {2});
    b.node("y", "Neg", {"x", "nowhere:1"});
    EXPECT_EQ(import_error(b.source("m.pb")),
              "m.pb: node 'y' (op Neg): input 'nowhere:1' names no node");
  }
  {
    GraphBuilder b;
    b.placeholder("x", DT_FLOAT, {2});
    b.node("a", "Add", {"x", "b"});
    b.node("b", "Neg", {"a"});
    b.node("y", "Neg", {"b"});
    std::string e = import_error(b.source("m.pb"));
    EXPECT_NE(e.find("m.pb: cycle outside a while frame"), std::string::npos) << e;
    EXPECT_NE(e.find("a -> b"), std::string::npos) << e;
  }
  {
    GraphBuilder b;
    b.placeholder("x", DT_FLOAT, {2});
    b.node("y", "Neg", {"x"});
    tf::ModelSource s = b.source("m.pb");
    s.outputs = {"z"};
    EXPECT_EQ(import_error(s), "m.pb: output 'z' names no node of the graph");
  }
}

} // namespace
} // namespace qtune
