// Depthwise int8 convolution with a fused SiLU epilogue: see qconv_dw.h.
//
// Each thread takes a contiguous range of output rows. An input row is
// widened once into f32 (x - zero point) inside a zero-padded row of `wide_`
// columns and kept in a small ring of the last (kh - 1) * dil + 1 rows, so a
// row read by three output rows is converted once and the taps need no
// border tests: a padded column holds 0, a padded row is skipped. An output
// row is computed per 16-channel block, eight pixels at a time (eight zmm
// accumulators, one fma per tap with the input from memory), scaled into a
// row buffer that stays in L1, then SiLU + requantisation run over the whole
// row with the SiLU pass's own loop (silu_simd.h), so the f32 intermediate
// never reaches memory.
//
// Compiled with -ffp-contract=off (src/CMakeLists.txt), as silu.cpp: bias and
// scale are a separate add and multiply, as oneDNN rounds them.
#include "runtime/kernels/qconv_dw.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <immintrin.h>
#include <omp.h>

#include "runtime/kernels/kernel_util.h"
#include "runtime/kernels/silu_simd.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace qtune::kernels {
namespace {

using namespace simd;

#define QTUNE_DW __attribute__((target("avx512f,avx512bw,avx512dq")))

constexpr int kLanes = 16;
constexpr int kPixels = 8;                          // output pixels per step
constexpr int64_t kParallelMacs = int64_t{1} << 18; // below: one thread
constexpr int64_t kMaxTapRows = 64;
constexpr int64_t kRingBytes = 24 << 10; // widened rows per channel group, in L1
constexpr int64_t kMinGroupBlocks = 4;   // 64 channels: the epilogue's 64-value steps

// A 64-byte aligned, zero-filled float buffer.
struct Floats {
  explicit Floats(size_t n) : raw(n + kLanes, 0.f) {
    data = raw.data() + to_64_byte_boundary(raw.data());
  }
  std::vector<float> raw;
  float *data;
};

// One widened row: `cols` pixels of `width` channels (a multiple of 16, at
// `stride` bytes per pixel in x) as f32 x - zp, packed at `width` floats per
// pixel.
QTUNE_DW void widen(const uint8_t *x, int64_t stride, int64_t cols, int64_t width, float *y,
                    float zp) {
  const __m512 z = _mm512_set1_ps(zp);
  for (int64_t col = 0; col < cols; ++col, x += stride, y += width)
    for (int64_t k = 0; k < width; k += kLanes) {
      const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i *>(x + k));
      _mm512_store_ps(y + k, _mm512_sub_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(b)), z));
    }
}

// Where one output row's channel group lives: the widened tap rows (a null
// row is padding) and the scaled output, both `ps` floats per pixel; the
// group's weights ([kh * kw] rows of the conv's c channels), bias and scale.
struct RowSlice {
  const float *const *taps;
  int64_t ps;
  const float *w, *bias, *scale;
  int64_t c;
  float *out;
};

// M output pixels of one 16-channel block: the taps times the weights,
// exact in f32, then + bias, * scale.
template <int M>
QTUNE_DW void pixels(const int8::ConvGeometry &g, const RowSlice &r, int64_t cb, int64_t ox) {
  const __m512 bias = _mm512_loadu_ps(r.bias + cb), scale = _mm512_loadu_ps(r.scale + cb);
  const int64_t col_step = g.stride_w * r.ps;
  __m512 acc[M];
#pragma GCC unroll 8
  for (int u = 0; u < M; ++u)
    acc[u] = _mm512_setzero_ps();
  for (int64_t i = 0; i < g.kh; ++i) {
    if (!r.taps[i])
      continue;
    for (int64_t j = 0; j < g.kw; ++j) {
      const __m512 wv = _mm512_loadu_ps(r.w + (i * g.kw + j) * r.c + cb);
      const float *in = r.taps[i] + (ox * g.stride_w + j * g.dil_w) * r.ps + cb;
#pragma GCC unroll 8
      for (int u = 0; u < M; ++u)
        acc[u] = _mm512_fmadd_ps(wv, _mm512_load_ps(in + u * col_step), acc[u]);
    }
  }
  float *out = r.out + ox * r.ps + cb;
#pragma GCC unroll 8
  for (int u = 0; u < M; ++u) // oneDNN 2.6's order: bias before the scale
    _mm512_storeu_ps(out + u * r.ps, _mm512_mul_ps(_mm512_add_ps(acc[u], bias), scale));
}

