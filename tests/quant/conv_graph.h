#pragma once
// Set-up shared by the recipe tests (bias correction, switch graph, cross-layer
// equalization): a graph holding one f32 image input `x` [1, C, H, W] and one
// output `y`, Conv nodes over named initializers, and calibration over batches.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "data/dataset.h"
#include "ir/graph.h"
#include "quant/calibrate.h"
#include "runtime/executor.h"

namespace qtune::test {

using Batch = std::unordered_map<std::string, Tensor>;

// No nodes yet: input x [1, c, h, w] f32, output y f32 (shape left to inference).
inline Graph graph_with_io(const std::string &name, int64_t c, int64_t h, int64_t w) {
  Graph g;
  g.name = name;
  g.opset = 13;
  ValueInfo x;
  x.name = "x";
  x.dtype = DType::f32;
  x.dims = {{1, ""}, {c, ""}, {h, ""}, {w, ""}};
  x.has_shape = true;
  g.inputs = {x};
  ValueInfo y;
  y.name = "y";
  y.dtype = DType::f32;
  g.outputs = {y};
  return g;
}

// Conv `name`: in, weight (initializer name), optional bias ("" for none) -> out.
inline Node conv_node(const std::string &name, const std::string &in, const std::string &weight,
                      const std::string &bias, const std::string &out, int64_t k,
                      int64_t group = 1) {
  Node n;
  n.name = name;
  n.op_type = "Conv";
  n.inputs = {in, weight};
  if (!bias.empty())
    n.inputs.push_back(bias);
  n.outputs = {out};
  n.attrs["kernel_shape"] = std::vector<int64_t>{k, k};
  if (group != 1)
    n.attrs["group"] = group;
  return n;
}

// Min/max (and the observers' histograms) of every tensor over `batches`.
inline quant::CalibrationStats calibrate(const std::shared_ptr<const Graph> &g,
                                         const std::vector<Batch> &batches) {
  quant::Calibrator cal(g, {.threads = 1});
  for (const Batch &b : batches)
    cal.add(b);
  return cal.take();
}

inline Tensor random_tensor(Shape shape, float lo, float hi, std::mt19937 &rng) {
  std::uniform_real_distribution<float> u(lo, hi);
  Tensor t(DType::f32, std::move(shape));
  for (float &v : t.span<float>())
    v = u(rng);
  return t;
}

// Random conv weights [O, ...] in [-a, a), output channel o scaled by gain[o]:
// activations whose channels span very different ranges.
inline Tensor gained_weights(Shape shape, float a, const float *gain, std::mt19937 &rng) {
  Tensor w = random_tensor(std::move(shape), -a, a, rng);
  const int64_t per_o = w.numel() / w.dim(0);
  for (int64_t o = 0; o < w.dim(0); ++o)
    for (int64_t k = 0; k < per_o; ++k)
      w.data<float>()[o * per_o + k] *= gain[o];
  return w;
}

// `n` batches of input x [1, 4, 8, 8] uniform in [0, 1).
inline std::vector<Batch> random_images(int n, std::mt19937 &rng) {
  std::vector<Batch> out;
  for (int i = 0; i < n; ++i)
    out.push_back({{"x", random_tensor({1, 4, 8, 8}, 0.0f, 1.0f, rng)}});
  return out;
}

// Largest |a - b| over all outputs, relative to the largest |a|.
inline double relative_max_diff(const Graph &a, const Graph &b, const std::vector<Batch> &in) {
  Executor ea(std::make_shared<const Graph>(a), {.threads = 1});
  Executor eb(std::make_shared<const Graph>(b), {.threads = 1});
  double diff = 0, scale = 0;
  for (const Batch &x : in) {
    std::vector<Tensor> ra = ea.run(x), rb = eb.run(x);
    for (size_t o = 0; o < ra.size(); ++o)
      for (int64_t i = 0; i < ra[o].numel(); ++i) {
        diff = std::max(diff, double(std::fabs(ra[o].data<float>()[i] - rb[o].data<float>()[i])));
        scale = std::max(scale, double(std::fabs(ra[o].data<float>()[i])));
      }
  }
  return diff / scale;
}

// sum (q - f)^2 / sum f^2 of the first output over the batches.
inline double output_nmse(const Graph &fp32, const Graph &q, const std::vector<Batch> &in) {
  Executor ef(std::make_shared<const Graph>(fp32), {.threads = 1});
  Executor eq(std::make_shared<const Graph>(q), {.threads = 1});
  double err = 0, ref = 0;
  for (const Batch &x : in) {
    Tensor f = ef.run(x)[0], r = eq.run(x)[0];
    for (int64_t i = 0; i < f.numel(); ++i) {
      const double d = double(r.data<float>()[i]) - f.data<float>()[i];
      err += d * d;
      ref += double(f.data<float>()[i]) * f.data<float>()[i];
    }
  }
  return err / ref;
}

// Images first .. first+n-1 of an IDX set as one [n, 1, 28, 28] batch in [0, 1].
inline Tensor mnist_images(const data::MnistDataset &ds, size_t first, size_t n) {
  Tensor t(DType::f32, {int64_t(n), 1, 28, 28});
  for (size_t i = 0; i < n; ++i) {
    const data::Sample sample = ds.get(first + i); // by value: keep it alive
    const auto &px = sample.image->pixels;
    for (size_t p = 0; p < 28 * 28; ++p)
      t.data<float>()[i * 784 + p] = px[p] / 255.f;
  }
  return t;
}

} // namespace qtune::test
