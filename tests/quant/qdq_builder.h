#pragma once
// Small QDQ graphs for the lowering tests: a builder for Q/DQ pairs, int8
// weights behind DequantizeLinear and value_info, and a runner that executes
// a QDQ graph and its lowered form on the same inputs.
#include <cmath>
#include <gtest/gtest.h>
#include <map>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/graph.h"
#include "runtime/executor.h"

namespace qtune {

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
  // 2-D i8 weight [rows, cols] behind a DQ, per-channel on `axis`.
  std::string weight2d(const std::string &name, int64_t rows, int64_t cols, int64_t axis) {
    Tensor w(DType::i8, {rows, cols});
    std::uniform_int_distribution<int> d(-64, 64);
    for (auto &v : w.span<int8_t>())
      v = static_cast<int8_t>(d(rng));
    std::vector<float> s(axis == 0 ? rows : cols);
    std::uniform_real_distribution<float> u(0.01f, 0.03f);
    for (auto &v : s)
      v = u(rng);
    g.initializers[name] = w;
    g.initializers[name + "_s"] = Tensor::from_vector<float>({int64_t(s.size())}, s);
    node("DequantizeLinear", {name, name + "_s"}, name + "_dq", {{"axis", axis}});
    return name + "_dq";
  }
  Tensor random_input(Shape shape, float mean, float stddev) {
    Tensor t(DType::f32, std::move(shape));
    std::normal_distribution<float> nd(mean, stddev);
    for (float &v : t.span<float>())
      v = nd(rng);
    return t;
  }
  void shape(const std::string &name, Shape dims) {
    ValueInfo vi{name, DType::f32, {}, true};
    for (int64_t d : dims)
      vi.dims.push_back(Dim{d, ""});
    g.value_info[name] = vi;
  }
  void input(const std::string &name) { g.inputs.push_back({name, DType::f32, {}, false}); }
  void output(const std::string &name) { g.outputs.push_back({name, DType::f32, {}, false}); }
};

inline double max_abs_diff(const Tensor &a, const Tensor &b) {
  EXPECT_EQ(a.shape(), b.shape());
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i)
    m = std::max(m, std::abs(a.get_f64(i) - b.get_f64(i)));
  return m;
}

// The QDQ graph and its lowered form run by the executor on the same inputs.
// The lowered graph runs twice: its second run uses the planned arena (where
// e.g. a residual QConv writes over its addend), and must repeat the first.
inline std::pair<std::vector<Tensor>, std::vector<Tensor>>
run_both(const Graph &qdq, const Graph &lowered,
         const std::unordered_map<std::string, Tensor> &inputs) {
  Executor a(std::make_shared<const Graph>(qdq), {.threads = 1});
  Executor b(std::make_shared<const Graph>(lowered), {.threads = 1});
  std::vector<Tensor> first = b.run(inputs), second = b.run(inputs);
  for (size_t i = 0; i < first.size() && i < second.size(); ++i)
    EXPECT_EQ(max_abs_diff(first[i], second[i]), 0.0) << "output " << i << ", planned arena";
  return {a.run(inputs), second};
}

} // namespace qtune
