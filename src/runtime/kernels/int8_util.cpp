#include "runtime/kernels/int8_util.h"

#include <fmt/format.h>

#include "qtune/error.h"

namespace qtune::int8 {

namespace {
// SAME_UPPER / SAME_LOWER: total padding so that out = ceil(in / stride).
void same_pads(int64_t in, int64_t k, int64_t s, int64_t d, bool upper, int64_t &lo, int64_t &hi) {
  int64_t out = (in + s - 1) / s;
  int64_t total = std::max<int64_t>(0, (out - 1) * s + (k - 1) * d + 1 - in);
  lo = upper ? total / 2 : total - total / 2;
  hi = total - lo;
}
} // namespace

ConvGeometry conv_geometry(const Node &node, const Shape &x, const Shape &w) {
  if (x.size() != 4 || w.size() != 4)
    throw UnsupportedError(
        fmt::format("{}: only 2-D convolution is supported (input {}, weight {})", node.describe(),
                    shape_str(x), shape_str(w)));
  ConvGeometry g;
  g.n = x[0], g.c = x[1], g.h = x[2], g.w = x[3];
  g.oc = w[0], g.kh = w[2], g.kw = w[3];
  g.group = node.attr_int("group", 1);
  if (g.group < 1 || g.c != w[1] * g.group || g.oc % g.group != 0)
    throw InputError(fmt::format("{}: input {} does not match weight {} with group {}",
                                 node.describe(), shape_str(x), shape_str(w), g.group));
  auto strides = node.attr_ints("strides", {1, 1});
  auto dil = node.attr_ints("dilations", {1, 1});
  auto pads = node.attr_ints("pads", {0, 0, 0, 0});
  if (strides.size() != 2 || dil.size() != 2 || pads.size() != 4)
    throw InputError(
        fmt::format("{}: strides/dilations/pads have the wrong length", node.describe()));
  g.stride_h = strides[0], g.stride_w = strides[1];
  g.dil_h = dil[0], g.dil_w = dil[1];
  g.pad_t = pads[0], g.pad_l = pads[1], g.pad_b = pads[2], g.pad_r = pads[3];
  std::string auto_pad = node.attr_string("auto_pad", "NOTSET");
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    bool upper = auto_pad == "SAME_UPPER";
    same_pads(g.h, g.kh, g.stride_h, g.dil_h, upper, g.pad_t, g.pad_b);
    same_pads(g.w, g.kw, g.stride_w, g.dil_w, upper, g.pad_l, g.pad_r);
  } else if (auto_pad == "VALID") {
    g.pad_t = g.pad_l = g.pad_b = g.pad_r = 0;
  }
  g.oh = (g.h + g.pad_t + g.pad_b - ((g.kh - 1) * g.dil_h + 1)) / g.stride_h + 1;
  g.ow = (g.w + g.pad_l + g.pad_r - ((g.kw - 1) * g.dil_w + 1)) / g.stride_w + 1;
  if (g.oh <= 0 || g.ow <= 0)
    throw InputError(fmt::format("{}: input {} is smaller than the kernel {}", node.describe(),
                                 shape_str(x), shape_str(w)));
  // oneDNN wants the right/bottom padding that reproduces the output size exactly.
  g.pad_b = (g.oh - 1) * g.stride_h + (g.kh - 1) * g.dil_h + 1 - g.h - g.pad_t;
  g.pad_r = (g.ow - 1) * g.stride_w + (g.kw - 1) * g.dil_w + 1 - g.w - g.pad_l;
  return g;
}

void append_activation(dnnl::post_ops &ops, const Node &node, const std::string &activation,
                       const std::vector<float> &p) {
  using A = dnnl::algorithm;
  auto param = [&](size_t i, float def) { return i < p.size() ? p[i] : def; };
  if (activation.empty())
    return;
  if (activation == "Relu")
    ops.append_eltwise(1.f, A::eltwise_relu, 0.f, 0.f);
  else if (activation == "LeakyRelu")
    ops.append_eltwise(1.f, A::eltwise_relu, param(0, 0.01f), 0.f);
  else if (activation == "Clip")
    ops.append_eltwise(1.f, A::eltwise_clip_v2, param(0, -3.4e38f), param(1, 3.4e38f));
  else if (activation == "Sigmoid")
    ops.append_eltwise(1.f, A::eltwise_logistic, 0.f, 0.f);
  else if (activation == "SiLU")
    ops.append_eltwise(1.f, A::eltwise_swish, 1.f, 0.f);
  else if (activation == "HardSwish")
    ops.append_eltwise(1.f, A::eltwise_hardswish, 0.f, 0.f);
  else if (activation == "Tanh")
    ops.append_eltwise(1.f, A::eltwise_tanh, 0.f, 0.f);
  else if (activation == "HardSigmoid") {
    // oneDNN 2.6 has no hardsigmoid: clip(alpha * x + beta, 0, 1).
    ops.append_eltwise(1.f, A::eltwise_linear, param(0, 0.2f), param(1, 0.5f));
    ops.append_eltwise(1.f, A::eltwise_clip_v2, 0.f, 1.f);
  } else {
    throw UnsupportedError(
        fmt::format("{}: fused activation '{}' is not supported", node.describe(), activation));
  }
}

dnnl::engine &engine_of(const KernelEnv &env) {
  static dnnl::engine own(dnnl::engine::kind::cpu, 0);
  return env.engine ? *env.engine : own;
}

dnnl::stream &stream_of(const KernelEnv &env) {
  static dnnl::stream own(engine_of(KernelEnv{}));
  return env.stream ? *env.stream : own;
}

dnnl::memory::data_type dnnl_dtype(DType t) {
  using dt = dnnl::memory::data_type;
  switch (t) {
  case DType::f32:
    return dt::f32;
  case DType::bf16:
    return dt::bf16;
  case DType::u8:
    return dt::u8;
  case DType::i8:
    return dt::s8;
  case DType::i32:
    return dt::s32;
  default:
    throw UnsupportedError(fmt::format("dtype {} has no oneDNN equivalent", dtype_name(t)));
  }
}

} // namespace qtune::int8
