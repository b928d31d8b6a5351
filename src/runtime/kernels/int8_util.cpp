#include "runtime/kernels/int8_util.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <set>

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

namespace {
std::set<std::pair<std::string, std::string>> &nhwc_int8_readers() {
  static std::set<std::pair<std::string, std::string>> readers;
  return readers;
}
} // namespace

// Written while the kernel registry is filled (once, under its first use),
// read afterwards only.
void register_nhwc_int8_reader(const std::string &domain, const std::string &op_type) {
  nhwc_int8_readers().insert({domain, op_type});
}

bool reads_nhwc_int8(const Node &n) {
  return nhwc_int8_readers().count({n.domain, n.op_type}) > 0;
}

bool weights_need_7bit() {
  using isa = dnnl::cpu_isa;
  static const bool need = [] {
    isa i = dnnl::get_effective_cpu_isa();
    return !(i == isa::avx512_core_vnni || i == isa::avx512_core_bf16 ||
             i == isa::avx512_core_amx || i == isa::avx2_vnni || i == isa::all);
  }();
  return need;
}

bool fits_7bit(const Tensor &w) {
  for (int8_t v : w.span<int8_t>())
    if (v < -64 || v > 64)
      return false;
  return true;
}

Tensor halved(const Tensor &w) {
  Tensor h(DType::i8, w.shape());
  for (int64_t i = 0; i < w.numel(); ++i)
    h.data<int8_t>()[i] = static_cast<int8_t>(std::nearbyint(w.data<int8_t>()[i] / 2.f));
  return h;
}

void check_y_dtype(const Node &node, DType y_dtype) {
  if (y_dtype != DType::u8 && y_dtype != DType::i8 && y_dtype != DType::f32)
    throw UnsupportedError(
        fmt::format("{}: y_dtype {} is not supported", node.describe(), dtype_name(y_dtype)));
}

float required_float(const Node &node, const char *attr) {
  if (!node.has_attr(attr))
    throw InputError(fmt::format("{}: attribute '{}' is missing", node.describe(), attr));
  return node.attr_float(attr, 0.f);
}

std::vector<float> required_floats(const Node &node, const char *attr) {
  std::vector<float> v = node.attr_floats(attr);
  if (v.empty())
    throw InputError(fmt::format("{}: attribute '{}' is missing", node.describe(), attr));
  return v;
}

InputParams InputParams::from(const Node &node, const std::string &prefix) {
  return {required_float(node, (prefix + "_scale").c_str()),
          static_cast<int32_t>(node.attr_int(prefix + "_zero_point", 0))};
}

void InputParams::write(Node &node, const std::string &prefix) const {
  node.attrs[prefix + "_scale"] = scale;
  node.attrs[prefix + "_zero_point"] = int64_t{zero_point};
}

OutputParams OutputParams::from(const Node &node) {
  if (!node.has_attr("y_dtype"))
    throw InputError(fmt::format("{}: attribute 'y_dtype' is missing", node.describe()));
  OutputParams p;
  p.dtype = dtype_from_name(node.attr_string("y_dtype", ""));
  check_y_dtype(node, p.dtype);
  if (p.dtype != DType::f32) {
    InputParams q = InputParams::from(node, "y");
    p.scale = q.scale, p.zero_point = q.zero_point;
  }
  return p;
}

void OutputParams::write(Node &node) const {
  node.attrs["y_dtype"] = std::string(dtype_name(dtype));
  if (dtype == DType::f32) {
    node.attrs.erase("y_scale");
    node.attrs.erase("y_zero_point");
    return;
  }
  InputParams{scale, zero_point}.write(node, "y");
}

FusedActivation FusedActivation::from(const Node &node, const std::string &prefix) {
  return {node.attr_string(prefix, ""), node.attr_floats(prefix + "_params")};
}

void FusedActivation::write(Node &node, const std::string &prefix) const {
  node.attrs.erase(prefix);
  node.attrs.erase(prefix + "_params");
  if (op.empty())
    return;
  node.attrs[prefix] = op;
  if (!params.empty())
    node.attrs[prefix + "_params"] = params;
}

std::vector<float> output_scales(float x_scale, const std::vector<float> &w_scales, bool halve) {
  std::vector<float> out(w_scales.size());
  for (size_t i = 0; i < w_scales.size(); ++i)
    out[i] = x_scale * w_scales[i] * (halve ? 2.f : 1.f);
  return out;
}

