// ONNX QuantizeLinear, DequantizeLinear (per-tensor and per-axis) and
// DynamicQuantizeLinear. These sit at the int8 <-> fp32 boundaries of a
// quantized graph, so their loops are vectorizable rows threaded over
// (row, chunk) and they speak oneDNN layouts (runtime/kernel.h):
// - QuantizeLinear writes NHWC when every reader is an int8 oneDNN kernel that
//   registered as an NHWC reader (int8_util.h: QConv, QMaxPool, which choose or
//   keep NHWC for u8/s8), so the transpose happens
//   while quantizing instead of in a separate reorder;
// - DequantizeLinear reads the NHWC int8 tensors those kernels write
//   directly, again transposing while converting.
// Any other blocked input goes through one oneDNN reorder into a private
// plain buffer first.
#include <algorithm>
#include <cmath>
#include <dnnl.hpp>
#include <fmt/format.h>
#include <immintrin.h>
#include <limits>
#include <type_traits>

#include "qtune/error.h"
#include "runtime/dnnl_util.h"
#include "runtime/kernel.h"
#include "runtime/kernels/int8_util.h"

namespace qtune {
namespace {

using dnnl::memory;
using tag = memory::format_tag;

// Shape [outer, channels, inner] view of a tensor quantized along `axis`; a
// scalar (or 1-element) scale means one channel covering everything.
struct AxisBlocks {
  int64_t outer = 1, channels = 1, inner = 1;
};

AxisBlocks axis_blocks(const Node &node, const Shape &shape, int64_t axis, int64_t scale_count) {
  AxisBlocks b;
  if (scale_count == 1) {
    b.inner = shape_numel(shape);
    return b;
  }
  int rank = static_cast<int>(shape.size());
  if (axis < 0)
    axis += rank;
  if (axis < 0 || axis >= rank || shape[axis] != scale_count)
    throw InputError(fmt::format("{}: scale has {} values but input {} has no axis {} of that size",
                                 node.describe(), scale_count, shape_str(shape), axis));
  for (int i = 0; i < axis; ++i)
    b.outer *= shape[i];
  b.channels = scale_count;
  for (int i = static_cast<int>(axis) + 1; i < rank; ++i)
    b.inner *= shape[i];
  return b;
}

// Per-channel zero points as numbers (absent = 0).
std::vector<int32_t> zero_points(const Tensor *zp, int64_t channels) {
  std::vector<int32_t> z(channels, 0);
  if (zp)
    for (int64_t c = 0; c < channels; ++c)
      z[c] = static_cast<int32_t>(zp->get_i64(zp->numel() == 1 ? 0 : c));
  return z;
}

// Round half to even, as std::nearbyint in the default rounding mode, but
// inline so the loop vectorizes (nearbyint is a libm call without SSE4.1).
// Adding and subtracting 1.5 * 2^23 leaves v rounded; valid for |v| < 2^22.
inline float round_half_even(float v) {
  constexpr float kMagic = 12582912.f;
  return (v + kMagic) - kMagic;
}

// y = saturate(round(x / s) + z). Divide rather than multiply by the inverse:
// ONNX rounds x / scale exactly. Clamping before rounding gives the same
// result as saturating after it and keeps |v| small enough for the rounding
// trick; the int32 step lets the conversion vectorize.
template <typename Q, typename X>
void quantize_row(const X *x, Q *y, int64_t n, float s, int32_t z) {
  const float lo = static_cast<float>(std::numeric_limits<Q>::lowest() - z);
  const float hi = static_cast<float>(std::numeric_limits<Q>::max() - z);
  for (int64_t i = 0; i < n; ++i) {
    float v = std::min(std::max(static_cast<float>(x[i]) / s, lo), hi);
    y[i] = static_cast<Q>(static_cast<int32_t>(round_half_even(v)) + z);
  }
}

// clang (14) cannot multiversion a template: the fuzz build (clang) gets the
// default clone only.
#if defined(__clang__)
#define QTUNE_DEQUANTIZE_CLONES
#else
#define QTUNE_DEQUANTIZE_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif

template <typename Q>
QTUNE_DEQUANTIZE_CLONES void dequantize_row(const Q *x, float *y, int64_t n, float s, int32_t z) {
  for (int64_t i = 0; i < n; ++i)
    y[i] = static_cast<float>(static_cast<int32_t>(x[i]) - z) * s;
}

// Rows are cut into chunks so a per-tensor op (one long row) uses all threads.
constexpr int64_t kChunk = 16384;

// Calls fn(offset, count, channel) for every chunk of every row, in parallel.
template <typename Fn> void for_each_row_chunk(const AxisBlocks &b, Fn fn) {
  int64_t rows = b.outer * b.channels, chunks = (b.inner + kChunk - 1) / kChunk;
#pragma omp parallel for collapse(2) if (rows * b.inner > kChunk)
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < chunks; ++k) {
      int64_t begin = k * kChunk;
      fn(r * b.inner + begin, std::min(kChunk, b.inner - begin), r % b.channels);
    }
}

template <typename Q, typename X>
void quantize_plain(const X *x, Q *y, const AxisBlocks &b, const float *scale, const int32_t *zp) {
  for_each_row_chunk(b, [&](int64_t off, int64_t n, int64_t c) {
    quantize_row(x + off, y + off, n, scale[c], zp[c]);
  });
}

template <typename Q>
void dequantize_plain(const Q *x, float *y, const AxisBlocks &b, const float *scale,
                      const int32_t *zp) {
  for_each_row_chunk(b, [&](int64_t off, int64_t n, int64_t c) {
    dequantize_row(x + off, y + off, n, scale[c], zp[c]);
  });
}

// NCHW f32 -> NHWC int8, one (n, h) row of C x W at a time: quantize each
// channel row into a small tile (vectorized), then transpose the tile.
// `per_channel`: scale/zp indexed by c, else by 0.
template <typename Q, typename X>
void quantize_to_nhwc(const X *x, Q *y, const Shape &s, const float *scale, const int32_t *zp,
                      bool per_channel) {
  int64_t N = s[0], C = s[1], H = s[2], W = s[3];
#pragma omp parallel
  {
    std::vector<Q> tile(C * W);
#pragma omp for
    for (int64_t nh = 0; nh < N * H; ++nh) {
      int64_t n = nh / H, h = nh % H;
      for (int64_t c = 0; c < C; ++c) {
        int64_t k = per_channel ? c : 0;
        quantize_row(x + ((n * C + c) * H + h) * W, tile.data() + c * W, W, scale[k], zp[k]);
      }
      Q *out = y + nh * W * C;
      for (int64_t w = 0; w < W; ++w)
        for (int64_t c = 0; c < C; ++c)
          out[w * C + c] = tile[c * W + w];
    }
  }
}

// A network input (RGB image, C <= 4) as NCHW f32 -> NHWC int8: the generic
// tile transpose above moves one byte per pixel and channel, which made the
// YOLOX-Nano input QuantizeLinear (519k values) 6-8 % of the tuned INT8
// model. Here 16 pixels of each channel are quantized in one zmm (the same
// f32 division, clamp and round-half-even as quantize_row), narrowed to 16
// bytes, and the C x 16 bytes are interleaved into 16 NHWC pixels by one
// AVX-512 VBMI byte permute. bench_int8_kernels BM_quantize_to_nhwc/1.
#define QTUNE_VBMI_Q __attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi")))

const bool kQuantizeVbmi = __builtin_cpu_supports("avx512vbmi") &&
                           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");

template <bool Signed>
QTUNE_VBMI_Q inline __m128i quantize16(const float *x, __mmask16 m, __m512 s, __m512 lo, __m512 hi,
                                       __m512i z) {
  __m512 v = _mm512_min_ps(_mm512_max_ps(_mm512_div_ps(_mm512_maskz_loadu_ps(m, x), s), lo), hi);
  __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(v), z); // rounds half to even
  return Signed ? _mm512_cvtsepi32_epi8(q) : _mm512_cvtusepi32_epi8(q);
}

