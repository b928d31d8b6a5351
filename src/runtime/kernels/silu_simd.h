#pragma once
// The AVX-512 steps shared by the SiLU pass (silu.cpp) and the VNNI 1x1 int8
// convolution (qconv_1x1.cpp): oneDNN 2.6's swish on 16 floats, two faster
// forms (FP32 graphs; int8 outputs), oneDNN's sum post-op for an int8 addend
// and its requantisation. Every file including
// this must be compiled with -ffp-contract=off (src/CMakeLists.txt): a
// multiply and an add that oneDNN keeps apart must not become one fma.
#include <algorithm>
#include <bit>
#include <climits>
#include <cstdint>
#include <cstring>
#include <immintrin.h>

#include "runtime/kernels/silu.h"

// GCC 12 warns about the self-initialised placeholder inside its own
// _mm512_undefined_ps() that the unmasked intrinsics pass through.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace qtune::kernels::simd {
// Unnamed: each including file keeps its own copies, compiled with its own
// flags, so a future includer built without -ffp-contract=off cannot hand the
// linker an fma-contracted silu16 for everyone.
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

#define QTUNE_AVX512 __attribute__((target("avx512f")))

// oneDNN 2.6's eltwise_logistic on 16 floats, the sigmoid inside its swish:
// q = e / (e + 1) with e = exp(-|x|), then q for x < 0, else 1 - q (and 1
// for NaN: silu16's multiply by x gives the NaN back, sigmoid16 below).
QTUNE_AVX512 inline __m512 sigmoid16_not_nan(__m512 x) {
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
  return _mm512_mask_blend_ps(neg, _mm512_sub_ps(one, q), q);
}

QTUNE_AVX512 inline __m512 silu16(__m512 x) {
  return _mm512_mul_ps(sigmoid16_not_nan(x), x);
}

QTUNE_AVX512 inline __m512 sigmoid16(__m512 x) {
  return _mm512_mask_mov_ps(sigmoid16_not_nan(x), _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), x);
}

// SiLU for graphs with no quantized activation, where last bits do not matter
// (the Winograd and image-conv choices of kernels/conv.cpp have the same
// rule): 16 operations per 16 values where silu16 takes 21 and a division,
// 1.4x faster (bench_conv_fp32 BM_conv1x1_silu mode 3 vs 1). silu = x / (1 + 2^y), y = -x
// log2(e): y's fraction f (vreduceps) through a degree-5 fit of 2^f on
// [-1/2, 1/2] (iterated least squares on the relative error: 7.5e-8 in double,
// 2.3e-7 evaluated in f32), scaled by 2^(y - f) (vscalefps); the reciprocal is
// rcp14 plus one Newton step. x is first raised to -87 so 1 + 2^y stays
// finite, and y to -126 so +inf gives inf (NaN stays NaN: vmaxps returns its
// second operand for NaN). Relative error <= 1.5e-6 where |x| <= 16, <= 5e-6
// down to -87 (the rounding of y grows with |y|), |silu| < 1e-35 below and
// for -inf (tests/runtime/test_silu.cpp SiluFast.*).
#define QTUNE_AVX512DQ __attribute__((target("avx512f,avx512dq")))

// 1 + 2^y through y's fraction f (vreduceps: 0 for +-inf) and a polynomial
// fit of 2^f with coefficients c[0..N), scaled by 2^(y - f) (vscalefps): the
// denominator of both faster forms, x / (1 + 2^y) with y = -x log2(e).
template <int N> QTUNE_AVX512DQ inline __m512 one_plus_exp2(__m512 y, const float (&c)[N]) {
  const __m512 f =
      _mm512_reduce_ps(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); // y - round(y)
  __m512 p = _mm512_set1_ps(c[N - 1]);
  for (int i = N - 2; i >= 0; --i)
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(c[i]));
  return _mm512_add_ps(_mm512_scalef_ps(p, _mm512_sub_ps(y, f)), _mm512_set1_ps(1.f));
}

