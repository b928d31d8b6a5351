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

// oneDNN's constants, by their bits.
constexpr float kLnFltMin = std::bit_cast<float>(0xc2aeac50u); // ln FLT_MIN
constexpr float kLog2e = std::bit_cast<float>(0x3fb8aa3bu);
constexpr float kLn2 = std::bit_cast<float>(0x3f317218u);
// exp(r) = 1 + p1 r + ... + p5 r^5 on |r| <= ln2/2.
constexpr float kP[6] = {1.f,
                         std::bit_cast<float>(0x3f7ffffbu),  // 0.999999701
                         std::bit_cast<float>(0x3efffee3u),  // 0.499991506
                         std::bit_cast<float>(0x3e2aad40u),  // 0.166676521
                         std::bit_cast<float>(0x3d2b9d0du),  // 0.0418978221
                         std::bit_cast<float>(0x3c07cfceu)}; // 0.00828929059
// Below this many values the OpenMP fork costs more than it saves.
constexpr int64_t kParallelMin = 1 << 15;
constexpr int64_t kChunk = 1 << 12; // floats per task: 16 KB, whole cache lines

const bool kHasAvx512 = __builtin_cpu_supports("avx512f");

#define QTUNE_AVX512 __attribute__((target("avx512f")))

QTUNE_AVX512 inline __m512 silu16(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.f);
  // t = -|x| by the sign bit; max() also maps NaN to the bound (x keeps it).
  const __m512 t = _mm512_max_ps(
      _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(x), _mm512_set1_epi32(INT32_MIN))),
      _mm512_set1_ps(kLnFltMin));
  const __m512i n = _mm512_cvt_roundps_epi32(
      _mm512_add_ps(_mm512_mul_ps(t, _mm512_set1_ps(kLog2e)), _mm512_set1_ps(0.5f)),
      _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  const __m512 r = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(n), _mm512_set1_ps(kLn2), t);
  const __m512 pow2 = // 2^(n-1): biased exponent n - 1 + 127
      _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n, _mm512_set1_epi32(126)), 23));
  __m512 p = _mm512_set1_ps(kP[5]);
  for (int i = 4; i >= 0; --i)
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP[i]));
  const __m512 e = _mm512_mul_ps(_mm512_mul_ps(p, pow2), _mm512_set1_ps(2.f)); // exp(t)
  const __m512 q = _mm512_div_ps(e, _mm512_add_ps(e, one));
  const __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
  return _mm512_mul_ps(_mm512_mask_blend_ps(neg, _mm512_sub_ps(one, q), q), x);
}

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

// 16 floats -> 16 int32 in the int8 type's range: fma with the scale and zero
// point, clamp in f32, round half to even (vcvtps2dq under the default MXCSR).
template <bool U8> QTUNE_AVX512 inline __m512i quantize16(__m512 v, __m512 inv_scale, __m512 zp) {
  const __m512 lo = _mm512_set1_ps(U8 ? 0.f : -128.f), hi = _mm512_set1_ps(U8 ? 255.f : 127.f);
  return _mm512_cvtps_epi32(
      _mm512_min_ps(_mm512_max_ps(_mm512_fmadd_ps(v, inv_scale, zp), lo), hi));
}

// 16 int8 addend values in real units, (a - zero_point) * scale added to v
// by one fma: oneDNN's sum post-op (bit-identical on 10 M outputs of its
// int8 conv with swish, sum and linear post-ops, where a separate multiply
// and add differed in 3).
QTUNE_AVX512 inline __m512 add16(__m512 v, const Int8Addend &a, const int8_t *p) {
  const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i *>(p));
  const __m512i w = a.is_u8 ? _mm512_cvtepu8_epi32(q) : _mm512_cvtepi8_epi32(q);
  const __m512 real = _mm512_sub_ps(_mm512_cvtepi32_ps(w), _mm512_set1_ps(a.zero_point));
  return _mm512_fmadd_ps(real, _mm512_set1_ps(a.scale), v);
}

template <bool U8>
QTUNE_AVX512 void silu_quantize_avx512(const float *x, void *y, float inv_scale, float zero_point,
                                       int64_t n, const Int8Addend *add) {
  auto *out = static_cast<int8_t *>(y);
  const auto *a = add ? static_cast<const int8_t *>(add->data) : nullptr;
  const __m512 s = _mm512_set1_ps(inv_scale), z = _mm512_set1_ps(zero_point);
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) { // two chains, as silu_add_avx512
    __m512 u = silu16(_mm512_loadu_ps(x + i)), v = silu16(_mm512_loadu_ps(x + i + 16));
    if (a) { // read before the stores: y may be the addend's buffer
      u = add16(u, *add, a + i);
      v = add16(v, *add, a + i + 16);
    }
    _mm_storeu_si128(reinterpret_cast<__m128i *>(out + i),
                     _mm512_cvtepi32_epi8(quantize16<U8>(u, s, z)));
    _mm_storeu_si128(reinterpret_cast<__m128i *>(out + i + 16),
                     _mm512_cvtepi32_epi8(quantize16<U8>(v, s, z)));
  }
  for (; i < n; i += 16) {
    const int64_t m = std::min<int64_t>(16, n - i);
    const __mmask16 k = static_cast<__mmask16>((1u << m) - 1);
    __m512 u = silu16(_mm512_maskz_loadu_ps(k, x + i));
    if (a) {
      int8_t tail[16] = {};
      std::memcpy(tail, a + i, static_cast<size_t>(m));
      u = add16(u, *add, tail);
    }
    _mm512_mask_cvtepi32_storeu_epi8(out + i, k, quantize16<U8>(u, s, z));
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
  if (kHasAvx512 && is_u8)
    silu_quantize_avx512<true>(x, y, inv_scale, zero_point, n, add);
  else if (kHasAvx512)
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

float silu_scalar(float x) {
  if (std::isnan(x))
    return x;
  // The steps of silu16, one value (no fma contraction: see the top).
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
  return (x < 0.f ? q : 1.f - q) * x;
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
    Int8Addend part = *addend;
    part.data = static_cast<const int8_t *>(addend->data) + i;
    silu_quantize_range(x + i, out + i, is_u8, inv_scale, zero_point, m, &part);
  });
}

} // namespace qtune::kernels
