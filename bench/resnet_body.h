#pragma once
// The ResNet-50-style conv body of bench_bf16 and bench_int8: 224x224 input,
// bottleneck stages 3-4-6-3 with random He-initialised weights, a stride-2 3x3
// conv in place of the stem max-pool and no classifier head (the body is >97%
// of ResNet-50's FLOPs).
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace qtune::bench {

struct ResNetBody {
  Graph g;
  std::mt19937 rng{1};
  // bf16: value_info for every tensor, as ONNX shape inference would give
  // (the residual fusion needs the Add operand shapes).
  bool record_shapes = false;
  std::map<std::string, Shape> shapes;
  std::vector<std::string> quantize_points{"x"}; // int8: tensors that get Q/DQ

  void record(const std::string &v, const Shape &s) {
    shapes[v] = s;
    ValueInfo vi;
    vi.name = v;
    vi.dtype = DType::f32;
    vi.has_shape = true;
    for (int64_t d : s) {
      Dim dim;
      dim.value = d;
      vi.dims.push_back(dim);
    }
    g.value_info[v] = vi;
  }

  std::string conv(const std::string &x, int64_t cin, int64_t cout, int64_t k, int64_t stride,
                   const std::string &name) {
    Tensor w(DType::f32, {cout, cin, k, k});
    std::normal_distribution<float> d(0.f, std::sqrt(2.f / float(cin * k * k)));
    for (float &v : w.span<float>())
      v = d(rng);
    Tensor b(DType::f32, {cout});
    for (float &v : b.span<float>())
      v = 0.01f * d(rng);
    g.initializers[name + "_w"] = w;
    g.initializers[name + "_b"] = b;
    Node n;
    n.name = name;
    n.op_type = "Conv";
    n.inputs = {x, name + "_w", name + "_b"};
    n.outputs = {name};
    n.attrs["strides"] = std::vector<int64_t>{stride, stride};
    int64_t p = k / 2;
    n.attrs["pads"] = std::vector<int64_t>{p, p, p, p};
    g.nodes.push_back(n);
    if (record_shapes) {
      Shape in = shapes.at(x);
      record(name,
             {in[0], cout, (in[2] + 2 * p - k) / stride + 1, (in[3] + 2 * p - k) / stride + 1});
    }
    return name;
  }

  std::string op(const std::string &type, std::vector<std::string> in, const std::string &out) {
    Node n;
    n.name = out;
    n.op_type = type;
    n.inputs = std::move(in);
    n.outputs = {out};
    g.nodes.push_back(n);
    if (record_shapes)
      record(out, shapes.at(g.nodes.back().inputs[0]));
    return out;
  }

  std::string relu(const std::string &x) {
    quantize_points.push_back(x + "_relu");
    return op("Relu", {x}, x + "_relu");
  }

  std::string bottleneck(const std::string &x, int64_t cin, int64_t mid, int64_t cout,
                         int64_t stride, const std::string &name) {
    std::string a = relu(conv(x, cin, mid, 1, 1, name + "_a"));
    std::string b = relu(conv(a, mid, mid, 3, stride, name + "_b"));
    std::string c = conv(b, mid, cout, 1, 1, name + "_c");
    std::string shortcut = x;
    if (stride != 1 || cin != cout) {
      shortcut = conv(x, cin, cout, 1, stride, name + "_proj");
      quantize_points.push_back(shortcut);
    }
    return relu(op("Add", {c, shortcut}, name + "_add"));
  }

  // Stem and the four stages on input `x` (with record_shapes, record(x) first);
  // returns the name of the output tensor.
  std::string body(const std::string &x) {
    std::string y = relu(conv(x, 3, 64, 7, 2, "stem"));
    y = relu(conv(y, 64, 64, 3, 2, "stem_down"));
    int64_t cin = 64;
    const int64_t blocks[4] = {3, 4, 6, 3}, mids[4] = {64, 128, 256, 512};
    for (int s = 0; s < 4; ++s)
      for (int64_t i = 0; i < blocks[s]; ++i) {
        int64_t cout = mids[s] * 4;
        y = bottleneck(y, cin, mids[s], cout, i == 0 && s > 0 ? 2 : 1,
                       "s" + std::to_string(s) + "b" + std::to_string(i));
        cin = cout;
      }
    return y;
  }
};

} // namespace qtune::bench