template <typename Q>
QTUNE_VBMI_Q void quantize_image_row(const float *x, Q *y, int64_t C, int64_t W, int64_t plane,
                                     const float *scale, const int32_t *zp, bool per_channel) {
  constexpr bool kSigned = std::is_signed_v<Q>;
  // Output byte j of a 16-pixel group comes from channel j % C, pixel j / C.
  alignas(64) uint8_t idx[64];
  for (int j = 0; j < 64; ++j)
    idx[j] = static_cast<uint8_t>((j % C) * 16 + j / C);
  const __m512i perm = _mm512_load_si512(idx);
  __m512 s[4], lo[4], hi[4];
  __m512i z[4];
  for (int64_t c = 0; c < C; ++c) {
    int64_t k = per_channel ? c : 0;
    s[c] = _mm512_set1_ps(scale[k]);
    lo[c] = _mm512_set1_ps(static_cast<float>(std::numeric_limits<Q>::lowest() - zp[k]));
    hi[c] = _mm512_set1_ps(static_cast<float>(std::numeric_limits<Q>::max() - zp[k]));
    z[c] = _mm512_set1_epi32(zp[k]);
  }
  for (int64_t w = 0; w < W; w += 16) {
    const int64_t n = std::min<int64_t>(16, W - w);
    const __mmask16 m = static_cast<__mmask16>((1u << n) - 1);
    __m512i bytes = _mm512_setzero_si512();
    for (int64_t c = 0; c < C; ++c)
      bytes = _mm512_mask_broadcast_i32x4(
          bytes, static_cast<__mmask16>(0xF << (4 * c)),
          quantize16<kSigned>(x + c * plane + w, m, s[c], lo[c], hi[c], z[c]));
    const __mmask64 out = n * C == 64 ? ~0ULL : (1ULL << (n * C)) - 1;
    _mm512_mask_storeu_epi8(y + w * C, out, _mm512_permutexvar_epi8(perm, bytes));
  }
}

