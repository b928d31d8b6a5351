#pragma once
// Set-up shared by the recipe tests (bias correction, switch graph, cross-layer
// equalization): a graph holding one f32 image input `x` [1, C, H, W] and one
// output `y`, Conv nodes over named initializers, and calibration over batches.
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/graph.h"
#include "quant/calibrate.h"

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

} // namespace qtune::test