void set_scales_and_zero_point(dnnl::primitive_attr &attr, const std::vector<float> &out_scales,
                               int32_t x_zero_point) {
  attr.set_output_scales(out_scales.size() == 1 ? 0 : 1 << 1, out_scales);
  if (x_zero_point != 0)
    attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
}

std::vector<double> accumulator_bias(const Tensor &b, int64_t n,
                                     const std::vector<float> &out_scales) {
  std::vector<float> real = b.to_f32_vector();
  std::vector<double> acc(n);
  for (int64_t j = 0; j < n; ++j) {
    double v = static_cast<double>(real.at(j)) / out_scales[out_scales.size() == 1 ? 0 : j];
    double r = std::nearbyint(v);
    // The real bias and the output scale each carry ~1 f32 rounding: a few
    // 1e-7 relative. Snapping within 1e-6 changes no bias by more than f32 noise.
    acc[j] = std::abs(v - r) <= 1e-6 * std::max(1.0, std::abs(v)) ? r : v;
  }
  return acc;
}

dnnl::memory bias_memory(dnnl::engine &eng, const dnnl::memory::desc &md,
                         const std::vector<double> &acc_bias) {
  dnnl::memory mem(md, eng);
  float *dst = static_cast<float *>(mem.get_data_handle());
  for (size_t j = 0; j < acc_bias.size(); ++j)
    dst[j] = static_cast<float>(acc_bias[j]);
  return mem;
}

dnnl::memory zero_point_memory(dnnl::engine &eng, int32_t zp) {
  if (zp == 0)
    return dnnl::memory();
  dnnl::memory mem({{1}, dnnl::memory::data_type::s32, dnnl::memory::format_tag::x}, eng);
  *static_cast<int32_t *>(mem.get_data_handle()) = zp;
  return mem;
}

void append_requantize(dnnl::post_ops &ops, DType y_dtype, float y_scale, int32_t y_zero_point) {
  if (y_dtype != DType::f32)
    ops.append_eltwise(1.f, dnnl::algorithm::eltwise_linear, 1.f / y_scale,
                       static_cast<float>(y_zero_point));
}

} // namespace qtune::int8

namespace qtune::int8 {

std::vector<int32_t> centered(const Tensor &t, const Tensor *zp, int axis) {
  int64_t n = t.numel();
  std::vector<int32_t> v(n);
  switch (t.dtype()) {
  case DType::u8:
    std::copy_n(t.data<uint8_t>(), n, v.begin());
    break;
  case DType::i8:
    std::copy_n(t.data<int8_t>(), n, v.begin());
    break;
  case DType::i32:
    std::copy_n(t.data<int32_t>(), n, v.begin());
    break;
  default:
    throw UnsupportedError(fmt::format("integer op input of type {}", dtype_name(t.dtype())));
  }
  if (!zp || !zp->defined() || zp->numel() == 0)
    return v;
  if (zp->numel() == 1) {
    auto z = static_cast<int32_t>(zp->get_i64(0));
    for (auto &x : v)
      x -= z;
    return v;
  }
  if (axis < 0)
    axis += t.rank();
  int64_t inner = 1;
  for (int i = axis + 1; i < t.rank(); ++i)
    inner *= t.dim(i);
  int64_t channels = t.dim(axis);
  if (zp->numel() != channels)
    throw InputError(
        fmt::format("zero point has {} values for an axis of size {}", zp->numel(), channels));
  for (int64_t i = 0; i < n; ++i)
    v[i] -= static_cast<int32_t>(zp->get_i64((i / inner) % channels));
  return v;
}

void conv_integer(const ConvGeometry &g, const std::vector<int32_t> &x32,
                  const std::vector<int32_t> &w32, int32_t *y) {
  int64_t cg = g.c / g.group, og = g.oc / g.group;
#pragma omp parallel for collapse(2)
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t o = 0; o < g.oc; ++o) {
      int64_t c0 = (o / og) * cg;
      int32_t *out = y + (n * g.oc + o) * g.oh * g.ow;
      for (int64_t i = 0; i < g.oh; ++i)
        for (int64_t j = 0; j < g.ow; ++j) {
          int32_t acc = 0;
          for (int64_t c = 0; c < cg; ++c)
            for (int64_t ki = 0; ki < g.kh; ++ki) {
              int64_t yi = i * g.stride_h - g.pad_t + ki * g.dil_h;
              if (yi < 0 || yi >= g.h)
                continue;
              const int32_t *xrow = x32.data() + ((n * g.c + c0 + c) * g.h + yi) * g.w;
              const int32_t *wrow = w32.data() + ((o * cg + c) * g.kh + ki) * g.kw;
              for (int64_t kj = 0; kj < g.kw; ++kj) {
                int64_t xj = j * g.stride_w - g.pad_l + kj * g.dil_w;
                if (xj >= 0 && xj < g.w)
                  acc += xrow[xj] * wrow[kj];
              }
            }
          out[i * g.ow + j] = acc;
        }
    }
}

