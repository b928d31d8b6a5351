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

// A 64-byte aligned, zero-filled float buffer.
struct Floats {
  explicit Floats(size_t n) : raw(n + kLanes, 0.f) {
    const auto misalign = reinterpret_cast<uintptr_t>(raw.data()) % 64;
    data = raw.data() + (64 - misalign) % 64 / sizeof(float);
  }
  std::vector<float> raw;
  float *data;
};

// u8 -> f32 (x - zp), 16 values a step (n is a multiple of 16).
QTUNE_DW void widen(const uint8_t *x, float *y, int64_t n, float zp) {
  const __m512 z = _mm512_set1_ps(zp);
  for (int64_t i = 0; i < n; i += kLanes) {
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i *>(x + i));
    _mm512_store_ps(y + i, _mm512_sub_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(b)), z));
  }
}

// M output pixels of one 16-channel block: the taps (kh rows, a null row is
// padding) times the weights, exact in f32, then + bias, * scale.
template <int M>
QTUNE_DW void pixels(const float *const *taps, int64_t kh, int64_t kw, int64_t c, int64_t col0,
                     int64_t col_step, int64_t dil_w, const float *w, __m512 bias, __m512 scale,
                     float *out) {
  __m512 acc[M];
#pragma GCC unroll 8
  for (int u = 0; u < M; ++u)
    acc[u] = _mm512_setzero_ps();
  for (int64_t i = 0; i < kh; ++i) {
    if (!taps[i])
      continue;
    for (int64_t j = 0; j < kw; ++j) {
      const __m512 wv = _mm512_loadu_ps(w + (i * kw + j) * c);
      const float *r = taps[i] + (col0 + j * dil_w) * c;
#pragma GCC unroll 8
      for (int u = 0; u < M; ++u)
        acc[u] = _mm512_fmadd_ps(wv, _mm512_load_ps(r + u * col_step * c), acc[u]);
    }
  }
#pragma GCC unroll 8
  for (int u = 0; u < M; ++u) // oneDNN 2.6's order: bias before the scale
    _mm512_storeu_ps(out + u * c, _mm512_mul_ps(_mm512_add_ps(acc[u], bias), scale));
}

// The 3x3 undilated case (YOLOX's and MobileNet's dconvs) with stride S:
// the nine weights stay in registers for the whole row, and each input
// column is loaded once and used by every output pixel whose window holds it
// ((M - 1) S + 3 loads per tap row where the generic form makes 3 M).
template <int S, int M>
QTUNE_DW void pixels3x3(const float *const *taps, int64_t c, int64_t col0, const __m512 (&w)[9],
                        __m512 bias, __m512 scale, float *out) {
  __m512 acc[M];
#pragma GCC unroll 16
  for (int u = 0; u < M; ++u)
    acc[u] = _mm512_setzero_ps();
#pragma GCC unroll 3
  for (int i = 0; i < 3; ++i) {
    if (!taps[i])
      continue;
    const float *r = taps[i] + col0 * c;
#pragma GCC unroll 64
    for (int q = 0; q < (M - 1) * S + 3; ++q) {
      const __m512 v = _mm512_load_ps(r + q * c);
#pragma GCC unroll 16
      for (int u = 0; u < M; ++u) {
        const int j = q - u * S;
        if (j >= 0 && j < 3)
          acc[u] = _mm512_fmadd_ps(w[i * 3 + j], v, acc[u]);
      }
    }
  }
#pragma GCC unroll 16
  for (int u = 0; u < M; ++u) // oneDNN 2.6's order: bias before the scale
    _mm512_storeu_ps(out + u * c, _mm512_mul_ps(_mm512_add_ps(acc[u], bias), scale));
}

template <int S>
QTUNE_DW void row3x3(const int8::ConvGeometry &g, const float *w, const float *bias,
                     const float *scale, const float *const *taps, float *out) {
  const int64_t c = g.c;
  for (int64_t cb = 0; cb < c; cb += kLanes) {
    const __m512 bv = _mm512_loadu_ps(bias + cb), sv = _mm512_loadu_ps(scale + cb);
    __m512 wv[9];
    for (int k = 0; k < 9; ++k)
      wv[k] = _mm512_loadu_ps(w + k * c + cb);
    const float *tb[3] = {taps[0] ? taps[0] + cb : nullptr, taps[1] ? taps[1] + cb : nullptr,
                          taps[2] ? taps[2] + cb : nullptr};
    int64_t ox = 0;
    for (; ox + kPixels <= g.ow; ox += kPixels)
      pixels3x3<S, kPixels>(tb, c, ox * S, wv, bv, sv, out + ox * c + cb);
    for (; ox < g.ow; ++ox)
      pixels3x3<S, 1>(tb, c, ox * S, wv, bv, sv, out + ox * c + cb);
  }
}