// The 3x3 undilated case (YOLOX's and MobileNet's dconvs) with stride S:
// the nine weights stay in registers for the whole row, and each input
// column is loaded once and used by every output pixel whose window holds it
// ((M - 1) S + 3 loads per tap row where the generic form makes 3 M).
template <int S, int M>
QTUNE_DW void pixels3x3(const RowSlice &r, int64_t cb, int64_t ox, const __m512 (&w)[9],
                        __m512 bias, __m512 scale) {
  __m512 acc[M];
#pragma GCC unroll 16
  for (int u = 0; u < M; ++u)
    acc[u] = _mm512_setzero_ps();
#pragma GCC unroll 3
  for (int i = 0; i < 3; ++i) {
    if (!r.taps[i])
      continue;
    const float *in = r.taps[i] + ox * S * r.ps + cb;
#pragma GCC unroll 64
    for (int q = 0; q < (M - 1) * S + 3; ++q) {
      const __m512 v = _mm512_load_ps(in + q * r.ps);
#pragma GCC unroll 16
      for (int u = 0; u < M; ++u) {
        const int j = q - u * S;
        if (j >= 0 && j < 3)
          acc[u] = _mm512_fmadd_ps(w[i * 3 + j], v, acc[u]);
      }
    }
  }
  float *out = r.out + ox * r.ps + cb;
#pragma GCC unroll 16
  for (int u = 0; u < M; ++u) // oneDNN 2.6's order: bias before the scale
    _mm512_storeu_ps(out + u * r.ps, _mm512_mul_ps(_mm512_add_ps(acc[u], bias), scale));
}

template <int S> QTUNE_DW void row3x3(const int8::ConvGeometry &g, const RowSlice &r) {
  for (int64_t cb = 0; cb < r.ps; cb += kLanes) {
    const __m512 bias = _mm512_loadu_ps(r.bias + cb), scale = _mm512_loadu_ps(r.scale + cb);
    __m512 w[9];
    for (int k = 0; k < 9; ++k)
      w[k] = _mm512_loadu_ps(r.w + k * r.c + cb);
    int64_t ox = 0;
    for (; ox + kPixels <= g.ow; ox += kPixels)
      pixels3x3<S, kPixels>(r, cb, ox, w, bias, scale);
    for (; ox < g.ow; ++ox)
      pixels3x3<S, 1>(r, cb, ox, w, bias, scale);
  }
}

// One output row's channel group (ow pixels x r.ps channels).
QTUNE_DW void dw_row(const int8::ConvGeometry &g, const RowSlice &r) {
  if (g.kh == 3 && g.kw == 3 && g.dil_w == 1 && (g.stride_w == 1 || g.stride_w == 2))
    return g.stride_w == 1 ? row3x3<1>(g, r) : row3x3<2>(g, r);
  for (int64_t cb = 0; cb < r.ps; cb += kLanes) {
    int64_t ox = 0;
    for (; ox + kPixels <= g.ow; ox += kPixels)
      pixels<kPixels>(g, r, cb, ox);
    for (; ox < g.ow; ++ox)
      pixels<1>(g, r, cb, ox);
  }
}

// SiLU [+ int8 addend] and requantisation of `n` scaled values into y + at.
template <bool U8> struct SiluRun {
  int8_t *y;
  const SiluRequantize *e;
  QTUNE_DW void operator()(const float *real, int64_t at, int64_t n) const {
    silu_requantize_at<U8>(real, y, at, n, *e);
  }
};

} // namespace

bool ConvDwU8::available() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512dq");
  return has;
}

bool ConvDwU8::fits(const int8::ConvGeometry &g, const int8_t *w) {
  if (g.group != g.c || g.oc != g.c || g.c % kLanes != 0 || g.kh > kMaxTapRows || g.pad_t < 0 ||
      g.pad_l < 0)
    return false;
  const int64_t taps = g.kh * g.kw;
  for (int64_t o = 0; o < g.c; ++o) {
    int64_t abs_sum = 0;
    for (int64_t k = 0; k < taps; ++k)
      abs_sum += std::abs(int{w[o * taps + k]});
    if (255 * abs_sum >= int64_t{1} << 24) // |x - zp| <= 255
      return false;
  }
  return true;
}

