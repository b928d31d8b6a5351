// SiLU pass: see silu.h. exp(-x) by range reduction (k = round(-x log2 e),
// r = -x - k ln2 in two parts), a degree-5 polynomial for exp(r) on
// |r| <= ln2/2 and 2^k applied with vscalefps; the reciprocal of 1 + exp(-x)
// by vrcp14ps and one Newton step (relative error ~2^-28 before rounding).
#include "runtime/kernels/silu.h"

#include <algorithm>
#include <cmath>
#include <immintrin.h>

// GCC 12 warns about the self-initialised placeholder inside its own
// _mm512_undefined_ps() that the masked-less intrinsics pass through.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace qtune::kernels {
namespace {

// -x is clamped here: exp(80) is still a normal float, and so is its reciprocal.
constexpr float kClamp = 80.f;
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693359375f; // ln 2 = kLn2Hi + kLn2Lo, kLn2Hi exact in 9 bits
constexpr float kLn2Lo = -2.12194440e-4f;
// exp(r) on |r| <= ln2/2 as c0 + c1 r + ... + c5 r^5: a relative-error
// minimax fit made for this file (iteratively reweighted least squares on
// 40001 points); 1.8e-7 relative when evaluated by f32 Horner steps.
constexpr float kP[6] = {1.000000119e+00f, 9.999997020e-01f, 4.999890029e-01f,
                         1.666757464e-01f, 4.191482440e-02f, 8.297415450e-03f};
// Below this many values the OpenMP fork costs more than it saves.
constexpr int64_t kParallelMin = 1 << 15;
constexpr int64_t kChunk = 1 << 12; // floats per task: 16 KB, whole cache lines

const bool kHasAvx512 = __builtin_cpu_supports("avx512f");

#define QTUNE_AVX512 __attribute__((target("avx512f")))

QTUNE_AVX512 inline __m512 silu16(__m512 v) {
  const __m512 t =
      _mm512_min_ps(_mm512_max_ps(_mm512_sub_ps(_mm512_setzero_ps(), v), _mm512_set1_ps(-kClamp)),
                    _mm512_set1_ps(kClamp));
  // round(t log2 e) by adding and removing 1.5 * 2^23 (|t log2 e| < 2^22):
  // cheaper than vrndscaleps, which takes two uops on the busy port 0.
  const __m512 magic = _mm512_set1_ps(12582912.f);
  const __m512 k = _mm512_sub_ps(_mm512_fmadd_ps(t, _mm512_set1_ps(kLog2e), magic), magic);
  __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(kLn2Hi), t);
  r = _mm512_fnmadd_ps(k, _mm512_set1_ps(kLn2Lo), r);
  __m512 p = _mm512_set1_ps(kP[5]);
  for (int i = 4; i >= 0; --i)
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP[i]));                          // exp(r)
  const __m512 d = _mm512_add_ps(_mm512_scalef_ps(p, k), _mm512_set1_ps(1.f)); // 1 + exp(-x)
  __m512 q = _mm512_rcp14_ps(d);
  q = _mm512_mul_ps(q, _mm512_fnmadd_ps(d, q, _mm512_set1_ps(2.f)));
  // Below -kClamp the clamped exp would leave x * e^-80 (-inf stays -inf):
  // those lanes are 0. The ordered compare is false for NaN, which propagates.
  const __mmask16 tiny = _mm512_cmp_ps_mask(v, _mm512_set1_ps(-kClamp), _CMP_LT_OQ);
  return _mm512_maskz_mul_ps(static_cast<__mmask16>(~tiny), v, q);
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

#pragma GCC diagnostic pop

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
  if (x < -kClamp)
    return 0.f;
  const float t = std::clamp(-x, -kClamp, kClamp);
  const float k = std::nearbyint(t * kLog2e);
  float r = std::fma(-k, kLn2Hi, t);
  r = std::fma(-k, kLn2Lo, r);
  float p = kP[5];
  for (int i = 4; i >= 0; --i)
    p = std::fma(p, r, kP[i]);
  return x / (std::ldexp(p, static_cast<int>(k)) + 1.f);
}

void silu_inplace(float *x, int64_t n) {
  in_chunks(n, [x](int64_t i, int64_t m) { silu_range(x + i, m); });
}

void silu_add_inplace(float *y, const float *a, int64_t n) {
  in_chunks(n, [y, a](int64_t i, int64_t m) { silu_add_range(y + i, a + i, m); });
}

} // namespace qtune::kernels