Shape matmul_shape(const Node &node, const Shape &a, const Shape &b) {
  if (a.empty() || b.empty())
    throw InputError(fmt::format("{}: MatMul of a scalar", node.describe()));
  Shape a2 = a.size() == 1 ? Shape{1, a[0]} : a;
  Shape b2 = b.size() == 1 ? Shape{b[0], 1} : b;
  if (a2.back() != b2[b2.size() - 2])
    throw InputError(
        fmt::format("{}: cannot multiply {} by {}", node.describe(), shape_str(a), shape_str(b)));
  size_t batch = std::max(a2.size(), b2.size()) - 2;
  Shape y(batch);
  for (size_t i = 0; i < batch; ++i) {
    int64_t da = i + a2.size() >= batch + 2 ? a2[i + a2.size() - 2 - batch] : 1;
    int64_t db = i + b2.size() >= batch + 2 ? b2[i + b2.size() - 2 - batch] : 1;
    if (da != db && da != 1 && db != 1)
      throw InputError(fmt::format("{}: batch dims of {} and {} do not broadcast", node.describe(),
                                   shape_str(a), shape_str(b)));
    y[i] = std::max(da, db);
  }
  if (a.size() > 1)
    y.push_back(a2[a2.size() - 2]);
  if (b.size() > 1)
    y.push_back(b2.back());
  return y;
}

void matmul_integer(const Shape &a_shape, const std::vector<int32_t> &a32, const Shape &b_shape,
                    const std::vector<int32_t> &b32, const Shape &y_shape, int32_t *y) {
  Shape a2 = a_shape.size() == 1 ? Shape{1, a_shape[0]} : a_shape;
  Shape b2 = b_shape.size() == 1 ? Shape{b_shape[0], 1} : b_shape;
  int64_t m = a2[a2.size() - 2], k = a2.back(), n = b2.back();
  size_t batch_rank = std::max(a2.size(), b2.size()) - 2;
  int64_t batches = 1;
  for (size_t i = 0; i < batch_rank; ++i)
    batches *= y_shape[i];
  (void)y_shape;
  // Offset of batch `bi` into an operand whose batch dims broadcast to the output's.
  auto offset = [&](const Shape &s, int64_t bi) {
    int64_t off = 0, stride = s[s.size() - 2] * s.back();
    int64_t rem = bi;
    for (size_t d = batch_rank; d-- > 0;) {
      int64_t out_dim = y_shape[d];
      int64_t idx = rem % out_dim;
      rem /= out_dim;
      int64_t sd = d + s.size() >= batch_rank + 2 ? s[d + s.size() - 2 - batch_rank] : 1;
      if (sd != 1)
        off += idx * stride;
      stride *= sd;
    }
    return off;
  };
#pragma omp parallel for collapse(2)
  for (int64_t bi = 0; bi < batches; ++bi)
    for (int64_t i = 0; i < m; ++i) {
      const int32_t *a = a32.data() + offset(a2, bi) + i * k;
      const int32_t *b = b32.data() + offset(b2, bi);
      int32_t *out = y + (bi * m + i) * n;
      for (int64_t j = 0; j < n; ++j)
        out[j] = 0;
      for (int64_t p = 0; p < k; ++p)
        for (int64_t j = 0; j < n; ++j)
          out[j] += a[p] * b[p * n + j];
    }
}

void requantize(const float *v, int64_t n, int32_t zp, Tensor &y) {
  bool u8 = y.dtype() == DType::u8;
  float lo = u8 ? 0.f : -128.f, hi = u8 ? 255.f : 127.f;
  for (int64_t i = 0; i < n; ++i) {
    float q = std::clamp(std::nearbyint(v[i]) + static_cast<float>(zp), lo, hi);
    if (u8)
      y.data<uint8_t>()[i] = static_cast<uint8_t>(q);
    else
      y.data<int8_t>()[i] = static_cast<int8_t>(q);
  }
}

} // namespace qtune::int8
