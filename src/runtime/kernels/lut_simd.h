#pragma once
// Byte tables applied to int8 values: 256 entries indexed by one value's byte
// (u8(x) for s8 values too), what qtune:QLut's one-input form runs (qlut.cpp)
// and what qtune:QConv applies to its own int8 output when the lowering folded
// such a table into it (qconv.cpp); 65536 entries indexed by a pair of bytes,
// QLut's two-input form.
#include <algorithm>
#include <cstdint>
#include <immintrin.h>

namespace qtune::kernels {
namespace {

#define QTUNE_VBMI __attribute__((target("avx512f,avx512bw,avx512vbmi")))

// 64 table lookups per step with AVX-512 VBMI: vpermi2b picks from two 64-byte
// table quarters by the low 7 bits, the sign bit chooses the half.
QTUNE_VBMI inline __m512i map64(__m512i v, __m512i t0, __m512i t1, __m512i t2, __m512i t3) {
  __m512i lo = _mm512_permutex2var_epi8(t0, v, t1);
  __m512i hi = _mm512_permutex2var_epi8(t2, v, t3);
  return _mm512_mask_blend_epi8(_mm512_movepi8_mask(v), lo, hi);
}

QTUNE_VBMI inline void lut_vbmi(const uint8_t *x, uint8_t *y, int64_t n, const uint8_t *t) {
  const __m512i t0 = _mm512_loadu_si512(t), t1 = _mm512_loadu_si512(t + 64),
                t2 = _mm512_loadu_si512(t + 128), t3 = _mm512_loadu_si512(t + 192);
  int64_t i = 0;
  for (; i + 64 <= n; i += 64)
    _mm512_storeu_si512(y + i, map64(_mm512_loadu_si512(x + i), t0, t1, t2, t3));
  if (i < n) {
    const __mmask64 m = ~0ULL >> (64 - (n - i));
    _mm512_mask_storeu_epi8(y + i, m, map64(_mm512_maskz_loadu_epi8(m, x + i), t0, t1, t2, t3));
  }
}

inline bool lut_has_vbmi() {
  static const bool has =
      __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512bw");
  return has;
}

// y[i] = t[x[i]] for n bytes, on the calling thread; y may be x.
inline void lut_bytes(const uint8_t *x, uint8_t *y, int64_t n, const uint8_t *t) {
  if (lut_has_vbmi()) {
    lut_vbmi(x, y, n, t);
    return;
  }
  for (int64_t i = 0; i < n; ++i)
    y[i] = t[x[i]];
}

// lut_bytes over n bytes in 16 KB pieces, on the calling OpenMP team when n
// is large (QLut's one-input form, QConv's folded table).
inline void lut_map(const uint8_t *x, uint8_t *y, int64_t n, const uint8_t *t) {
  constexpr int64_t kChunk = 16384;
#pragma omp parallel for if (n > 262144) schedule(static)
  for (int64_t b = 0; b < n; b += kChunk)
    lut_bytes(x + b, y + b, std::min(n, b + kChunk) - b, t);
}

#define QTUNE_AVX512BW __attribute__((target("avx512f,avx512bw")))

// 16 lookups per step in a 65536-entry table by (a << 8) | b: one dword
// gather at those byte offsets, the low byte of each kept. `t` must be
// readable 3 bytes past its end (a padded copy).
QTUNE_AVX512BW inline void lut2_gather(const uint8_t *a, const uint8_t *b, uint8_t *y, int64_t n,
                                       const uint8_t *t) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512i ia =
        _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i *>(a + i)));
    const __m512i ib =
        _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i *>(b + i)));
    const __m512i v = _mm512_i32gather_epi32(_mm512_or_si512(_mm512_slli_epi32(ia, 8), ib), t, 1);
    _mm_storeu_si128(reinterpret_cast<__m128i *>(y + i), _mm512_cvtepi32_epi8(v));
  }
  for (; i < n; ++i)
    y[i] = t[a[i] * 256 + b[i]];
}

inline bool lut2_has_gather() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
  return has;
}

// y[i] = t[a[i] * 256 + b[i]] for n bytes, on the calling thread; y may be a
// or b. `t` as lut2_gather's.
inline void lut2_bytes(const uint8_t *a, const uint8_t *b, uint8_t *y, int64_t n,
                       const uint8_t *t) {
  if (lut2_has_gather()) {
    lut2_gather(a, b, y, n, t);
    return;
  }
  for (int64_t i = 0; i < n; ++i)
    y[i] = t[a[i] * 256 + b[i]];
}

#undef QTUNE_AVX512BW
#undef QTUNE_VBMI

} // namespace
} // namespace qtune::kernels