// 1 / (1 + 2^y) for x already raised to -87, the sigmoid of silu16_fast.
QTUNE_AVX512DQ inline __m512 sigmoid16_fast_raised(__m512 x) {
  constexpr float kC[6] = {1.0000001192092896f,  0.6931469440460205f,   0.24022120237350464f,
                           0.05550713092088699f, 0.009675541892647743f, 0.001327647129073739f};
  const __m512 d = one_plus_exp2(
      _mm512_max_ps(_mm512_set1_ps(-126.f), _mm512_mul_ps(x, _mm512_set1_ps(-kLog2e))), kC);
  const __m512 r = _mm512_rcp14_ps(d);
  return _mm512_mul_ps(r, _mm512_fnmadd_ps(d, r, _mm512_set1_ps(2.f)));
}

QTUNE_AVX512DQ inline __m512 silu16_fast(__m512 x) {
  x = _mm512_max_ps(_mm512_set1_ps(-87.f), x);
  return _mm512_mul_ps(sigmoid16_fast_raised(x), x);
}

// The sigmoid for graphs with no quantized activation (detection heads'
// scores): silu16_fast's, within 1.5e-6 relative where |x| <= 16, 5e-6 down
// to -87; 0 <= sigmoid < 1e-37 below, 1 from about 17 on, NaN stays NaN.
QTUNE_AVX512DQ inline __m512 sigmoid16_fast(__m512 x) {
  return sigmoid16_fast_raised(_mm512_max_ps(_mm512_set1_ps(-87.f), x));
}

// SiLU for values about to be rounded to an int8 level, 11 operations per 16
// values: x / (1 + 2^y) as silu16_fast, with a degree-4 fit of 2^f (2.6e-6
// relative; iterated least squares on the relative error) and rcp14 alone (<
// 2^-14), so within 6.5e-5 relative (tested down to x = -65; below -88 it
// is 0): the SiLU term v lands within 6.5e-5 |v| / scale of a step of where
// the exact SiLU would -- 0.017 of a step when |v| / scale <= 256, as without
// a residual addend inside the int8 range -- and its level is the exactly
// rounded one except that close to a tie (tests/runtime/silu_reference.h).
// No clamps: vreduceps gives 0 for +-inf, so x -> +inf gives 2^-inf = 0 and
// x itself, x < -88 gives 1 / inf = 0 (the SiLU's limit); only x = -inf gives
// NaN (0 * -inf), which the requantisation maps to the low level. oneDNN's
// bits (silu16) cost 1.23x more on the tuned YOLOX-Nano INT8 at 1 thread,
// buying nothing an int8 consumer can see: its AP moves as much from any
// bit-level change as from this one.
QTUNE_AVX512DQ inline __m512 silu16_int8(__m512 x) {
  constexpr float kC[5] = {0.9999992610926125f, 0.6931218171190706f, 0.24024746875229389f,
                           0.05591785596426578f, 0.009569998197072601f};
  const __m512 d = one_plus_exp2(_mm512_mul_ps(x, _mm512_set1_ps(-kLog2e)), kC);
  return _mm512_mul_ps(_mm512_rcp14_ps(d), x);
}

// 16 floats -> 16 int32 in the int8 type's range: fma with the scale and zero
// point, clamp in f32, round half to even (vcvtps2dq under the default MXCSR).
template <bool U8> QTUNE_AVX512 inline __m512i quantize16(__m512 v, __m512 inv_scale, __m512 zp) {
  const __m512 lo = _mm512_set1_ps(U8 ? 0.f : -128.f), hi = _mm512_set1_ps(U8 ? 255.f : 127.f);
  return _mm512_cvtps_epi32(
      _mm512_min_ps(_mm512_max_ps(_mm512_fmadd_ps(v, inv_scale, zp), lo), hi));
}

// 16 int8 addend values (the bytes q) in real units, (a - zero_point) *
// scale added to v by one fma: oneDNN's sum post-op (bit-identical on 10 M
// outputs of its int8 conv with swish, sum and linear post-ops, where a
// separate multiply and add differed in 3).
QTUNE_AVX512 inline __m512 add16_bytes(__m512 v, const Int8Addend &a, __m128i q) {
  const __m512i w = a.is_u8 ? _mm512_cvtepu8_epi32(q) : _mm512_cvtepi8_epi32(q);
  const __m512 real = _mm512_sub_ps(_mm512_cvtepi32_ps(w), _mm512_set1_ps(a.zero_point));
  return _mm512_fmadd_ps(real, _mm512_set1_ps(a.scale), v);
}

