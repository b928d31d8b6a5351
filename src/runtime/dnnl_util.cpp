#include "runtime/dnnl_util.h"

#include <fmt/format.h>

#include "qtune/error.h"

namespace qtune::dnnl_util {

dnnl::engine &engine(const KernelEnv &env) {
  static dnnl::engine own(dnnl::engine::kind::cpu, 0);
  return env.engine ? *env.engine : own;
}

dnnl::stream &stream(const KernelEnv &env) {
  static dnnl::stream own(engine(KernelEnv{}));
  return env.stream ? *env.stream : own;
}

dnnl::memory::data_type dtype(DType t) {
  using dt = dnnl::memory::data_type;
  switch (t) {
  case DType::f32:
    return dt::f32;
  case DType::bf16:
    return dt::bf16;
  case DType::f16:
    return dt::f16;
  case DType::i32:
    return dt::s32;
  case DType::i8:
    return dt::s8;
  case DType::u8:
    return dt::u8;
  default:
    throw UnsupportedError(fmt::format("dtype {} has no oneDNN type", dtype_name(t)));
  }
}

dnnl::memory::format_tag plain_tag(size_t rank) {
  using tag = dnnl::memory::format_tag;
  static const tag tags[] = {tag::a, tag::a, tag::ab, tag::abc, tag::abcd, tag::abcde, tag::abcdef};
  if (rank > 6)
    throw UnsupportedError(fmt::format("rank {} is beyond oneDNN's plain tags", rank));
  return tags[rank];
}

dims to_dims(const Shape &s) {
  if (s.empty())
    return {1};
  return dims(s.begin(), s.end());
}

namespace {

// Element offset contributed by index v along dim d of a blocked desc. Blocked
// offsets are a sum of one term per dim (outer block times its stride, plus
// the digits of v inside each inner block level), so comparing these terms
// dim by dim compares whole layouts.
int64_t dim_offset(const dnnl_memory_desc_t &md, int d, int64_t v) {
  const dnnl_blocking_desc_t &b = md.format_desc.blocking;
  int64_t block = 1;
  for (int k = 0; k < b.inner_nblks; ++k)
    if (b.inner_idxs[k] == d)
      block *= b.inner_blks[k];
  int64_t off = (v / block) * b.strides[d], rem = v % block, inner_stride = 1;
  for (int k = b.inner_nblks - 1; k >= 0; --k) { // innermost block last
    if (b.inner_idxs[k] == d) {
      off += (rem % b.inner_blks[k]) * inner_stride;
      rem /= b.inner_blks[k];
    }
    inner_stride *= b.inner_blks[k];
  }
  return off;
}

} // namespace

bool unpadded(const dnnl::memory::desc &d) {
  const dnnl_memory_desc_t &x = d.data;
  return std::equal(x.dims, x.dims + x.ndims, x.padded_dims);
}

bool same_bytes(const dnnl::memory::desc &a, const dnnl::memory::desc &b) {
  const dnnl_memory_desc_t &x = a.data, &y = b.data;
  if (a == b)
    return true;
  if (x.format_kind != dnnl_blocked || y.format_kind != dnnl_blocked || x.ndims != y.ndims ||
      x.data_type != y.data_type || x.offset0 != y.offset0 || a.get_size() != b.get_size() ||
      x.extra.flags != 0 || y.extra.flags != 0)
    return false;
  for (int d = 0; d < x.ndims; ++d) {
    if (x.dims[d] != y.dims[d] || x.padded_dims[d] != y.padded_dims[d])
      return false;
    for (int64_t v = 0; v < x.padded_dims[d]; ++v)
      if (dim_offset(x, d, v) != dim_offset(y, d, v))
        return false;
  }
  return true;
}

dnnl::memory::desc plain_desc(const Shape &shape, dnnl::memory::data_type dt) {
  return dnnl::memory::desc(to_dims(shape), dt, plain_tag(std::max<size_t>(shape.size(), 1)));
}

dims Window::dnnl_dilations() const {
  dims d;
  for (int64_t v : dilations)
    d.push_back(v - 1);
  return d;
}

Window resolve_window(const Node &node, const Shape &x, const std::vector<int64_t> &kernel,
                      bool ceil_mode) {
  size_t sd = kernel.size();
  if (x.size() != sd + 2)
    throw InputError(fmt::format("{}: input {} does not have {} spatial dims", node.describe(),
                                 shape_str(x), sd));
  Window w;
  w.kernel = kernel;
  w.strides = node.attr_ints("strides", std::vector<int64_t>(sd, 1));
  w.dilations = node.attr_ints("dilations", std::vector<int64_t>(sd, 1));
  auto pads = node.attr_ints("pads", std::vector<int64_t>(2 * sd, 0));
  if (w.strides.size() != sd || w.dilations.size() != sd || pads.size() != 2 * sd)
    throw InputError(fmt::format("{}: strides/dilations/pads do not match {} spatial dims",
                                 node.describe(), sd));
  w.pad_begin.assign(pads.begin(), pads.begin() + sd);
  w.pad_end.assign(pads.begin() + sd, pads.end());
  std::string auto_pad = node.attr_string("auto_pad", "NOTSET");
  w.out.resize(sd);
  for (size_t i = 0; i < sd; ++i) {
    int64_t in = x[i + 2], s = w.strides[i], dk = (kernel[i] - 1) * w.dilations[i] + 1;
    if (s < 1 || w.dilations[i] < 1 || kernel[i] < 1)
      throw InputError(
          fmt::format("{}: strides, dilations and kernel must be >= 1", node.describe()));
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      w.out[i] = (in + s - 1) / s;
      int64_t total = std::max<int64_t>(0, (w.out[i] - 1) * s + dk - in);
      w.pad_begin[i] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      w.pad_end[i] = total - w.pad_begin[i];
    } else {
      if (auto_pad == "VALID")
        w.pad_begin[i] = w.pad_end[i] = 0;
      else if (auto_pad != "NOTSET")
        throw InputError(fmt::format("{}: unknown auto_pad '{}'", node.describe(), auto_pad));
      int64_t span = in + w.pad_begin[i] + w.pad_end[i] - dk;
      w.out[i] = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
      // ceil_mode: the last window must start inside the input or left padding.
      if (ceil_mode && (w.out[i] - 1) * s >= in + w.pad_begin[i])
        w.out[i]--;
    }
    if (w.out[i] < 1)
      throw InputError(
          fmt::format("{}: input {} is smaller than the window", node.describe(), shape_str(x)));
    // oneDNN wants the end padding that reproduces the output size exactly.
    w.pad_end[i] = (w.out[i] - 1) * s + dk - in - w.pad_begin[i];
  }
  return w;
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
  else if (activation == "Elu")
    ops.append_eltwise(1.f, A::eltwise_elu, param(0, 1.f), 0.f);
  else if (activation == "HardSigmoid") {
    // oneDNN 2.6 has no hardsigmoid: clip(alpha * x + beta, 0, 1).
    ops.append_eltwise(1.f, A::eltwise_linear, param(0, 0.2f), param(1, 0.5f));
    ops.append_eltwise(1.f, A::eltwise_clip_v2, 0.f, 1.f);
  } else {
    throw UnsupportedError(
        fmt::format("{}: fused activation '{}' is not supported", node.describe(), activation));
  }
}

void Relayout::plan(const KernelEnv &env, const dnnl::memory::desc &from,
                    const dnnl::memory::desc &to) {
  prim_ = {};
  if (from == to)
    return;
  dnnl::engine &eng = engine(env);
  from_ = dnnl::memory(from, eng, nullptr);
  to_ = dnnl::memory(to, eng);
  prim_ = dnnl::reorder(from_, to_);
}

const void *Relayout::run(const KernelEnv &env, const void *x) {
  if (!prim_)
    return x;
  from_.set_data_handle(const_cast<void *>(x));
  dnnl::stream &s = stream(env);
  prim_.execute(s, from_, to_);
  s.wait();
  return to_.get_data_handle();
}

void reorder_now(const KernelEnv &env, dnnl::memory &from, dnnl::memory &to) {
  dnnl::reorder(from, to).execute(stream(env), from, to);
  stream(env).wait();
}

} // namespace qtune::dnnl_util