ConvDwU8::ConvDwU8(const int8::ConvGeometry &g, const int8_t *w, int32_t x_zero_point,
                   const std::vector<float> &bias, const std::vector<float> &scale)
    : g_(g), zp_(static_cast<float>(x_zero_point)) {
  wide_ = std::max(g.pad_l + g.w, (g.ow - 1) * g.stride_w + (g.kw - 1) * g.dil_w + 1);
  const int64_t taps = g.kh * g.kw;
  w_.assign(static_cast<size_t>(taps * g.c), 0.f);
  for (int64_t o = 0; o < g.c; ++o)
    for (int64_t k = 0; k < taps; ++k)
      w_[k * g.c + o] = static_cast<float>(w[o * taps + k]);
  bias_.resize(static_cast<size_t>(g.c));
  scale_.resize(static_cast<size_t>(g.c));
  for (int64_t o = 0; o < g.c; ++o) {
    bias_[o] = bias.at(o);
    scale_[o] = scale.at(scale.size() == 1 ? 0 : o);
  }
}

// Channel groups: a group's ring of widened rows (span rows of wide_
// pixels) stays within kRingBytes, so every tap row is read from L1; a
// wide conv (MobileNetV2's 144-960 channels) runs group by group over the
// thread's rows. A group of all channels writes each output row in one run.
template <typename Epilogue> void ConvDwU8::run(const uint8_t *x, Epilogue epi) const {
  const auto &g = g_;
  const int64_t rows = g.n * g.oh, span = (g.kh - 1) * g.dil_h + 1, blocks = g.c / kLanes;
  const int64_t fit = kRingBytes / (span * wide_ * kLanes * int64_t{sizeof(float)});
  const int64_t group = std::min(std::max<int64_t>(fit, kMinGroupBlocks), blocks) * kLanes;
  auto range = [&](int64_t first, int64_t last) {
    Floats ring(static_cast<size_t>(span * wide_ * group)), real(static_cast<size_t>(g.ow * group));
    const float *taps[kMaxTapRows];
    for (int64_t c0 = 0; c0 < g.c; c0 += group) {
      const int64_t width = std::min(group, g.c - c0), row_floats = wide_ * width;
      // The image row held in each slot (slot = row mod span: the rows one
      // output row reads are span consecutive rows at most).
      std::vector<int64_t> held(static_cast<size_t>(span), -1);
      for (int64_t r = first; r < last; ++r) {
        const int64_t n = r / g.oh, oy = r % g.oh;
        for (int64_t i = 0; i < g.kh; ++i) {
          const int64_t iy = oy * g.stride_h - g.pad_t + i * g.dil_h;
          taps[i] = nullptr;
          if (iy < 0 || iy >= g.h)
            continue;
          const int64_t slot = iy % span, tag = n * g.h + iy;
          float *dst = ring.data + slot * row_floats;
          if (held[slot] != tag) {
            // Padding columns keep the zeros they were allocated with (a
            // narrower last group reuses the ring: its pads are zero too).
            if (width != group && held[slot] == -1)
              std::fill_n(dst, row_floats, 0.f);
            widen(x + tag * g.w * g.c + c0, g.c, g.w, width, dst + g.pad_l * width, zp_);
            held[slot] = tag;
          }
          taps[i] = dst;
        }
        dw_row(g, {taps, width, w_.data() + c0, bias_.data() + c0, scale_.data() + c0, g.c,
                   real.data});
        const int64_t at = r * g.ow * g.c + c0;
        if (width == g.c)
          epi(real.data, at, g.ow * g.c);
        else
          for (int64_t ox = 0; ox < g.ow; ++ox)
            epi(real.data + ox * width, at + ox * g.c, width);
      }
    }
  };
  const int threads = omp_get_max_threads();
  if (threads == 1 || rows < 2 || rows * g.ow * g.c * g.kh * g.kw < kParallelMacs ||
      omp_in_parallel()) {
    range(0, rows);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const int64_t t = omp_get_thread_num(), n = omp_get_num_threads();
    range(rows * t / n, rows * (t + 1) / n);
  }
}

void ConvDwU8::silu_quantize(const uint8_t *x, void *y, const SiluRequantize &e) const {
  auto *out = static_cast<int8_t *>(y);
  if (e.u8_out)
    run(x, SiluRun<true>{out, &e});
  else
    run(x, SiluRun<false>{out, &e});
}

void ConvDwU8::real(const uint8_t *x, float *y) const {
  run(x, [y](const float *real, int64_t at, int64_t n) {
    std::memcpy(y + at, real, static_cast<size_t>(n) * sizeof(float));
  });
}

} // namespace qtune::kernels

#pragma GCC diagnostic pop