// The same, the 16 bytes read at p.
QTUNE_AVX512 inline __m512 add16(__m512 v, const Int8Addend &a, const int8_t *p) {
  return add16_bytes(v, a, _mm_loadu_si128(reinterpret_cast<const __m128i *>(p)));
}

#define QTUNE_AVX512BWDQ __attribute__((target("avx512f,avx512bw,avx512dq")))

// Four vectors of int32 levels into 64 int8 bytes in order: saturating packs
// int32 -> int16 -> u8 / s8 (INT_MIN, a NaN's conversion, gives the low
// level), and one dword permute undoing the packs' per-128-bit-lane
// interleave.
template <bool U8>
QTUNE_AVX512BWDQ inline __m512i pack64(__m512i q0, __m512i q1, __m512i q2, __m512i q3) {
  const __m512i ab = _mm512_packs_epi32(q0, q1), cd = _mm512_packs_epi32(q2, q3);
  const __m512i bytes = U8 ? _mm512_packus_epi16(ab, cd) : _mm512_packs_epi16(ab, cd);
  // Lane l holds dwords (q0, q1, q2, q3)[4l .. 4l + 3]: output dword j is
  // vector j / 4's elements 4 (j % 4) ..., found at dword 4 (j % 4) + j / 4.
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  return _mm512_permutexvar_epi32(order, bytes);
}

// 64 values (four vectors of 16, in order) requantised into 64 int8 bytes:
// fma with the scale and zero point, the top clamped in f32 (a value above
// 2^31 would convert to INT_MIN), then pack64 for the rest. 4.25 operations
// per 16 values where quantize16 + a narrowing store take 6.
template <bool U8>
QTUNE_AVX512BWDQ inline __m512i quantize64(const __m512 (&v)[4], __m512 inv_scale, __m512 zp) {
  const __m512 hi = _mm512_set1_ps(U8 ? 255.f : 127.f);
  __m512i q[4];
  for (int k = 0; k < 4; ++k) // min(hi, v): NaN v stays NaN
    q[k] = _mm512_cvtps_epi32(_mm512_min_ps(hi, _mm512_fmadd_ps(v[k], inv_scale, zp)));
  return pack64<U8>(q[0], q[1], q[2], q[3]);
}

template <bool U8>
QTUNE_AVX512BWDQ inline void silu_quantize_avx512(const float *x, void *y, float inv_scale,
                                                  float zero_point, int64_t n,
                                                  const Int8Addend *add) {
  auto *out = static_cast<int8_t *>(y);
  const auto *a = add ? static_cast<const int8_t *>(add->data) : nullptr;
  const __m512 s = _mm512_set1_ps(inv_scale), z = _mm512_set1_ps(zero_point);
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) { // four independent chains
    __m512 v[4];
    for (int k = 0; k < 4; ++k)
      v[k] = silu16_int8(_mm512_loadu_ps(x + i + 16 * k));
    if (a) // read before the store: y may be the addend's buffer
      for (int k = 0; k < 4; ++k)
        v[k] = add16(v[k], *add, a + i + 16 * k);
    _mm512_storeu_si512(out + i, quantize64<U8>(v, s, z));
  }
  for (; i < n; i += 16) {
    const int64_t m = std::min<int64_t>(16, n - i);
    const __mmask16 k = static_cast<__mmask16>((1u << m) - 1);
    __m512 u = silu16_int8(_mm512_maskz_loadu_ps(k, x + i));
    if (a) {
      int8_t tail[16] = {};
      std::memcpy(tail, a + i, static_cast<size_t>(m));
      u = add16(u, *add, tail);
    }
    _mm512_mask_cvtepi32_storeu_epi8(out + i, k, quantize16<U8>(u, s, z));
  }
}

// The fused epilogue of qtune's int8 convs (Conv1x1U8, ConvDwU8): n scaled
// values `real` into the output's bytes y + at, the addend (when there is
// one) read at the same offset.
template <bool U8>
QTUNE_AVX512BWDQ inline void silu_requantize_at(const float *real, int8_t *y, int64_t at, int64_t n,
                                                const SiluRequantize &e) {
  const Int8Addend part = e.addend ? e.addend->from(at) : Int8Addend{};
  silu_quantize_avx512<U8>(real, y + at, e.inv_scale, e.zero_point, n, e.addend ? &part : nullptr);
}

} // namespace
} // namespace qtune::kernels::simd

#pragma GCC diagnostic pop
