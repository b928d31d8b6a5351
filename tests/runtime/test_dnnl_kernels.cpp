// oneDNN-backed kernels against naive reference loops written from the ONNX
// op definitions: Conv (groups, dilations, pads, strides), pooling modes, Gemm flags.
#include <cmath>
#include <cstring>
#include <gtest/gtest.h>
#include <map>

#include "model_helpers.h"
#include "runtime/dnnl_util.h"
#include "runtime/executor.h"
#include "runtime/kernel.h"
#include "runtime/kernels/conv_gemm_f32.h"
#include "runtime/kernels/silu.h"
#include <oneapi/dnnl/dnnl.hpp>

#include "../test_util.h"

namespace qtune {
namespace {

using test::random_tensor;

// A graph with one node reading X (graph input) and the given initializers.
std::vector<Tensor> run_single(Node node, const Tensor &x,
                               std::vector<std::pair<std::string, Tensor>> inits) {
  auto g = std::make_shared<Graph>();
  g->source = "test";
  g->inputs.push_back({.name = "X", .dtype = DType::f32});
  node.name = "n";
  node.inputs.insert(node.inputs.begin(), "X");
  for (auto &[name, t] : inits) {
    node.inputs.push_back(name);
    g->initializers[name] = t;
  }
  node.outputs = {"Y"};
  g->nodes.push_back(node);
  g->outputs.push_back({.name = "Y", .dtype = DType::f32});
  Executor ex(g, {.threads = 2});
  return ex.run({{"X", x}});
}

struct ConvCase {
  int64_t n, c, h, w, oc, kh, kw, group, sh, sw, dh, dw, pt, pl, pb, pr;
};

Tensor naive_conv(const ConvCase &p, const Tensor &x, const Tensor &w, const Tensor &b) {
  int64_t oh = (p.h + p.pt + p.pb - ((p.kh - 1) * p.dh + 1)) / p.sh + 1;
  int64_t ow = (p.w + p.pl + p.pr - ((p.kw - 1) * p.dw + 1)) / p.sw + 1;
  Tensor y(DType::f32, {p.n, p.oc, oh, ow});
  int64_t icg = p.c / p.group, ocg = p.oc / p.group;
  for (int64_t n = 0; n < p.n; ++n)
    for (int64_t o = 0; o < p.oc; ++o)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          double acc = b.data<float>()[o];
          int64_t g = o / ocg;
          for (int64_t ci = 0; ci < icg; ++ci)
            for (int64_t ki = 0; ki < p.kh; ++ki)
              for (int64_t kj = 0; kj < p.kw; ++kj) {
                int64_t yi = i * p.sh - p.pt + ki * p.dh, xj = j * p.sw - p.pl + kj * p.dw;
                if (yi < 0 || yi >= p.h || xj < 0 || xj >= p.w)
                  continue;
                acc += double(x.data<float>()[((n * p.c + g * icg + ci) * p.h + yi) * p.w + xj]) *
                       w.data<float>()[((o * icg + ci) * p.kh + ki) * p.kw + kj];
              }
          y.data<float>()[((n * p.oc + o) * oh + i) * ow + j] = float(acc);
        }
  return y;
}

void check_conv(const ConvCase &p) {
  Tensor x = random_tensor({p.n, p.c, p.h, p.w}, 1);
  Tensor w = random_tensor({p.oc, p.c / p.group, p.kh, p.kw}, 2);
  Tensor b = random_tensor({p.oc}, 3);
  Node node;
  node.op_type = "Conv";
  node.attrs["group"] = p.group;
  node.attrs["strides"] = std::vector<int64_t>{p.sh, p.sw};
  node.attrs["dilations"] = std::vector<int64_t>{p.dh, p.dw};
  node.attrs["pads"] = std::vector<int64_t>{p.pt, p.pl, p.pb, p.pr};
  auto y = run_single(node, x, {{"W", w}, {"B", b}});
  Tensor ref = naive_conv(p, x, w, b);
  ASSERT_EQ(y[0].shape(), ref.shape());
  EXPECT_LT(test::max_abs_diff(y[0], ref), 1e-4);
}

TEST(DnnlKernels, ConvPlain) {
  check_conv({1, 3, 17, 19, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1});
}
TEST(DnnlKernels, ConvGroupsDilationsAsymmetricPads) {
  check_conv({2, 8, 15, 13, 12, 3, 2, 4, 2, 1, 2, 3, 0, 2, 1, 0});
}
TEST(DnnlKernels, ConvDepthwiseStride2) {
  check_conv({1, 32, 20, 20, 32, 3, 3, 32, 2, 2, 1, 1, 1, 1, 1, 1});
}

TEST(DnnlKernels, ConvSameUpperAndFusedRelu) {
  ConvCase p{1, 4, 9, 9, 6, 3, 3, 1, 2, 2, 1, 1, 1, 1, 1, 1}; // SAME_UPPER: out 5, total pad 2
  Tensor x = random_tensor({1, 4, 9, 9}, 4), w = random_tensor({6, 4, 3, 3}, 5),
         b = random_tensor({6}, 6);
  Node node;
  node.op_type = "FusedConv";
  node.domain = "qtune";
  node.attrs["strides"] = std::vector<int64_t>{2, 2};
  node.attrs["auto_pad"] = std::string("SAME_UPPER");
  node.attrs["activation"] = std::string("Relu");
  auto y = run_single(node, x, {{"W", w}, {"B", b}});
  Tensor ref = naive_conv(p, x, w, b);
  for (float &v : ref.span<float>())
    v = std::max(v, 0.f);
  EXPECT_LT(test::max_abs_diff(y[0], ref), 1e-4);
}

// The implementation a Conv kernel picks (after prepare) for node `n` reading
// X, with W and B as the graph's initializers; `quantized` adds a
// QuantizeLinear to the graph (an int8 model).
std::string conv_implementation(Node n, const Tensor &x, const Tensor &w, const Tensor &b,
                                bool quantized = false) {
  Graph g;
  g.initializers["W"] = w, g.initializers["B"] = b;
  n.name = "c", n.inputs = {"X", "W", "B"}, n.outputs = {"Y"};
  g.nodes.push_back(n);
  if (quantized) {
    Node q;
    q.name = "q", q.op_type = "QuantizeLinear", q.inputs = {"Y", "s"}, q.outputs = {"Yq"};
    g.nodes.push_back(q);
  }
  KernelEnv env;
  env.graph = &g;
  auto k = make_kernel(g.nodes[0], env);
  std::vector<Tensor> in{x, w, b};
  k->infer(in);
  k->prepare(in);
  return k->implementation();
}

bool has_avx512_core() {
  const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  const auto core = static_cast<unsigned>(dnnl::cpu_isa::avx512_core);
  return (isa & core) == core; // ISA values are bit sets (avx2_vnni > avx512_core)
}

Node pad1(const char *op) {
  Node n;
  n.op_type = op;
  n.domain = std::string(op) == "FusedConv" ? "qtune" : "";
  n.attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  return n;
}

// SiLU runs as qtune's own pass after the conv (AVX-512 CPUs), not as oneDNN's
// post-op, also in a graph that quantizes activations (the pass gives the
// post-op's bits: test_silu.cpp). 24 channels: a padded
// blocked output; 2 x 24 x 40 x 40 outputs: the pass's OpenMP path.
TEST(DnnlKernels, FusedConvSiluMatchesDefinition) {
  ConvCase p{2, 16, 40, 40, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  Tensor x = random_tensor({2, 16, 40, 40}, 7), w = random_tensor({24, 16, 3, 3}, 8),
         b = random_tensor({24}, 9);
  Node node = pad1("FusedConv");
  node.attrs["activation"] = std::string("SiLU");
  const bool pass = kernels::silu_inplace_is_fast();
  EXPECT_EQ(conv_implementation(node, x, w, b).find("SiLU pass") != std::string::npos, pass);
  EXPECT_EQ(conv_implementation(node, x, w, b, true).find("SiLU pass") != std::string::npos, pass);
  auto y = run_single(node, x, {{"W", w}, {"B", b}});
  Tensor ref = naive_conv(p, x, w, b);
  for (float &v : ref.span<float>())
    v = static_cast<float>(v / (1.0 + std::exp(-double(v))));
  EXPECT_LT(test::max_abs_diff(y[0], ref), 1e-4);
}

// A Sigmoid (score heads) runs as qtune's sigmoid pass after the conv: the
// fast form in this FP32 graph (oneDNN's logistic bits in a quantized one,
// FusedConvSiluInQuantizedGraphGivesPostOpBits), both within 1e-6 of the
// definition; 80 channels as YOLOX's class scores.
TEST(DnnlKernels, FusedConvSigmoidMatchesDefinition) {
  ConvCase p{1, 16, 26, 26, 80, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0};
  Tensor x = random_tensor({1, 16, 26, 26}, 17), w = random_tensor({80, 16, 1, 1}, 18),
         b = random_tensor({80}, 19);
  Node node = pad1("FusedConv");
  node.attrs["pads"] = std::vector<int64_t>{0, 0, 0, 0};
  node.attrs["activation"] = std::string("Sigmoid");
  const bool pass = kernels::silu_inplace_is_fast();
  EXPECT_EQ(conv_implementation(node, x, w, b).find("sigmoid pass") != std::string::npos, pass)
      << conv_implementation(node, x, w, b);
  const std::string in_int8 = conv_implementation(node, x, w, b, true);
  EXPECT_EQ(in_int8.find("sigmoid pass") != std::string::npos, pass) << in_int8;
  EXPECT_EQ(in_int8.find("fast"), std::string::npos) << in_int8;
  auto y = run_single(node, x, {{"W", w}, {"B", b}});
  Tensor ref = naive_conv(p, x, w, b);
  for (float &v : ref.span<float>())
    v = static_cast<float>(1.0 / (1.0 + std::exp(-double(v))));
  EXPECT_LT(test::max_abs_diff(y[0], ref), 1e-6);
}

// 24 output channels, 3x3: a blocked layout would pad them to 32, where the
// pass would write sigmoid(0) = 0.5, so there the conv keeps its logistic
// post-op (ConvKernel::prepare); oneDNN 2.6 picks channels-last on this CPU
// and the pass runs. The numbers are the Sigmoid's either way.
TEST(DnnlKernels, FusedConvSigmoidOverPaddedChannels) {
  ConvCase p{1, 16, 20, 20, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  Tensor x = random_tensor({1, 16, 20, 20}, 27), w = random_tensor({24, 16, 3, 3}, 28),
         b = random_tensor({24}, 29);
  Node node = pad1("FusedConv");
  node.attrs["activation"] = std::string("Sigmoid");
  auto y = run_single(node, x, {{"W", w}, {"B", b}});
  Tensor ref = naive_conv(p, x, w, b);
  for (float &v : ref.span<float>())
    v = static_cast<float>(1.0 / (1.0 + std::exp(-double(v))));
  EXPECT_LT(test::max_abs_diff(y[0], ref), 1e-6) << conv_implementation(node, x, w, b);
}

// In a graph that quantizes activations the last bits of an fp32 conv matter
// (a requantized value can sit on a rounding tie): there the SiLU pass must
// give the bits of oneDNN's own conv with a swish post-op, built here
// directly (direct algorithm, formats oneDNN picks, plain output). Pointwise,
// 3x3, strided and depthwise shapes. The same for the sigmoid pass against
// the logistic post-op.
TEST(DnnlKernels, FusedConvSiluInQuantizedGraphGivesPostOpBits) {
  if (!kernels::silu_inplace_is_fast())
    GTEST_SKIP() << "no SiLU pass without AVX-512";
  using dnnl::memory;
  using tag = memory::format_tag;
  struct Case {
    int64_t c, oc, k, stride, group;
  } cases[] = {{32, 32, 1, 1, 1}, {16, 24, 3, 1, 1}, {16, 32, 3, 2, 1}, {32, 32, 3, 1, 32}};
  for (const std::string act : {"SiLU", "Sigmoid"})
    for (const Case &cc : cases) {
      const int64_t h = 21, pad = cc.k / 2, oh = (h + 2 * pad - cc.k) / cc.stride + 1;
      Tensor x = random_tensor({1, cc.c, h, h}, 40), b = random_tensor({cc.oc}, 42);
      Tensor w = random_tensor({cc.oc, cc.c / cc.group, cc.k, cc.k}, 41);
      for (float &v : x.span<float>())
        v *= 4.f; // pre-activations over the whole SiLU curve
      auto g = std::make_shared<Graph>();
      g->source = "test";
      g->inputs.push_back({.name = "X", .dtype = DType::f32});
      g->initializers = {{"W", w}, {"B", b}, {"s", Tensor::from_vector<float>({}, {0.05f})}};
      Node n = pad1("FusedConv");
      n.name = "c", n.inputs = {"X", "W", "B"}, n.outputs = {"Y"};
      n.attrs["pads"] = std::vector<int64_t>{pad, pad, pad, pad};
      n.attrs["strides"] = std::vector<int64_t>{cc.stride, cc.stride};
      n.attrs["group"] = cc.group;
      n.attrs["activation"] = act;
      Node q;
      q.name = "q", q.op_type = "QuantizeLinear", q.inputs = {"Y", "s"}, q.outputs = {"Yq"};
      g->nodes = {n, q};
      g->outputs = {{.name = "Y", .dtype = DType::f32}, {.name = "Yq", .dtype = DType::u8}};
      Executor ex(g, {.threads = 2, .profile = true});
      std::vector<Tensor> out = ex.run({{"X", x}});
      std::string impl;
      for (const NodeProfile &p : ex.profile())
        if (p.name == "c")
          impl = p.implementation;
      ASSERT_NE(impl.find(act == "SiLU" ? "SiLU pass" : "sigmoid pass"), std::string::npos) << impl;

      dnnl::engine eng(dnnl::engine::kind::cpu, 0);
      dnnl::stream s(eng);
      memory::dims w_dims =
          cc.group == 1 ? memory::dims{cc.oc, cc.c, cc.k, cc.k}
                        : memory::dims{cc.group, cc.oc / cc.group, cc.c / cc.group, cc.k, cc.k};
      memory::desc x_md({1, cc.c, h, h}, memory::data_type::f32, tag::nchw),
          y_md({1, cc.oc, oh, oh}, memory::data_type::f32, tag::nchw),
          b_md({cc.oc}, memory::data_type::f32, tag::x);
      dnnl::post_ops ops;
      ops.append_eltwise(
          1.f, act == "SiLU" ? dnnl::algorithm::eltwise_swish : dnnl::algorithm::eltwise_logistic,
          1.f, 0.f);
      dnnl::primitive_attr attr;
      attr.set_post_ops(ops);
      dnnl::convolution_forward::primitive_desc pd(
          {dnnl::prop_kind::forward_inference,
           dnnl::algorithm::convolution_direct,
           memory::desc({1, cc.c, h, h}, memory::data_type::f32, tag::any),
           memory::desc(w_dims, memory::data_type::f32, tag::any),
           b_md,
           memory::desc({1, cc.oc, oh, oh}, memory::data_type::f32, tag::any),
           {cc.stride, cc.stride},
           {pad, pad},
           {pad, pad}},
          attr, eng);
      memory x_user(x_md, eng, x.raw()), x_mem(pd.src_desc(), eng);
      memory w_user({w_dims, memory::data_type::f32, cc.group == 1 ? tag::oihw : tag::goihw}, eng,
                    w.raw()),
          w_mem(pd.weights_desc(), eng), y_mem(pd.dst_desc(), eng);
      dnnl::reorder(x_user, x_mem).execute(s, x_user, x_mem);
      dnnl::reorder(w_user, w_mem).execute(s, w_user, w_mem);
      memory b_mem(b_md, eng, b.raw());
      dnnl::convolution_forward(pd).execute(s, {{DNNL_ARG_SRC, x_mem},
                                                {DNNL_ARG_WEIGHTS, w_mem},
                                                {DNNL_ARG_BIAS, b_mem},
                                                {DNNL_ARG_DST, y_mem}});
      Tensor want(DType::f32, {1, cc.oc, oh, oh});
      memory want_mem(y_md, eng, want.raw());
      dnnl::reorder(y_mem, want_mem).execute(s, y_mem, want_mem);
      s.wait();
      int64_t diffs = 0;
      for (int64_t i = 0; i < want.numel(); ++i)
        diffs += std::memcmp(&out[0].data<float>()[i], &want.data<float>()[i], sizeof(float)) != 0;
      EXPECT_EQ(diffs, 0) << "of " << want.numel() << ": " << cc.c << " -> " << cc.oc << " k "
                          << cc.k << " stride " << cc.stride << " group " << cc.group << ", " << act
                          << ", " << impl << " vs " << pd.impl_info_str();
    }
}

// SiLU then the residual add (YOLOX's CSP shortcut, silu(conv(x)) + a) runs
// as one qtune pass after the conv on AVX-512 CPUs: with the addend written
// by another conv (oneDNN's layout, read in place) and as a plain graph input
// (reordered into the conv's layout first). Values as defined, both runs.
TEST(DnnlKernels, FusedConvSiluThenSumMatchesDefinition) {
  ConvCase p{1, 16, 20, 22, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  Tensor x = random_tensor({1, 16, 20, 22}, 30), w = random_tensor({24, 16, 3, 3}, 31),
         b = random_tensor({24}, 32), w0 = random_tensor({24, 16, 3, 3}, 33),
         b0 = random_tensor({24}, 34), a_in = random_tensor({1, 24, 20, 22}, 35);
  for (bool addend_from_conv : {true, false}) {
    auto g = std::make_shared<Graph>();
    g->source = "test";
    g->inputs.push_back({.name = "X", .dtype = DType::f32});
    g->initializers = {{"W", w}, {"B", b}, {"W0", w0}, {"B0", b0}};
    Node c = pad1("FusedConv");
    c.name = "c", c.inputs = {"X", "W", "B", "A"}, c.outputs = {"Y"};
    c.attrs["activation"] = std::string("SiLU");
    c.attrs["sum"] = int64_t{1};
    if (addend_from_conv) {
      Node c0 = pad1("Conv");
      c0.name = "c0", c0.inputs = {"X", "W0", "B0"}, c0.outputs = {"A"};
      g->nodes.push_back(c0);
    } else {
      g->inputs.push_back({.name = "A", .dtype = DType::f32});
    }
    g->nodes.push_back(c);
    g->outputs.push_back({.name = "Y", .dtype = DType::f32});
    Tensor addend = addend_from_conv ? naive_conv(p, x, w0, b0) : a_in;
    Tensor ref = naive_conv(p, x, w, b);
    for (int64_t i = 0; i < ref.numel(); ++i) {
      const double v = ref.data<float>()[i];
      ref.data<float>()[i] = static_cast<float>(v / (1.0 + std::exp(-v)) + addend.data<float>()[i]);
    }
    Executor ex(g, {.threads = 2, .profile = true});
    std::unordered_map<std::string, Tensor> in{{"X", x}};
    if (!addend_from_conv)
      in["A"] = a_in;
    for (int run = 0; run < 2; ++run)
      EXPECT_LT(test::max_abs_diff(ex.run(in)[0], ref), 1e-4) << addend_from_conv << run;
    for (const NodeProfile &n : ex.profile())
      if (n.name == "c")
        EXPECT_EQ(n.implementation.find("SiLU+add pass") != std::string::npos,
                  kernels::silu_inplace_is_fast())
            << n.implementation;
  }
}

// A 3x3 stride-1 conv with constant weights, >= 64 channels and a >= 28x28
// map takes oneDNN's Winograd kernel where the CPU has one (AVX-512), not in
// an int8 graph; same values as the definition within f32 transform
// rounding. Smaller maps keep the direct conv (Winograd's larger weights lost
// there).
TEST(DnnlKernels, ConvWinogradShapeMatchesDefinition) {
  Tensor w = random_tensor({64, 64, 3, 3}, 11), b = random_tensor({64}, 12);
  for (int64_t hw : {28, 14}) {
    ConvCase p{1, 64, hw, hw, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    Tensor x = random_tensor({1, 64, hw, hw}, 10);
    const std::string impl = conv_implementation(pad1("Conv"), x, w, b);
    EXPECT_EQ(impl.find("wino") != std::string::npos, has_avx512_core() && hw == 28)
        << hw << ": " << impl;
    EXPECT_EQ(conv_implementation(pad1("Conv"), x, w, b, true).find("wino"), std::string::npos);
    auto y = run_single(pad1("Conv"), x, {{"W", w}, {"B", b}});
    EXPECT_LT(test::max_abs_diff(y[0], naive_conv(p, x, w, b)), 1e-4) << hw;
  }
}

// ResNet-50's late-stage shapes on channels-last maps (convs' outputs), two
// images, take qtune's GEMM-tile conv (conv_gemm_f32.h) where the CPU has
// AVX-512: a stride-2 1x1 (14x14 -> 7x7, ResNet's downsample), a 3x3 with
// Relu, a 1x1 with the residual sum + Relu; not in an int8 graph (oneDNN's
// bits there), not for weights under 1 MB. Values as defined, two runs (the
// in-place addend).
TEST(DnnlKernels, GemmTileConvOnLateResNetShapesMatchesDefinition) {
  ConvCase stem{2, 16, 14, 14, 128, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0},
      down{2, 128, 14, 14, 2048, 1, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0},
      c3{2, 2048, 7, 7, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
      c1{2, 128, 7, 7, 2048, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0};
  // Small weights keep the sums near 1: a relative f32 bound stays tight.
  const auto weights = [](Shape s, uint64_t seed, float scale) {
    Tensor t = random_tensor(s, seed);
    for (int64_t i = 0; i < t.numel(); ++i)
      t.data<float>()[i] *= scale;
    return t;
  };
  Tensor x = random_tensor({2, 16, 14, 14}, 40), w0 = weights({128, 16, 1, 1}, 41, 0.2f),
         wd = weights({2048, 128, 1, 1}, 42, 0.05f), w3 = weights({128, 2048, 3, 3}, 43, 0.005f),
         w1 = weights({2048, 128, 1, 1}, 44, 0.05f), b0 = random_tensor({128}, 46),
         bd = random_tensor({2048}, 47), b3 = random_tensor({128}, 48),
         b1 = random_tensor({2048}, 49);
  const auto relu = [](Tensor t) {
    for (int64_t i = 0; i < t.numel(); ++i)
      t.data<float>()[i] = std::max(t.data<float>()[i], 0.f);
    return t;
  };
  // s = relu(stem(x)); d = relu(down(s)); h = relu(c3(d)); y = relu(relu(c1(h)) + d)
  const Tensor s = relu(naive_conv(stem, x, w0, b0)), d = relu(naive_conv(down, s, wd, bd)),
               h = relu(naive_conv(c3, d, w3, b3));
  Tensor ref = naive_conv(c1, h, w1, b1);
  for (int64_t i = 0; i < ref.numel(); ++i)
    ref.data<float>()[i] = std::max(std::max(ref.data<float>()[i], 0.f) + d.data<float>()[i], 0.f);
  for (bool quantized : {false, true}) {
    auto g = std::make_shared<Graph>();
    g->source = "test";
    g->inputs.push_back({.name = "X", .dtype = DType::f32});
    g->initializers = {{"W0", w0}, {"B0", b0}, {"WD", wd}, {"BD", bd},
                       {"W3", w3}, {"B3", b3}, {"W1", w1}, {"B1", b1}};
    const auto conv = [&](const char *name, std::vector<std::string> ins, const char *out,
                          int64_t pad, int64_t stride) {
      Node n;
      n.op_type = "FusedConv", n.domain = "qtune", n.name = name;
      n.inputs = std::move(ins), n.outputs = {out};
      n.attrs["pads"] = std::vector<int64_t>{pad, pad, pad, pad};
      n.attrs["strides"] = std::vector<int64_t>{stride, stride};
      n.attrs["activation"] = std::string("Relu");
      return n;
    };
    g->nodes.push_back(conv("stem", {"X", "W0", "B0"}, "S", 0, 1));
    g->nodes.push_back(conv("down", {"S", "WD", "BD"}, "D", 0, 2));
    g->nodes.push_back(conv("c3", {"D", "W3", "B3"}, "H", 1, 1));
    Node c1n = conv("c1", {"H", "W1", "B1", "D"}, "Y", 0, 1);
    c1n.attrs["sum"] = int64_t{1};
    c1n.attrs["post_activation"] = std::string("Relu");
    g->nodes.push_back(c1n);
    g->outputs.push_back({.name = "Y", .dtype = DType::f32});
    if (quantized) { // a QuantizeLinear of the output: an int8 graph keeps oneDNN's bits
      Node q;
      q.name = "q", q.op_type = "QuantizeLinear", q.inputs = {"Y", "s"}, q.outputs = {"Yq"};
      g->nodes.push_back(q);
      g->initializers["s"] = Tensor::from_vector<float>({}, {0.1f});
      g->outputs.push_back({.name = "Yq", .dtype = DType::u8});
    }
    Executor ex(g, {.threads = 2, .profile = true});
    for (int run = 0; run < 2; ++run)
      EXPECT_LT(test::max_abs_diff(ex.run({{"X", x}})[0], ref), 5e-5) << quantized << run;
    const bool avx512 = kernels::ConvGemmF32::available() && !quantized;
    for (const NodeProfile &n : ex.profile()) {
      const bool gemm = n.implementation.find("gemm-tile") != std::string::npos;
      // stem: 8 KB of weights; the others 1-9 MB.
      const bool want = avx512 && n.name != "stem" && n.name != "q";
      EXPECT_EQ(gemm, want) << n.name << ": " << n.implementation;
    }
  }
}

// A plain 3-channel image is read as NCHW by oneDNN's first-layer kernel (no
// reorder of the image) and its 16-channel output feeds the next conv without
// a reorder (nChw16c with one block is nhwc): values as defined.
TEST(DnnlKernels, ImageConvChainMatchesDefinition) {
  ConvCase p1{1, 3, 30, 34, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  ConvCase p2{1, 16, 30, 34, 16, 3, 3, 16, 1, 1, 1, 1, 1, 1, 1, 1};
  Tensor x = random_tensor({1, 3, 30, 34}, 20), w1 = random_tensor({16, 3, 3, 3}, 21),
         b1 = random_tensor({16}, 22), w2 = random_tensor({16, 1, 3, 3}, 23),
         b2 = random_tensor({16}, 24);
  auto g = std::make_shared<Graph>();
  g->source = "test";
  g->inputs.push_back({.name = "X", .dtype = DType::f32});
  g->initializers = {{"W1", w1}, {"B1", b1}, {"W2", w2}, {"B2", b2}};
  Node c1 = pad1("Conv"), c2 = pad1("Conv");
  c1.name = "c1", c1.inputs = {"X", "W1", "B1"}, c1.outputs = {"H"};
  c2.name = "c2", c2.inputs = {"H", "W2", "B2"}, c2.outputs = {"Y"};
  c2.attrs["group"] = int64_t{16};
  g->nodes = {c1, c2};
  g->outputs.push_back({.name = "Y", .dtype = DType::f32});
  Executor ex(g, {.threads = 2});
  auto y = ex.run({{"X", x}});
  Tensor ref = naive_conv(p2, naive_conv(p1, x, w1, b1), w2, b2);
  EXPECT_LT(test::max_abs_diff(y[0], ref), 1e-4);
}

// Constant MatMul weights are packed once; a batched A, a broadcast batch and
// each new input shape (one executor: the kernel re-prepares, the packed
// weights are kept or re-packed) all read them right.
TEST(DnnlKernels, MatMulPackedConstantWeightsMatchDefinition) {
  Tensor bw = random_tensor({40, 24}, 30);
  auto g = std::make_shared<Graph>();
  g->source = "test";
  g->inputs.push_back({.name = "A", .dtype = DType::f32});
  g->initializers["Bw"] = bw;
  Node m;
  m.name = "m", m.op_type = "MatMul", m.inputs = {"A", "Bw"}, m.outputs = {"Y"};
  g->nodes = {m};
  g->outputs.push_back({.name = "Y", .dtype = DType::f32});
  Executor ex(g, {.threads = 1});
  for (Shape a_shape : {Shape{1, 40}, Shape{5, 40}, Shape{2, 3, 40}, Shape{1, 40}}) {
    Tensor a = random_tensor(a_shape, 31);
    auto y = ex.run({{"A", a}});
    const int64_t rows = a.numel() / 40;
    Shape out_shape = a_shape;
    out_shape.back() = 24;
    Tensor ref(DType::f32, out_shape);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < 24; ++j) {
        double acc = 0;
        for (int64_t k = 0; k < 40; ++k)
          acc += double(a.data<float>()[r * 40 + k]) * bw.data<float>()[k * 24 + j];
        ref.data<float>()[r * 24 + j] = float(acc);
      }
    ASSERT_EQ(y[0].shape(), out_shape);
    EXPECT_LT(test::max_abs_diff(y[0], ref), 1e-4) << shape_str(a_shape);
  }
}

// Max or average pooling by definition (exclude padding from the divisor unless asked).
Tensor naive_pool(const Tensor &x, bool max, int64_t k, int64_t s, int64_t pad, bool ceil_mode,
                  bool include_pad) {
  int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  auto out_size = [&](int64_t in) {
    int64_t span = in + 2 * pad - k;
    int64_t o = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
    if (ceil_mode && (o - 1) * s >= in + pad)
      --o;
    return o;
  };
  int64_t oh = out_size(h), ow = out_size(w);
  Tensor y(DType::f32, {n, c, oh, ow});
  for (int64_t nc = 0; nc < n * c; ++nc)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        double acc = max ? -INFINITY : 0;
        int count = 0;
        for (int64_t a = 0; a < k; ++a)
          for (int64_t b = 0; b < k; ++b) {
            int64_t yi = i * s - pad + a, xj = j * s - pad + b;
            bool inside = yi >= 0 && yi < h && xj >= 0 && xj < w;
            if (include_pad && yi < h + pad && xj < w + pad)
              ++count;
            if (!inside)
              continue;
            float v = x.data<float>()[(nc * h + yi) * w + xj];
            acc = max ? std::max<double>(acc, v) : acc + v;
            if (!include_pad)
              ++count;
          }
        y.data<float>()[(nc * oh + i) * ow + j] = float(max ? acc : acc / count);
      }
  return y;
}

void check_pool(bool max, bool ceil_mode, bool include_pad) {
  Tensor x = random_tensor({1, 5, 12, 11}, 7);
  Node node;
  node.op_type = max ? "MaxPool" : "AveragePool";
  node.attrs["kernel_shape"] = std::vector<int64_t>{3, 3};
  node.attrs["strides"] = std::vector<int64_t>{2, 2};
  node.attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  node.attrs["ceil_mode"] = int64_t(ceil_mode);
  node.attrs["count_include_pad"] = int64_t(include_pad);
  auto y = run_single(node, x, {});
  Tensor ref = naive_pool(x, max, 3, 2, 1, ceil_mode, include_pad);
  ASSERT_EQ(y[0].shape(), ref.shape());
  EXPECT_LT(test::max_abs_diff(y[0], ref), 1e-5);
}

TEST(DnnlKernels, MaxPool) {
  check_pool(true, false, false);
}
TEST(DnnlKernels, MaxPoolCeil) {
  check_pool(true, true, false);
}
TEST(DnnlKernels, AveragePoolExcludePad) {
  check_pool(false, false, false);
}
TEST(DnnlKernels, AveragePoolIncludePad) {
  check_pool(false, false, true);
}

// Concat of conv outputs (blocked oneDNN layouts) and a plain graph input,
// read by another conv and also a graph output: both against naive loops.
Tensor naive_concat_c(const std::vector<const Tensor *> &parts) {
  const Shape &s = parts[0]->shape();
  int64_t ct = 0;
  for (const Tensor *t : parts)
    ct += t->shape()[1];
  Tensor y(DType::f32, {s[0], ct, s[2], s[3]});
  int64_t hw = s[2] * s[3], off = 0;
  for (const Tensor *t : parts) {
    int64_t c = t->shape()[1];
    for (int64_t b = 0; b < s[0]; ++b)
      for (int64_t i = 0; i < c * hw; ++i)
        y.data<float>()[(b * ct + off) * hw + i] = t->data<float>()[b * c * hw + i];
    off += c;
  }
  return y;
}

TEST(DnnlKernels, ConcatOfBlockedConvOutputs) {
  ConvCase a{2, 8, 12, 12, 16, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0};
  ConvCase d{2, 8, 12, 12, 8, 3, 3, 8, 1, 1, 1, 1, 1, 1, 1, 1}; // depthwise
  ConvCase c{2, 32, 12, 12, 24, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0};
  Tensor x = random_tensor({2, 8, 12, 12}, 1);
  Tensor wa = random_tensor({16, 8, 1, 1}, 2), ba = random_tensor({16}, 3);
  Tensor wd = random_tensor({8, 1, 3, 3}, 4), bd = random_tensor({8}, 5);
  Tensor wc = random_tensor({24, 32, 1, 1}, 6), bc = random_tensor({24}, 7);
  auto g = std::make_shared<Graph>();
  g->source = "test";
  g->inputs.push_back({.name = "X", .dtype = DType::f32});
  for (auto &[k, t] : std::map<std::string, Tensor>{
           {"wa", wa}, {"ba", ba}, {"wd", wd}, {"bd", bd}, {"wc", wc}, {"bc", bc}})
    g->initializers[k] = t;
  auto conv = [&](const std::string &name, std::vector<std::string> in, int64_t group,
                  std::vector<int64_t> pads) {
    Node n;
    n.name = n.outputs.emplace_back(name);
    n.op_type = "Conv";
    n.inputs = std::move(in);
    n.attrs["group"] = group;
    n.attrs["pads"] = pads;
    return n;
  };
  g->nodes.push_back(conv("A", {"X", "wa", "ba"}, 1, {0, 0, 0, 0}));
  g->nodes.push_back(conv("D", {"X", "wd", "bd"}, 8, {1, 1, 1, 1}));
  Node cat;
  cat.name = "cat";
  cat.op_type = "Concat";
  cat.inputs = {"A", "X", "D"};
  cat.outputs = {"C"};
  cat.attrs["axis"] = int64_t{-3};
  g->nodes.push_back(cat);
  g->nodes.push_back(conv("Y", {"C", "wc", "bc"}, 1, {0, 0, 0, 0}));
  g->outputs.push_back({.name = "Y", .dtype = DType::f32});
  g->outputs.push_back({.name = "C", .dtype = DType::f32});
  Executor ex(g, {.threads = 2});
  for (int round = 0; round < 2; ++round) { // planning run, then the arena
    auto y = ex.run({{"X", x}});
    Tensor ya = naive_conv(a, x, wa, ba), yd = naive_conv(d, x, wd, bd);
    Tensor cat_ref = naive_concat_c({&ya, &x, &yd});
    ASSERT_EQ(y[1].shape(), cat_ref.shape());
    EXPECT_LT(test::max_abs_diff(y[1], cat_ref), 1e-4);
    EXPECT_LT(test::max_abs_diff(y[0], naive_conv(c, cat_ref, wc, bc)), 1e-3);
  }
}

void check_gemm(bool ta, bool tb, float alpha, float beta, Shape c_shape) {
  int64_t m = 5, k = 7, n = 6;
  Tensor a = random_tensor(ta ? Shape{k, m} : Shape{m, k}, 8);
  Tensor b = random_tensor(tb ? Shape{n, k} : Shape{k, n}, 9);
  Tensor c = random_tensor(c_shape, 10);
  Node node;
  node.op_type = "Gemm";
  node.attrs["transA"] = int64_t(ta);
  node.attrs["transB"] = int64_t(tb);
  node.attrs["alpha"] = alpha;
  node.attrs["beta"] = beta;
  auto y = run_single(node, a, {{"B", b}, {"C", c}});
  Tensor ref(DType::f32, {m, n});
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0;
      for (int64_t p = 0; p < k; ++p)
        acc += double(a.data<float>()[ta ? p * m + i : i * k + p]) *
               b.data<float>()[tb ? j * k + p : p * n + j];
      int64_t ci = c_shape.size() == 2 && c_shape[0] == m ? i : 0;
      int64_t cj = !c_shape.empty() && c_shape.back() == n ? j : 0;
      double cv = c.data<float>()[ci * (c_shape.empty() || c_shape.back() == 1 ? 1 : n) + cj];
      ref.data<float>()[i * n + j] = float(alpha * acc + beta * cv);
    }
  EXPECT_LT(test::max_abs_diff(y[0], ref), 1e-4);
}

TEST(DnnlKernels, GemmPlain) {
  check_gemm(false, false, 1.f, 1.f, {6});
}
TEST(DnnlKernels, GemmTransposedScaled) {
  check_gemm(true, true, 0.5f, 2.f, {5, 6});
}
TEST(DnnlKernels, GemmTransBColumnC) {
  check_gemm(false, true, 1.f, 0.25f, {5, 1});
}

} // namespace
} // namespace qtune

namespace qtune {
namespace {

// same_bytes: layouts that place every element at the same byte, by table.
TEST(DnnlUtil, SameBytesComparesPhysicalLayouts) {
  using tag = dnnl::memory::format_tag;
  const auto f32 = dnnl::memory::data_type::f32;
  struct Case {
    dnnl::memory::dims dims;
    tag a, b;
    bool same;
  } cases[] = {
      {{1, 16, 5, 7}, tag::nChw16c, tag::nhwc, true},  // one channel block = channels-last
      {{1, 32, 5, 7}, tag::nChw16c, tag::nhwc, false}, // two blocks: not
      {{1, 8, 5, 7}, tag::nChw16c, tag::nhwc, false},  // padded to 16: sizes differ
      {{1, 1, 5, 7}, tag::nchw, tag::nhwc, true},      // one channel
      {{1, 3, 5, 7}, tag::nchw, tag::nhwc, false},
      {{2, 16, 5, 7}, tag::nChw16c, tag::nhwc, true},
      {{1, 16, 1, 1}, tag::nchw, tag::nhwc, true}, // 1x1 map
      {{1, 16, 5, 7}, tag::nchw, tag::nchw, true},
      {{1, 16, 5, 7}, tag::nChw8c, tag::nChw16c, false},
  };
  for (const Case &c : cases) {
    dnnl::memory::desc a(c.dims, f32, c.a), b(c.dims, f32, c.b);
    EXPECT_EQ(dnnl_util::same_bytes(a, b), c.same) << c.dims[1] << "x" << c.dims[2];
    EXPECT_EQ(dnnl_util::same_bytes(b, a), c.same);
  }
}

} // namespace
} // namespace qtune

namespace qtune {
namespace {

// Residual blocks as the optimizer fuses them: y_k = Relu(conv(conv(y_{k-1})) +
// y_{k-1}), the add a FusedConv sum. When the sum conv reads its addend last,
// the executor gives output and addend one buffer (no copy); when a later node
// still reads the addend (read_addend_later), it must not. Outputs against
// double-precision loops on every run (the first plans the arena).
struct ResidualChain {
  ConvCase p{1, 32, 8, 8, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  std::shared_ptr<Graph> g = std::make_shared<Graph>();
  std::vector<Tensor> w, b;

  explicit ResidualChain(bool read_addend_later) {
    g->source = "residual chain";
    g->inputs.push_back({.name = "X", .dtype = DType::f32});
    for (int k = 0; k < 5; ++k) {
      w.push_back(random_tensor({32, 32, 3, 3}, 10 + k));
      b.push_back(random_tensor({32}, 20 + k));
      for (float &v : w.back().span<float>())
        v *= 0.1f; // keep the chain's values O(1)
      g->initializers["W" + std::to_string(k)] = w.back();
      g->initializers["B" + std::to_string(k)] = b.back();
    }
    add_conv(0, "X", "y0", "");
    add_conv(1, "y0", "t1", "");
    add_conv(2, "t1", "y1", "y0");
    add_conv(3, "y1", "t2", "");
    add_conv(4, "t2", "y2", "y1");
    std::string out = "y2";
    if (read_addend_later) {
      Node add;
      add.name = "late", add.op_type = "Add", add.inputs = {"y2", "y1"}, add.outputs = {"Z"};
      g->nodes.push_back(add);
      out = "Z";
    }
    g->outputs.push_back({.name = out, .dtype = DType::f32});
  }

  void add_conv(int k, const std::string &x, const std::string &y, const std::string &sum) {
    Node n = pad1(sum.empty() ? "Conv" : "FusedConv");
    n.name = "c" + std::to_string(k);
    n.inputs = {x, "W" + std::to_string(k), "B" + std::to_string(k)};
    if (!sum.empty()) {
      n.inputs.push_back(sum);
      n.attrs["sum"] = int64_t{1};
      n.attrs["post_activation"] = std::string("Relu");
    }
    n.outputs = {y};
    g->nodes.push_back(n);
  }

  Tensor reference(const Tensor &x, bool read_addend_later) const {
    auto block = [&](const Tensor &in, int k) {
      Tensor t = naive_conv(p, naive_conv(p, in, w[k], b[k]), w[k + 1], b[k + 1]);
      for (int64_t i = 0; i < t.numel(); ++i)
        t.data<float>()[i] = std::max(t.data<float>()[i] + in.data<float>()[i], 0.f);
      return t;
    };
    Tensor y0 = naive_conv(p, x, w[0], b[0]);
    Tensor y1 = block(y0, 1), y2 = block(y1, 3);
    if (read_addend_later)
      for (int64_t i = 0; i < y2.numel(); ++i)
        y2.data<float>()[i] += y1.data<float>()[i];
    return y2;
  }
};

TEST(Executor, ResidualSumTakesOverItsAddendOnlyWhenReadLast) {
  for (bool later : {false, true}) {
    ResidualChain chain(later);
    Tensor x = random_tensor({1, 32, 8, 8}, 7);
    Tensor ref = chain.reference(x, later);
    Executor ex(chain.g, {.threads = 2});
    for (int run = 0; run < 3; ++run) {
      auto y = ex.run({{"X", x}});
      ASSERT_EQ(y[0].shape(), ref.shape());
      EXPECT_LT(test::max_abs_diff(y[0], ref), 1e-3) << "run " << run << " later " << later;
    }
    // Without the late reader y0, y1 and y2 share one buffer, t1 and t2 a
    // second, and the plain copy of the graph output (when oneDNN wrote it
    // blocked) a third: the five conv outputs and that copy are the values,
    // three fewer buffers than values. Without sharing y0, t1 and y1 are alive
    // together (one more). With the late reader, sharing y1 and y2 would have
    // made Z = 2 y2 above.
    const size_t one = 32 * 8 * 8 * sizeof(float);
    if (!later)
      EXPECT_EQ(ex.arena_bytes(), ex.activation_bytes() - 3 * one);
  }
}

} // namespace
} // namespace qtune