// One output row (ow pixels x c channels) from the kh widened input rows
// (taps[i], null for a padded row); w: [kh * kw][c].
QTUNE_DW void dw_row(const int8::ConvGeometry &g, const float *w, const float *bias,
                     const float *scale, const float *const *taps, float *out) {
  const int64_t c = g.c, sw = g.stride_w;
  if (g.kh == 3 && g.kw == 3 && g.dil_w == 1 && (sw == 1 || sw == 2))
    return sw == 1 ? row3x3<1>(g, w, bias, scale, taps, out)
                   : row3x3<2>(g, w, bias, scale, taps, out);
  for (int64_t cb = 0; cb < c; cb += kLanes) {
    const __m512 bv = _mm512_loadu_ps(bias + cb), sv = _mm512_loadu_ps(scale + cb);
    const float *tb[kMaxTapRows];
    for (int64_t i = 0; i < g.kh; ++i)
      tb[i] = taps[i] ? taps[i] + cb : nullptr;
    int64_t ox = 0;
    for (; ox + kPixels <= g.ow; ox += kPixels)
      pixels<kPixels>(tb, g.kh, g.kw, c, ox * sw, sw, g.dil_w, w + cb, bv, sv, out + ox * c + cb);
    for (; ox < g.ow; ++ox)
      pixels<1>(tb, g.kh, g.kw, c, ox * sw, sw, g.dil_w, w + cb, bv, sv, out + ox * c + cb);
  }
}

// SiLU [+ int8 addend] and requantisation of one scaled output row into the
// int8 output (row r of n x oh rows, row_n values each).
template <bool U8> struct SiluRow {
  int64_t row_n;
  int8_t *y;
  const SiluRequantize *e;

  QTUNE_DW void operator()(const float *real, int64_t r) const {
    const Int8Addend part = e->addend ? e->addend->from(r * row_n) : Int8Addend{};
    silu_quantize_avx512<U8>(real, y + r * row_n, e->inv_scale, e->zero_point, row_n,
                             e->addend ? &part : nullptr);
  }
};

} // namespace

bool ConvDwU8::available() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512dq");
  return has;
}

bool ConvDwU8::fits(const int8::ConvGeometry &g, const int8_t *w) {
  if (g.group != g.c || g.oc != g.c || g.c % kLanes != 0 || g.kh > kMaxTapRows)
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

template <typename Epilogue> void ConvDwU8::run(const uint8_t *x, Epilogue epi) const {
  const auto &g = g_;
  const int64_t rows = g.n * g.oh, span = (g.kh - 1) * g.dil_h + 1;
  const int64_t row_floats = wide_ * g.c, in_row = g.w * g.c;
  auto range = [&](int64_t first, int64_t last) {
    // The ring of widened rows (slot = input row mod span: the rows one
    // output row reads are span consecutive rows at most, so they never share
    // a slot) and the scaled output row.
    Floats ring(static_cast<size_t>(span * row_floats)), out(static_cast<size_t>(g.ow * g.c));
    std::vector<int64_t> held(static_cast<size_t>(span), -1); // image row in each slot
    const float *taps[kMaxTapRows];
    for (int64_t r = first; r < last; ++r) {
      const int64_t n = r / g.oh, oy = r % g.oh;
      for (int64_t i = 0; i < g.kh; ++i) {
        const int64_t iy = oy * g.stride_h - g.pad_t + i * g.dil_h;
        if (iy < 0 || iy >= g.h) {
          taps[i] = nullptr;
          continue;
        }
        const int64_t slot = iy % span, tag = n * g.h + iy;
        float *dst = ring.data + slot * row_floats;
        if (held[slot] != tag) {
          widen(x + tag * in_row, dst + g.pad_l * g.c, in_row, zp_);
          held[slot] = tag;
        }
        taps[i] = dst;
      }
      dw_row(g, w_.data(), bias_.data(), scale_.data(), taps, out.data);
      epi(out.data, r);
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
  if (e.u8_out)
    run(x, SiluRow<true>{g_.ow * g_.c, static_cast<int8_t *>(y), &e});
  else
    run(x, SiluRow<false>{g_.ow * g_.c, static_cast<int8_t *>(y), &e});
}

void ConvDwU8::real(const uint8_t *x, float *y) const {
  const int64_t row_n = g_.ow * g_.c;
  run(x, [&](const float *real, int64_t r) {
    std::memcpy(y + r * row_n, real, static_cast<size_t>(row_n) * sizeof(float));
  });
}

} // namespace qtune::kernels

#pragma GCC diagnostic pop