// Returns false (nothing done) unless the CPU and the shape allow the path.
template <typename Q>
bool quantize_image_to_nhwc(const float *x, Q *y, const Shape &s, const float *scale,
                            const int32_t *zp, bool per_channel) {
  const int64_t N = s[0], C = s[1], H = s[2], W = s[3];
  if (!kQuantizeVbmi || C < 2 || C > 4)
    return false;
#pragma omp parallel for
  for (int64_t nh = 0; nh < N * H; ++nh) {
    const int64_t n = nh / H, h = nh % H;
    quantize_image_row(x + (n * C * H + h) * W, y + nh * W * C, C, W, H * W, scale, zp,
                       per_channel);
  }
  return true;
}

// NHWC int8 -> NCHW f32, one (n, h) slab at a time: contiguous reads along
// the slab, each channel's output row filled one element per pixel (the
// fastest of the simple loop orders measured; the slab and the C row heads
// stay in L1). `scale` and `zp` hold one value per channel when per_channel.
template <typename Q>
void dequantize_from_nhwc(const Q *x, float *y, const Shape &s, const float *scale,
                          const int32_t *zp, bool per_channel) {
  int64_t N = s[0], C = s[1], H = s[2], W = s[3], plane = H * W;
#pragma omp parallel for
  for (int64_t nh = 0; nh < N * H; ++nh) {
    int64_t n = nh / H, h = nh % H;
    const Q *slab = x + nh * W * C;
    float *dst = y + n * C * plane + h * W;
    if (per_channel) {
      for (int64_t w = 0; w < W; ++w)
        for (int64_t c = 0; c < C; ++c)
          dst[c * plane + w] =
              static_cast<float>(static_cast<int32_t>(slab[w * C + c]) - zp[c]) * scale[c];
      continue;
    }
    // Per-tensor: scalars in registers run twice as fast as per-channel loads.
    const float sc = scale[0];
    const int32_t z = zp[0];
    for (int64_t w = 0; w < W; ++w)
      for (int64_t c = 0; c < C; ++c)
        dst[c * plane + w] = static_cast<float>(static_cast<int32_t>(slab[w * C + c]) - z) * sc;
  }
}

