// oneDNN-backed kernels against naive reference loops written from the ONNX
// op definitions: Conv (groups, dilations, pads, strides), pooling modes, Gemm flags.
#include <cmath>
#include <gtest/gtest.h>
#include <map>

#include "model_helpers.h"
#include "runtime/executor.h"
#include "runtime/kernel.h"
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

// SiLU runs as qtune's own pass after the conv, not as oneDNN's post-op:
// 32 x 40 x 40 outputs also take its OpenMP path.
TEST(DnnlKernels, FusedConvSiluMatchesDefinition) {
  ConvCase p{1, 16, 40, 40, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  Tensor x = random_tensor({1, 16, 40, 40}, 7), w = random_tensor({32, 16, 3, 3}, 8),
         b = random_tensor({32}, 9);
  Node node;
  node.op_type = "FusedConv";
  node.domain = "qtune";
  node.attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  node.attrs["activation"] = std::string("SiLU");
  auto y = run_single(node, x, {{"W", w}, {"B", b}});
  Tensor ref = naive_conv(p, x, w, b);
  for (float &v : ref.span<float>())
    v = static_cast<float>(v / (1.0 + std::exp(-double(v))));
  EXPECT_LT(test::max_abs_diff(y[0], ref), 1e-4);
}

// The implementation a Conv kernel picks for these inputs (after prepare).
std::string conv_implementation(const Tensor &x, const Tensor &w, const Tensor &b) {
  Node node;
  node.name = "c", node.op_type = "Conv", node.inputs = {"X", "W", "B"}, node.outputs = {"Y"};
  node.attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  auto k = make_kernel(node, KernelEnv{});
  std::vector<Tensor> in{x, w, b};
  k->infer(in);
  k->prepare(in);
  return k->implementation();
}

// A 3x3 stride-1 conv with >= 64 channels on a >= 28x28 map takes oneDNN's
// Winograd kernel where the CPU has one (AVX-512); same values as the
// definition within f32 transform rounding. Smaller maps keep the direct conv
// (Winograd's larger weights lost there).
TEST(DnnlKernels, ConvWinogradShapeMatchesDefinition) {
  const bool has_wino = dnnl::get_effective_cpu_isa() >= dnnl::cpu_isa::avx512_core;
  Tensor w = random_tensor({64, 64, 3, 3}, 11), b = random_tensor({64}, 12);
  for (int64_t hw : {28, 14}) {
    ConvCase p{1, 64, hw, hw, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    Tensor x = random_tensor({1, 64, hw, hw}, 10);
    const std::string impl = conv_implementation(x, w, b);
    EXPECT_EQ(impl.find("wino") != std::string::npos, has_wino && hw == 28) << hw << ": " << impl;
    Node node;
    node.op_type = "Conv";
    node.attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
    auto y = run_single(node, x, {{"W", w}, {"B", b}});
    EXPECT_LT(test::max_abs_diff(y[0], naive_conv(p, x, w, b)), 1e-4) << hw;
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
