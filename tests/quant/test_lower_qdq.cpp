// The QDQ lowering against the unlowered QDQ graph: a small conv chain
// (conv+relu, int8 maxpool, conv + residual add + relu, conv with f32 output)
// run once as written (QuantizeLinear/DequantizeLinear kernels, float Conv /
// Relu / Add / MaxPool computed here) and once lowered to qtune int8 kernels.
#include <cmath>
#include <gtest/gtest.h>
#include <random>

#include "quant/lower_qdq.h"
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

struct Builder {
  Graph g;
  std::mt19937 rng{7};

  void node(const std::string &op, std::vector<std::string> in, std::string out,
            std::map<std::string, Attribute> attrs = {}) {
    Node n;
    n.name = out + "_node";
    n.op_type = op;
    n.inputs = std::move(in);
    n.outputs = {std::move(out)};
    n.attrs = std::move(attrs);
    g.nodes.push_back(std::move(n));
  }
  std::string scalar_f(const std::string &name, float v) {
    g.initializers[name] = Tensor::scalar_f32(v);
    return name;
  }
  std::string scalar_q(const std::string &name, DType t, int v) {
    Tensor z(t, {});
    if (t == DType::u8)
      z.data<uint8_t>()[0] = static_cast<uint8_t>(v);
    else
      z.data<int8_t>()[0] = static_cast<int8_t>(v);
    g.initializers[name] = z;
    return name;
  }
  // Q then DQ of `x` (u8 with zero point); returns the DQ output.
  std::string qdq(const std::string &x, float scale, int zp) {
    node("QuantizeLinear", {x, scalar_f(x + "_s", scale), scalar_q(x + "_z", DType::u8, zp)},
         x + "_q");
    node("DequantizeLinear", {x + "_q", x + "_s", x + "_z"}, x + "_dq");
    return x + "_dq";
  }
  // Per-channel i8 weight [O, C, K, K] behind a DQ (axis 0).
  std::string weight(const std::string &name, int64_t o, int64_t c, int64_t k) {
    Tensor w(DType::i8, {o, c, k, k});
    // 7-bit values: exact on CPUs with and without VNNI (see int8_util.h).
    std::uniform_int_distribution<int> d(-64, 64);
    for (auto &v : w.span<int8_t>())
      v = static_cast<int8_t>(d(rng));
    std::vector<float> s(o);
    std::uniform_real_distribution<float> u(0.002f, 0.006f);
    for (auto &v : s)
      v = u(rng);
    g.initializers[name] = w;
    g.initializers[name + "_s"] = Tensor::from_vector<float>({o}, s);
    node("DequantizeLinear", {name, name + "_s"}, name + "_dq", {{"axis", int64_t{0}}});
    return name + "_dq";
  }
};

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
  EXPECT_EQ(report.qconv, 3) << report.summary();
  EXPECT_EQ(report.qpool, 1) << report.summary();
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
  EXPECT_EQ(report.qconv, 0);
  EXPECT_EQ(lowered.nodes.size(), b.g.nodes.size());
}

} // namespace
} // namespace qtune