memory::desc nhwc_desc(const Shape &s, DType t) {
  return memory::desc(dnnl_util::to_dims(s), dnnl_util::dtype(t), tag::acdb);
}

// Input 0 as the kernel reads it: plain, NHWC (4-D only), or any other
// oneDNN layout that is reordered into a private plain buffer.
class LayoutInput {
public:
  void set(const dnnl_memory_desc_t *layout) { layout_ = layout; }

  // Returns true when input 0 arrives as NHWC and the caller reads that
  // directly (`read_nhwc`); every other layout is reordered to plain.
  bool prepare(const KernelEnv &env, const Tensor &x, bool read_nhwc) {
    reorder_ = {};
    if (!layout_)
      return false;
    memory::desc given(*layout_);
    if (read_nhwc && x.rank() == 4 && given == nhwc_desc(x.shape(), x.dtype()))
      return true;
    memory::desc plain = dnnl_util::plain_desc(x.shape(), dnnl_util::dtype(x.dtype()));
    if (given == plain)
      return false;
    dnnl::engine &eng = dnnl_util::engine(env);
    from_ = memory(given, eng, nullptr);
    plain_ = Tensor(x.dtype(), x.shape());
    to_ = memory(plain, eng, plain_.raw());
    reorder_ = dnnl::reorder(from_, to_);
    return false;
  }

  // Plain view of input 0 (after the reorder when it needed one).
  const Tensor &plain(const KernelEnv &env, const Tensor &x) {
    if (!reorder_)
      return x;
    from_.set_data_handle(const_cast<void *>(x.raw()));
    reorder_.execute(dnnl_util::stream(env), from_, to_);
    dnnl_util::stream(env).wait();
    return plain_;
  }

private:
  const dnnl_memory_desc_t *layout_ = nullptr;
  dnnl::reorder reorder_;
  memory from_, to_;
  Tensor plain_;
};

class QuantizeLinearKernel : public Kernel {
public:
  QuantizeLinearKernel(const Node &n, const KernelEnv &env)
      : node_(n), env_(env), axis_(n.attr_int("axis", 1)) {}

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    DType t = in.size() > 2 && in[2].defined() ? in[2].dtype() : DType::u8;
    if (t != DType::u8 && t != DType::i8)
      throw UnsupportedError(
          fmt::format("{}: output type {} is not supported", node_.describe(), dtype_name(t)));
    if (in[0].dtype() != DType::f32 && in[0].dtype() != DType::i32)
      throw UnsupportedError(fmt::format("{}: input type {} is not supported", node_.describe(),
                                         dtype_name(in[0].dtype())));
    return {{t, in[0].shape()}};
  }

  void prepare(std::span<const Tensor> in) override {
    int64_t scales = in[1].numel();
    int64_t axis = axis_ < 0 ? axis_ + in[0].rank() : axis_;
    out_nhwc_ =
        layouts_enabled_ && in[0].rank() == 4 && (scales == 1 || axis == 1) && readers_want_nhwc();
    out_desc_ = memory::desc();
    if (out_nhwc_) {
      DType t = in.size() > 2 && in[2].defined() ? in[2].dtype() : DType::u8;
      out_desc_ = nhwc_desc(in[0].shape(), t);
    }
    // An NHWC f32 input with NHWC output and one scale is plain elementwise.
    in_nhwc_ = input_.prepare(env_, in[0], out_nhwc_ && scales == 1);
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    std::vector<float> scale = in[1].to_f32_vector();
    const Tensor *zp_t = in.size() > 2 && in[2].defined() ? &in[2] : nullptr;
    std::vector<int32_t> zp = zero_points(zp_t, static_cast<int64_t>(scale.size()));
    if (in_nhwc_) {
      AxisBlocks b;
      b.inner = in[0].numel();
      dispatch_plain(in[0], out[0], b, scale.data(), zp.data());
      return;
    }
    const Tensor &x = input_.plain(env_, in[0]);
    if (out_nhwc_) {
      bool per_channel = scale.size() > 1;
      if (out[0].dtype() == DType::u8)
        to_nhwc(x, out[0].data<uint8_t>(), scale.data(), zp.data(), per_channel);
      else
        to_nhwc(x, out[0].data<int8_t>(), scale.data(), zp.data(), per_channel);
      return;
    }
    AxisBlocks b = axis_blocks(node_, x.shape(), axis_, static_cast<int64_t>(scale.size()));
    dispatch_plain(x, out[0], b, scale.data(), zp.data());
  }

  // oneDNN layout opt-in (runtime/kernel.h).
  bool accepts_dnnl_layouts() const override { return true; }
  void set_input_layouts(std::span<const dnnl_memory_desc_t *const> layouts) override {
    layouts_enabled_ = true;
    input_.set(layouts.empty() ? nullptr : layouts[0]);
  }
  const dnnl_memory_desc_t *output_layout(size_t) const override {
    return out_nhwc_ ? &out_desc_.data : nullptr;
  }

