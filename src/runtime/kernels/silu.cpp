// SiLU pass: see silu.h. The arithmetic is oneDNN 2.6's swish (its jit
// eltwise injector, also inside its conv post-ops) step for step, so that the
// pass gives the same bits as the post-op it replaces:
//   t = max(-|x|, ln FLT_MIN); n = floor(t log2e + 1/2) (product rounded, then
//   the sum); r = t - n ln2 (one fma); p = 1 + r(p1 + r(p2 + ... r p5))
//   (Horner fmas); e = (p * 2^(n-1)) * 2; q = e / (e + 1) (correctly rounded
//   division); sigmoid = q for x < 0, else 1 - q; silu = sigmoid * x.
// 2^(n-1) is built in the exponent field, 0 when n - 1 = -127 (which is what
// oneDNN's mask for t < ln FLT_MIN yields too). Checked against oneDNN's
// eltwise_swish primitive on all 2^32 float inputs: identical except NaN
// payloads (tests/runtime/test_silu.cpp samples 2^24 of them). The file is
// compiled with -ffp-contract=off (src/CMakeLists.txt): a multiply and an add
// that oneDNN keeps apart must not become one fma here.
#include "runtime/kernels/silu.h"
#include "runtime/kernels/silu_simd.h"

#include <algorithm>
#include <bit>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <immintrin.h>
#include <type_traits>

// GCC 12 warns about the self-initialised placeholder inside its own
// _mm512_undefined_ps() that the masked-less intrinsics pass through.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace qtune::kernels {
namespace {

using namespace simd;

// Below this many values the OpenMP fork costs more than it saves.
constexpr int64_t kParallelMin = 1 << 15;
constexpr int64_t kChunk = 1 << 12; // floats per task: 16 KB, whole cache lines

const bool kHasAvx512 = __builtin_cpu_supports("avx512f");
const bool kHasAvx512Dq = kHasAvx512 && __builtin_cpu_supports("avx512dq");
const bool kHasInt8Silu = kHasAvx512Dq && __builtin_cpu_supports("avx512bw");

QTUNE_AVX512 void silu_avx512(float *x, int64_t n) {
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) { // four independent chains keep both FMA ports fed
    const __m512 a = silu16(_mm512_loadu_ps(x + i)), b = silu16(_mm512_loadu_ps(x + i + 16));
    const __m512 c = silu16(_mm512_loadu_ps(x + i + 32)), d = silu16(_mm512_loadu_ps(x + i + 48));
    _mm512_storeu_ps(x + i, a);
    _mm512_storeu_ps(x + i + 16, b);
    _mm512_storeu_ps(x + i + 32, c);
    _mm512_storeu_ps(x + i + 48, d);
  }
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(x + i, silu16(_mm512_loadu_ps(x + i)));
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(x + i, m, silu16(_mm512_maskz_loadu_ps(m, x + i)));
  }
}

QTUNE_AVX512 void sigmoid_avx512(float *x, int64_t n) {
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) { // two chains around the division
    const __m512 a = sigmoid16(_mm512_loadu_ps(x + i)), b = sigmoid16(_mm512_loadu_ps(x + i + 16));
    _mm512_storeu_ps(x + i, a);
    _mm512_storeu_ps(x + i + 16, b);
  }
  for (; i < n; i += 16) {
    const __mmask16 m = static_cast<__mmask16>((1u << std::min<int64_t>(16, n - i)) - 1);
    _mm512_mask_storeu_ps(x + i, m, sigmoid16(_mm512_maskz_loadu_ps(m, x + i)));
  }
}

QTUNE_AVX512DQ void sigmoid_fast_avx512(float *x, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = static_cast<__mmask16>((1u << std::min<int64_t>(16, n - i)) - 1);
    _mm512_mask_storeu_ps(x + i, m, sigmoid16_fast(_mm512_maskz_loadu_ps(m, x + i)));
  }
}

QTUNE_AVX512 void silu_add_avx512(float *y, const float *a, int64_t n) {
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) { // two chains: the addend loads share the ports
    const __m512 u = _mm512_add_ps(silu16(_mm512_loadu_ps(y + i)), _mm512_loadu_ps(a + i));
    const __m512 v =
        _mm512_add_ps(silu16(_mm512_loadu_ps(y + i + 16)), _mm512_loadu_ps(a + i + 16));
    _mm512_storeu_ps(y + i, u);
    _mm512_storeu_ps(y + i + 16, v);
  }
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(y + i, _mm512_add_ps(silu16(_mm512_loadu_ps(y + i)), _mm512_loadu_ps(a + i)));
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(
        y + i, m,
        _mm512_add_ps(silu16(_mm512_maskz_loadu_ps(m, y + i)), _mm512_maskz_loadu_ps(m, a + i)));
  }
}

// silu16_fast over y, + a when given. One chain: its 16 operations have no
// long latency (no division), so the out-of-order core overlaps iterations.
QTUNE_AVX512DQ void silu_fast_avx512(float *y, const float *a, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 v = silu16_fast(_mm512_loadu_ps(y + i));
    if (a)
      v = _mm512_add_ps(v, _mm512_loadu_ps(a + i));
    _mm512_storeu_ps(y + i, v);
  }
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    __m512 v = silu16_fast(_mm512_maskz_loadu_ps(m, y + i));
    if (a)
      v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, a + i));
    _mm512_mask_storeu_ps(y + i, m, v);
  }
}

#pragma GCC diagnostic pop

