// Conv2D, DepthwiseConv2dNative, _FusedConv2D, FusedDepthwiseConv2dNative ->
// ONNX Conv between NHWC<->NCHW Transposes, weights HWIO -> OIHW (depthwise:
// HWCM -> (C*M)1HW, group C). BiasAdd and inference FusedBatchNorm fold into
// the conv they follow when they are its only reader; otherwise BiasAdd is an
// Add and FusedBatchNorm a BatchNormalization.
#include <cmath>
#include <fmt/format.h>

#include "frontends/tensorflow/ops/layout.h"

namespace qtune::tf {

namespace {

// Filter -> OIHW initializer name (constant filters are transposed at import).
std::string conv_weights(ConvertContext &c, bool depthwise, int64_t &groups) {
  const Tensor *f = c.constant(1);
  groups = 1;
  if (!f) {
    if (depthwise)
      c.unsupported("the depthwise filter must be a constant");
    return c.add1("Transpose", {c.input(1)}, {{"perm", std::vector<int64_t>{3, 2, 0, 1}}});
  }
  if (f->rank() != 4)
    c.invalid(fmt::format("filter must be 4-D, is {}", shape_str(f->shape())));
  if (f->dtype() != DType::f32)
    c.unsupported(fmt::format("{} filter", dtype_name(f->dtype())));
  if (!depthwise)
    return c.add_const("weights", transpose_tensor(*f, {3, 2, 0, 1}));
  const Shape &s = f->shape(); // kh, kw, C, M
  groups = s[2];
  return c.add_const("weights",
                     transpose_tensor(*f, {2, 3, 0, 1}).reshaped({s[2] * s[3], 1, s[0], s[1]}));
}

// Activation applied in NCHW right after the conv (a fused op's second stage).
std::string activation(ConvertContext &c, const std::string &act, const std::string &x) {
  if (act == "Relu" || act == "Sigmoid" || act == "Tanh" || act == "Elu")
    return c.add1(act, {x});
  if (act == "Relu6")
    return c.add1("Clip", {x, c.add_const("min", Tensor::scalar_f32(0.f)),
                           c.add_const("max", Tensor::scalar_f32(6.f))});
  if (act == "LeakyRelu")
    return c.add1("LeakyRelu", {x}, {{"alpha", c.attr_float("leakyrelu_alpha", 0.2f)}});
  c.unsupported(fmt::format("fused activation '{}'", act));
}

std::vector<float> f32_values(ConvertContext &c, size_t input, const char *what, int64_t n) {
  const Tensor &t = c.require_constant(input, what);
  if (t.numel() != n)
    c.invalid(fmt::format("{} has {} values, the conv has {} output channels", what, t.numel(), n));
  return t.to_f32_vector();
}

// Scales output channel o of the conv by s[o] and adds b[o] to its bias.
void scale_conv(ConvertContext &c, Node &conv, const std::vector<float> &s,
                const std::vector<float> &b) {
  Graph &g = c.graph();
  Tensor w = g.initializers.at(conv.inputs[1]);
  int64_t o = w.dim(0), per = w.numel() / o;
  if (!s.empty()) {
    Tensor ws = w.clone();
    float *p = ws.data<float>();
    for (int64_t i = 0; i < o; ++i)
      for (int64_t j = 0; j < per; ++j)
        p[i * per + j] *= s[i];
    g.initializers[conv.inputs[1]] = ws;
  }
  Tensor bias(DType::f32, {o});
  if (conv.has_input(2))
    bias = g.initializers.at(conv.inputs[2]).clone();
  float *pb = bias.data<float>();
  for (int64_t i = 0; i < o; ++i)
    pb[i] = (s.empty() ? pb[i] : pb[i] * s[i]) + b[i];
  std::string name = c.add_const("bias", bias);
  conv.inputs.resize(3);
  conv.inputs[2] = name;
}

// BN inference form: y = x * s + b with s = scale / sqrt(var + eps),
// b = offset - mean * s. Inputs scale, offset, mean, var start at `first`.
void bn_coefficients(ConvertContext &c, size_t first, int64_t n, std::vector<float> &s,
                     std::vector<float> &b) {
  auto scale = f32_values(c, first, "scale", n), offset = f32_values(c, first + 1, "offset", n);
  auto mean = f32_values(c, first + 2, "mean", n), var = f32_values(c, first + 3, "variance", n);
  float eps = c.attr_float("epsilon", 1e-4f);
  s.resize(n);
  b.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    s[i] = scale[i] / std::sqrt(var[i] + eps);
    b[i] = offset[i] - mean[i] * s[i];
  }
}

void conv(ConvertContext &c, bool depthwise, bool fused) {
  bool nchw = is_nchw(c);
  int64_t groups = 1;
  std::string w = conv_weights(c, depthwise, groups);
  std::string x = nchw ? c.input(0) : to_nchw(c, c.input(0));
  std::string y = c.fresh("Conv");
  size_t conv_index = c.graph().nodes.size();
  {
    Node &n = c.add("Conv", {x, w}, {y});
    c.take_name(n);
    n.attrs["strides"] = spatial(c, c.attr_ints("strides"), "strides");
    n.attrs["dilations"] = spatial(c, c.attr_ints("dilations"), "dilations");
    n.attrs["group"] = groups;
    set_padding(c, n);
  }
  std::vector<std::string> ops = fused ? c.attr_strings("fused_ops") : std::vector<std::string>{};
  if (!ops.empty()) {
    const Tensor *wt = c.graph().initializer(w);
    if (!wt)
      c.unsupported("fused conv with a non-constant filter");
    int64_t o = wt->dim(0);
    if (ops[0] == "BiasAdd") {
      scale_conv(c, c.graph().nodes[conv_index], {}, f32_values(c, 2, "bias", o));
    } else if (ops[0] == "FusedBatchNorm" || ops[0] == "FusedBatchNormV3") {
      std::vector<float> s, b;
      bn_coefficients(c, 2, o, s, b);
      scale_conv(c, c.graph().nodes[conv_index], s, b);
    } else {
      c.unsupported(fmt::format("fused_ops '{}'", ops[0]));
    }
    if (ops.size() > 2)
      c.unsupported(fmt::format("{} fused ops", ops.size()));
    if (ops.size() == 2)
      y = activation(c, ops[1], y);
  }
  if (nchw)
    c.add("Identity", {y}, {c.output(0)});
  else
    from_nchw(c, y);
  if (ops.size() < 2)
    c.state().conv_of[c.output(0)] = conv_index;
}

// The conv node `input 0` of this node comes from, when this node is its only
// reader (its output can then be changed in place), else nullptr.
Node *sole_reader_conv(ConvertContext &c) {
  std::string raw = c.node().input(0);
  std::string v = c.input(0);
  auto it = c.state().conv_of.find(v);
  if (it == c.state().conv_of.end())
    return nullptr;
  auto count = [&](const std::string &t) {
    auto k = c.state().consumers.find(t);
    return (k == c.state().consumers.end() ? 0 : k->second) + (int)c.state().graph_outputs.count(t);
  };
  if (count(v) != 1 || (raw != v && count(raw) != 1))
    return nullptr;
  Node &n = c.graph().nodes[it->second];
  return n.op_type == "Conv" && c.graph().is_initializer(n.inputs[1]) ? &n : nullptr;
}

void bias_add(ConvertContext &c) {
  const Tensor *bias = c.constant(1);
  bool nchw = is_nchw(c);
  if (Node *conv = sole_reader_conv(c); conv && bias && bias->dtype() == DType::f32) {
    int64_t o = c.graph().initializers.at(conv->inputs[1]).dim(0);
    if (bias->numel() == o) {
      scale_conv(c, *conv, {}, bias->to_f32_vector());
      c.state().conv_of[c.output(0)] = c.state().conv_of.at(c.input(0));
      c.alias(0, c.input(0));
      return;
    }
  }
  std::string b = c.input(1);
  if (nchw) {
    if (!bias)
      c.unsupported("NCHW BiasAdd with a non-constant bias");
    b = c.add_const("bias", bias->reshaped({bias->numel(), 1, 1}));
  }
  c.add("Add", {c.input(0), b}, {c.output(0)});
}

void batch_norm(ConvertContext &c) {
  if (c.attr_bool("is_training", true))
    c.unsupported("is_training=true (training-mode batch statistics)");
  for (size_t k = 1; k < 6; ++k)
    if (c.consumers(k) > 0)
      c.unsupported(fmt::format("output {} (batch statistics) is used", k));
  const Tensor &scale = c.require_constant(1, "scale");
  if (Node *conv = sole_reader_conv(c)) {
    int64_t o = c.graph().initializers.at(conv->inputs[1]).dim(0);
    if (scale.numel() == o) {
      std::vector<float> s, b;
      bn_coefficients(c, 1, o, s, b);
      scale_conv(c, *conv, s, b);
      c.alias(0, c.input(0));
      return;
    }
  }
  bool nchw = is_nchw(c);
  std::string x = nchw ? c.input(0) : to_nchw(c, c.input(0));
  std::string y = nchw ? c.output(0) : c.fresh("BatchNormalization");
  Node &bn = c.add("BatchNormalization", {x, c.input(1), c.input(2), c.input(3), c.input(4)}, {y});
  bn.attrs["epsilon"] = c.attr_float("epsilon", 1e-4f);
  c.take_name(bn);
  if (!nchw)
    from_nchw(c, y);
}

} // namespace

void register_tf_conv_converters(ConverterTable &t) {
  t.add("Conv2D", [](ConvertContext &c) { conv(c, false, false); });
  t.add("DepthwiseConv2dNative", [](ConvertContext &c) { conv(c, true, false); });
  t.add("_FusedConv2D", [](ConvertContext &c) { conv(c, false, true); });
  t.add("FusedDepthwiseConv2dNative", [](ConvertContext &c) { conv(c, true, true); });
  t.add("BiasAdd", bias_add);
  t.add("BiasAddV1", bias_add);
  for (const char *op : {"FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3"})
    t.add(op, batch_norm);
}

} // namespace qtune::tf