private:
  // NHWC pays off only when every reader takes oneDNN int8 layouts and
  // prefers NHWC; a plain reader would need a reorder back.
  bool readers_want_nhwc() const {
    if (!env_.graph || node_.outputs.empty() || env_.graph->is_graph_output(node_.outputs[0]))
      return false;
    int readers = 0;
    for (const Node &n : env_.graph->nodes)
      for (const std::string &v : n.inputs)
        if (v == node_.outputs[0]) {
          if (!int8::reads_nhwc_int8(n))
            return false;
          ++readers;
        }
    return readers > 0;
  }

  template <typename Q>
  void to_nhwc(const Tensor &x, Q *y, const float *scale, const int32_t *zp, bool per_channel) {
    if (x.dtype() == DType::f32 &&
        quantize_image_to_nhwc(x.data<float>(), y, x.shape(), scale, zp, per_channel))
      return;
    if (x.dtype() == DType::f32)
      quantize_to_nhwc(x.data<float>(), y, x.shape(), scale, zp, per_channel);
    else
      quantize_to_nhwc(x.data<int32_t>(), y, x.shape(), scale, zp, per_channel);
  }

  static void dispatch_plain(const Tensor &x, Tensor &y, const AxisBlocks &b, const float *scale,
                             const int32_t *zp) {
    bool u8 = y.dtype() == DType::u8;
    if (x.dtype() == DType::f32) {
      if (u8)
        quantize_plain(x.data<float>(), y.data<uint8_t>(), b, scale, zp);
      else
        quantize_plain(x.data<float>(), y.data<int8_t>(), b, scale, zp);
    } else {
      if (u8)
        quantize_plain(x.data<int32_t>(), y.data<uint8_t>(), b, scale, zp);
      else
        quantize_plain(x.data<int32_t>(), y.data<int8_t>(), b, scale, zp);
    }
  }

  Node node_;
  KernelEnv env_;
  int64_t axis_;
  bool layouts_enabled_ = false, in_nhwc_ = false, out_nhwc_ = false;
  LayoutInput input_;
  memory::desc out_desc_;
};