template <typename T>
void silu_quantize_plain(const float *x, T *y, float inv_scale, float zero_point, int64_t n,
                         const Int8Addend *add) {
  constexpr float lo = std::is_same_v<T, uint8_t> ? 0.f : -128.f;
  constexpr float hi = std::is_same_v<T, uint8_t> ? 255.f : 127.f;
  for (int64_t i = 0; i < n; ++i) {
    float v = silu_scalar(x[i]);
    if (add) {
      const float q = add->is_u8 ? static_cast<const uint8_t *>(add->data)[i]
                                 : static_cast<const int8_t *>(add->data)[i];
      v = std::fma(q - add->zero_point, add->scale, v);
    }
    v = std::fma(v, inv_scale, zero_point);
    y[i] = static_cast<T>(std::nearbyint(std::isnan(v) ? lo : std::clamp(v, lo, hi)));
  }
}

void silu_quantize_range(const float *x, void *y, bool is_u8, float inv_scale, float zero_point,
                         int64_t n, const Int8Addend *add) {
  if (kHasInt8Silu && is_u8)
    silu_quantize_avx512<true>(x, y, inv_scale, zero_point, n, add);
  else if (kHasInt8Silu)
    silu_quantize_avx512<false>(x, y, inv_scale, zero_point, n, add);
  else if (is_u8)
    silu_quantize_plain(x, static_cast<uint8_t *>(y), inv_scale, zero_point, n, add);
  else
    silu_quantize_plain(x, static_cast<int8_t *>(y), inv_scale, zero_point, n, add);
}

void silu_plain(float *x, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    x[i] = silu_scalar(x[i]);
}

void silu_range(float *x, int64_t n) {
  if (kHasAvx512)
    silu_avx512(x, n);
  else
    silu_plain(x, n);
}

void silu_add_range(float *y, const float *a, int64_t n) {
  if (kHasAvx512) {
    silu_add_avx512(y, a, n);
    return;
  }
  for (int64_t i = 0; i < n; ++i)
    y[i] = silu_scalar(y[i]) + a[i];
}

// run(i, m) over [i, i + m) for the n values: at once below kParallelMin,
// else in kChunk pieces on the calling OpenMP team.
template <typename Run> void in_chunks(int64_t n, Run run) {
  if (n < kParallelMin) {
    run(0, n);
    return;
  }
  const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for
  for (int64_t c = 0; c < chunks; ++c)
    run(c * kChunk, std::min(kChunk, n - c * kChunk));
}

} // namespace

bool silu_inplace_is_fast() {
  return kHasAvx512;
}

bool silu_quantize_is_fast() {
  return kHasInt8Silu;
}

bool silu_fast_is_available() {
  return kHasAvx512Dq;
}

void silu_fast_inplace(float *x, int64_t n) {
  in_chunks(n, [x](int64_t i, int64_t m) { silu_fast_avx512(x + i, nullptr, m); });
}

void silu_fast_add_inplace(float *y, const float *a, int64_t n) {
  in_chunks(n, [y, a](int64_t i, int64_t m) { silu_fast_avx512(y + i, a + i, m); });
}

float silu_scalar(float x) {
  return std::isnan(x) ? x : sigmoid_scalar(x) * x;
}

float sigmoid_scalar(float x) {
  if (std::isnan(x))
    return x;
  // The steps of sigmoid16, one value (no fma contraction: see the top).
  const float t = std::max(-std::fabs(x), kLnFltMin);
  const float y = t * kLog2e;
  const float fx = std::floor(y + 0.5f);
  const float r = std::fma(-fx, kLn2, t);
  const uint32_t bits = static_cast<uint32_t>(static_cast<int32_t>(fx) + 126) << 23;
  const float pow2 = std::bit_cast<float>(bits);
  float p = kP[5];
  for (int i = 4; i >= 0; --i)
    p = std::fma(p, r, kP[i]);
  const float e = (p * pow2) * 2.f;
  const float q = e / (e + 1.f);
  return x < 0.f ? q : 1.f - q;
}

void sigmoid_inplace(float *x, int64_t n) {
  in_chunks(n, [x](int64_t i, int64_t m) {
    if (kHasAvx512)
      sigmoid_avx512(x + i, m);
    else
      for (int64_t k = i; k < i + m; ++k)
        x[k] = sigmoid_scalar(x[k]);
  });
}

void sigmoid_fast_inplace(float *x, int64_t n) {
  in_chunks(n, [x](int64_t i, int64_t m) { sigmoid_fast_avx512(x + i, m); });
}

void silu_inplace(float *x, int64_t n) {
  in_chunks(n, [x](int64_t i, int64_t m) { silu_range(x + i, m); });
}

void silu_add_inplace(float *y, const float *a, int64_t n) {
  in_chunks(n, [y, a](int64_t i, int64_t m) { silu_add_range(y + i, a + i, m); });
}

void silu_quantize(const float *x, void *y, bool is_u8, float inv_scale, float zero_point,
                   int64_t n, const Int8Addend *addend) {
  auto *out = static_cast<int8_t *>(y);
  in_chunks(n, [=](int64_t i, int64_t m) {
    if (!addend) {
      silu_quantize_range(x + i, out + i, is_u8, inv_scale, zero_point, m, nullptr);
      return;
    }
    const Int8Addend part = addend->from(i);
    silu_quantize_range(x + i, out + i, is_u8, inv_scale, zero_point, m, &part);
  });
}

} // namespace qtune::kernels