class DequantizeLinearKernel : public Kernel {
public:
  DequantizeLinearKernel(const Node &n, const KernelEnv &env)
      : node_(n), env_(env), axis_(n.attr_int("axis", 1)) {}

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    DType t = in[0].dtype();
    if (t != DType::u8 && t != DType::i8 && t != DType::i32)
      throw UnsupportedError(
          fmt::format("{}: input type {} is not supported", node_.describe(), dtype_name(t)));
    return {{DType::f32, in[0].shape()}};
  }

  void prepare(std::span<const Tensor> in) override {
    in_nhwc_ = input_.prepare(env_, in[0], true);
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    std::vector<float> scale = in[1].to_f32_vector();
    const Tensor *zp_t = in.size() > 2 && in[2].defined() ? &in[2] : nullptr;
    std::vector<int32_t> zp = zero_points(zp_t, static_cast<int64_t>(scale.size()));
    float *y = out[0].data<float>();
    if (in_nhwc_) {
      const Tensor &x = in[0];
      int64_t axis = axis_ < 0 ? axis_ + 4 : axis_, C = x.dim(1);
      bool per_channel = scale.size() > 1;
      if (per_channel && (axis != 1 || static_cast<int64_t>(scale.size()) != C))
        throw InputError(fmt::format("{}: {} scales do not match channel axis of {}",
                                     node_.describe(), scale.size(), shape_str(x.shape())));
      if (x.dtype() == DType::u8)
        dequantize_from_nhwc(x.data<uint8_t>(), y, x.shape(), scale.data(), zp.data(), per_channel);
      else if (x.dtype() == DType::i8)
        dequantize_from_nhwc(x.data<int8_t>(), y, x.shape(), scale.data(), zp.data(), per_channel);
      else
        dequantize_from_nhwc(x.data<int32_t>(), y, x.shape(), scale.data(), zp.data(), per_channel);
      return;
    }
    const Tensor &x = input_.plain(env_, in[0]);
    AxisBlocks b = axis_blocks(node_, x.shape(), axis_, static_cast<int64_t>(scale.size()));
    if (x.dtype() == DType::u8)
      dequantize_plain(x.data<uint8_t>(), y, b, scale.data(), zp.data());
    else if (x.dtype() == DType::i8)
      dequantize_plain(x.data<int8_t>(), y, b, scale.data(), zp.data());
    else
      dequantize_plain(x.data<int32_t>(), y, b, scale.data(), zp.data());
  }

  // oneDNN layout opt-in (runtime/kernel.h): reads int8 kernels' NHWC output.
  bool accepts_dnnl_layouts() const override { return true; }
  void set_input_layouts(std::span<const dnnl_memory_desc_t *const> layouts) override {
    input_.set(layouts.empty() ? nullptr : layouts[0]);
  }

private:
  Node node_;
  KernelEnv env_;
  int64_t axis_;
  bool in_nhwc_ = false;
  LayoutInput input_;
};

// y = saturate(round(x / scale) + zp) with scale and zp from the range of x
// widened to include 0, as the ONNX spec defines it.
class DynamicQuantizeLinearKernel : public Kernel {
public:
  explicit DynamicQuantizeLinearKernel(const Node &n) : node_(n) {}

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    if (in[0].dtype() != DType::f32)
      throw UnsupportedError(fmt::format("{}: input type {} is not supported", node_.describe(),
                                         dtype_name(in[0].dtype())));
    return {{DType::u8, in[0].shape()}, {DType::f32, {}}, {DType::u8, {}}};
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    std::span<const float> x = in[0].span<float>();
    float lo = 0, hi = 0;
    for (float v : x) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    float scale = (hi - lo) / 255.f;
    float zp = scale > 0 ? std::clamp(std::nearbyint(-lo / scale), 0.f, 255.f) : 0.f;
    uint8_t *y = out[0].data<uint8_t>();
    int64_t n = static_cast<int64_t>(x.size());
#pragma omp parallel for if (n > 32768)
    for (int64_t i = 0; i < n; ++i)
      y[i] = scale > 0
                 ? static_cast<uint8_t>(std::clamp(std::nearbyint(x[i] / scale) + zp, 0.f, 255.f))
                 : 0;
    out[1].data<float>()[0] = scale;
    out[2].data<uint8_t>()[0] = static_cast<uint8_t>(zp);
  }

private:
  Node node_;
};

} // namespace

void register_quantize_linear_kernels(KernelRegistry &r) {
  r.add("QuantizeLinear", [](const Node &n, const KernelEnv &env) {
    return std::make_unique<QuantizeLinearKernel>(n, env);
  });
  r.add("DequantizeLinear", [](const Node &n, const KernelEnv &env) {
    return std::make_unique<DequantizeLinearKernel>(n, env);
  });
  r.add("DynamicQuantizeLinear", [](const Node &n, const KernelEnv &) {
    return std::make_unique<DynamicQuantizeLinearKernel>(n);
  });
}

} // namespace qtune
