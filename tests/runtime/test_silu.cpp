// The SiLU pass that replaces oneDNN's swish post-op after convolutions
// (runtime/kernels/silu.h): bit for bit against oneDNN's own eltwise_swish
// and within 1e-6 of x / (1 + exp(-x)) in double precision; its quantizing
// form against the exact SiLU's int8 levels and oneDNN's swish + linear +
// int8 conversion.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <dnnl.hpp>
#include <gtest/gtest.h>
#include <limits>
#include <vector>

#include "runtime/kernels/silu.h"
#include "runtime/kernels/silu_simd.h"
#include "silu_reference.h"

namespace qtune {
namespace {

using test::silu_exact;

// Worst relative error over the values; below -80 the pass flushes to ~0.
double worst_error(const std::vector<float> &x, const std::vector<float> &y) {
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double ref = silu_exact(x[i]);
    if (x[i] < -80.f) {
      EXPECT_LT(std::abs(y[i]), 1e-30) << "x = " << x[i];
      continue;
    }
    const double err = ref == 0 ? std::abs(double(y[i])) : std::abs(y[i] - ref) / std::abs(ref);
    worst = std::max(worst, err);
  }
  return worst;
}

std::vector<float> sweep(float lo, float hi, int n) {
  std::vector<float> x(n);
  for (int i = 0; i < n; ++i)
    x[i] = lo + (hi - lo) * static_cast<float>(i) / static_cast<float>(n - 1);
  return x;
}

TEST(Silu, VectorPassWithinOneMillionthOfExact) {
  struct Case {
    float lo, hi;
    int n;
  } cases[] = {
      {-8.f, 8.f, 1 << 20},   // where conv outputs live
      {-100.f, 100.f, 99991}, // both saturations, flush below -80
      {-1e-3f, 1e-3f, 4097},  // near zero, where silu(x) ~ x / 2
      {-87.f, -79.f, 5003},   // the clamp
  };
  for (const Case &c : cases) {
    std::vector<float> x = sweep(c.lo, c.hi, c.n), y = x;
    kernels::silu_inplace(y.data(), static_cast<int64_t>(y.size()));
    EXPECT_LT(worst_error(x, y), 1e-6) << c.lo << " .. " << c.hi;
  }
}

TEST(Silu, ScalarFormWithinOneMillionthOfExact) {
  std::vector<float> x = sweep(-90.f, 90.f, 200001), y(x.size());
  for (size_t i = 0; i < x.size(); ++i)
    y[i] = kernels::silu_scalar(x[i]);
  EXPECT_LT(worst_error(x, y), 1e-6);
}

// Lengths around the 64-wide unrolled loop, the 16-wide loop and the masked
// tail, and one on the OpenMP path: only the n values change, nothing before
// or after them.
TEST(Silu, LengthsTouchExactlyTheirValues) {
  for (int n : {0, 1, 15, 16, 17, 63, 64, 65, 79, 80, 127, 128, 140, 100003}) {
    std::vector<float> buf(n + 32, 3.f);
    kernels::silu_inplace(buf.data() + 16, n);
    for (int i = 0; i < n + 32; ++i) {
      const bool inside = i >= 16 && i < n + 16;
      const float want = inside ? static_cast<float>(silu_exact(3.0)) : 3.f;
      ASSERT_NEAR(buf[i], want, 3e-6) << "n " << n << " index " << i;
    }
  }
}

// silu(y) + a over lengths around the 32-wide loop, the 16-wide loop, the
// masked tail and the OpenMP path: each value is the pass's own SiLU plus its
// addend, and nothing outside the n values changes.
void check_add_pass(void (*pass)(float *, const float *, int64_t), std::vector<int> lengths) {
  for (int n : lengths) {
    std::vector<float> y(n + 32), a(n + 32), x(n + 32);
    for (int i = 0; i < n + 32; ++i) {
      x[i] = y[i] = -6.f + 12.f * static_cast<float>((i * 37) % 101) / 100.f;
      a[i] = static_cast<float>((i * 13) % 7) - 3.f;
    }
    pass(y.data() + 16, a.data() + 16, n);
    for (int i = 0; i < n + 32; ++i) {
      const bool inside = i >= 16 && i < n + 16;
      const double want = inside ? silu_exact(x[i]) + a[i] : x[i];
      ASSERT_NEAR(y[i], want, 1e-5) << "n " << n << " index " << i;
    }
  }
}

TEST(Silu, AddPassIsSiluPlusAddend) {
  check_add_pass(kernels::silu_add_inplace, {0, 1, 15, 16, 17, 31, 32, 33, 47, 48, 50, 100003});
}

TEST(Silu, NanStaysNan) {
  std::vector<float> x(20, std::nanf(""));
  kernels::silu_inplace(x.data(), 20);
  for (float v : x)
    EXPECT_TRUE(std::isnan(v));
  EXPECT_TRUE(std::isnan(kernels::silu_scalar(std::nanf(""))));
}

// Below ln FLT_MIN the value is -0, and -inf * 0 is NaN as in oneDNN; far
// above, x itself.
TEST(Silu, ExtremeInputs) {
  const float inf = std::numeric_limits<float>::infinity(), big = std::numeric_limits<float>::max();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> x = {-inf, -big, -1e30f, -600.f, -88.f, 600.f, 1e30f, big, inf};
  std::vector<float> want = {nan, -0.f, -0.f, -0.f, -0.f, 600.f, 1e30f, big, inf};
  std::vector<float> y = x;
  kernels::silu_inplace(y.data(), static_cast<int64_t>(y.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(y[i]) && std::isnan(kernels::silu_scalar(x[i]))) << "x = " << x[i];
      continue;
    }
    EXPECT_EQ(y[i], want[i]) << "x = " << x[i];
    EXPECT_EQ(kernels::silu_scalar(x[i]), want[i]) << "x = " << x[i];
    EXPECT_EQ(std::signbit(y[i]), std::signbit(want[i])) << "x = " << x[i];
    EXPECT_EQ(std::signbit(kernels::silu_scalar(x[i])), std::signbit(want[i])) << "x = " << x[i];
  }
}

// The fast form for graphs without quantized activations (silu16_fast): not
// oneDNN's bits, but within its stated bounds of x / (1 + e^-x) in double on
// every 256th float bit pattern (all exponents, both signs) and a dense sweep
// of [-16, 16]; denormal results (|silu| < 1e-37) are only required to be tiny.
TEST(SiluFast, WithinItsBoundsOfDoubleSilu) {
  if (!kernels::silu_fast_is_available())
    GTEST_SKIP() << "no AVX-512 DQ";
  std::vector<float> x = sweep(-16.f, 16.f, 1 << 21);
  x.reserve(x.size() + (1 << 24));
  for (uint64_t b = 0; b < (1ull << 32); b += 256) {
    const float v = std::bit_cast<float>(static_cast<uint32_t>(b));
    if (std::isfinite(v))
      x.push_back(v);
  }
  std::vector<float> y = x;
  kernels::silu_fast_inplace(y.data(), static_cast<int64_t>(y.size()));
  double near = 0, far = 0, below = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double ref = silu_exact(x[i]), err = std::abs(y[i] - ref);
    if (x[i] < -87.f)
      below = std::max(below, std::abs(double(y[i])));
    else if (std::abs(ref) < 1e-37)
      ASSERT_LT(std::abs(y[i]), 1e-36) << "x = " << x[i];
    else if (std::abs(x[i]) <= 16.f)
      near = std::max(near, err / std::abs(ref));
    else
      far = std::max(far, err / std::abs(ref));
  }
  EXPECT_LT(near, 1.5e-6); // 1.01e-6 at x = -15.6 (y = 22.5 rounded to f32)
  EXPECT_LT(far, 5e-6);
  EXPECT_LT(below, 1e-35);
}

// NaN stays NaN, +inf is inf, -inf is within 1e-35 of 0; silu(y) + a over the
// lengths of the loop, the masked tail and the OpenMP path touches exactly its values.
TEST(SiluFast, ExtremesAndLengths) {
  if (!kernels::silu_fast_is_available())
    GTEST_SKIP() << "no AVX-512 DQ";
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> e = {std::nanf(""), inf, -inf, std::numeric_limits<float>::max()};
  kernels::silu_fast_inplace(e.data(), static_cast<int64_t>(e.size()));
  EXPECT_TRUE(std::isnan(e[0]));
  EXPECT_EQ(e[1], inf);
  EXPECT_LT(std::abs(e[2]), 1e-35);
  EXPECT_EQ(e[3], std::numeric_limits<float>::max());
  check_add_pass(kernels::silu_fast_add_inplace, {0, 1, 15, 16, 17, 33, 100003});
}

// silu16_int8 (the int8 pass's SiLU, silu_simd.h) over `x`. (silu_simd.h
// asks for -ffp-contract=off for silu16's oneDNN bits; silu16_int8 is all
// explicit intrinsics, nothing to contract.)
__attribute__((target("avx512f,avx512dq"))) std::vector<float>
silu_int8_form(const std::vector<float> &x) {
  std::vector<float> y(x.size());
  for (size_t i = 0; i + 16 <= x.size(); i += 16)
    _mm512_storeu_ps(y.data() + i, kernels::simd::silu16_int8(_mm512_loadu_ps(x.data() + i)));
  return y;
}

// The int8 pass's SiLU: within its stated 6.5e-5 relative everywhere a float
// can be (a dense sweep and every 256th bit pattern), ~0 far below zero and
// at -inf's neighbours, x itself at +inf and huge x (no clamps: vreduceps
// gives 0 for infinities).
TEST(SiluInt8, WithinItsBoundOfDoubleSilu) {
  if (!kernels::silu_quantize_is_fast())
    GTEST_SKIP() << "no AVX-512 DQ / BW";
  std::vector<float> x = sweep(-100.f, 100.f, 1 << 21);
  x.reserve(x.size() + (1 << 24) + 16);
  for (uint64_t b = 0; b < (1ull << 32); b += 256) {
    const float v = std::bit_cast<float>(static_cast<uint32_t>(b));
    if (std::isfinite(v))
      x.push_back(v);
  }
  const float inf = std::numeric_limits<float>::infinity();
  for (float v : {inf, std::numeric_limits<float>::max(), -std::numeric_limits<float>::max(), 0.f,
                  -0.f, 1e-40f, -88.f, -1e6f})
    x.push_back(v);
  x.resize(x.size() / 16 * 16 + 16, 1.f);
  std::vector<float> y = silu_int8_form(x);
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double ref = silu_exact(x[i]);
    if (std::abs(ref) < 1e-30) {
      ASSERT_LT(std::abs(y[i]), 1e-30) << "x = " << x[i];
      continue;
    }
    if (std::isinf(x[i])) {
      EXPECT_EQ(y[i], x[i]);
      continue;
    }
    worst = std::max(worst, std::abs(y[i] - ref) / std::abs(ref));
  }
  EXPECT_LT(worst, 6.5e-5);
  EXPECT_GT(worst, 1e-5); // rcp14 alone: not a more exact form by mistake
}

// oneDNN 2.6's eltwise primitive over `x` (jit, the injector its conv
// post-ops use) with `alg` (alpha, beta), then a reorder to `dst` type.
std::vector<uint8_t> onednn_eltwise(const std::vector<float> &x, dnnl::algorithm alg, float alpha,
                                    float beta,
                                    dnnl::memory::data_type dst = dnnl::memory::data_type::f32) {
  using namespace dnnl;
  engine eng(engine::kind::cpu, 0);
  stream s(eng);
  memory::desc md({static_cast<int64_t>(x.size())}, memory::data_type::f32, memory::format_tag::x);
  std::vector<float> y(x.size());
  memory xm(md, eng, const_cast<float *>(x.data())), ym(md, eng, y.data());
  eltwise_forward::primitive_desc pd({prop_kind::forward_inference, alg, md, alpha, beta}, eng);
  eltwise_forward(pd).execute(s, {{DNNL_ARG_SRC, xm}, {DNNL_ARG_DST, ym}});
  memory::desc out_md({static_cast<int64_t>(x.size())}, dst, memory::format_tag::x);
  std::vector<uint8_t> out(out_md.get_size());
  memory om(out_md, eng, out.data());
  reorder(ym, om).execute(s, ym, om);
  s.wait();
  return out;
}

// Every 256th float bit pattern (all exponents, both signs, NaNs and
// infinities) and a dense sweep of [-lim, lim]: the pass and the scalar form
// give the bits of oneDNN's eltwise `alg` (alpha 1); NaN where oneDNN gives
// NaN (payloads may differ).
void expect_onednn_bits(dnnl::algorithm alg, float lim, void (*pass)(float *, int64_t),
                        float (*scalar)(float)) {
  std::vector<float> x;
  for (uint64_t b = 0; b < (1ull << 32); b += 256)
    x.push_back(std::bit_cast<float>(static_cast<uint32_t>(b)));
  for (float v : sweep(-lim, lim, 1 << 20))
    x.push_back(v);
  std::vector<uint8_t> raw = onednn_eltwise(x, alg, 1.f, 0.f);
  const auto *ref = reinterpret_cast<const float *>(raw.data());
  std::vector<float> y = x;
  pass(y.data(), static_cast<int64_t>(y.size()));
  int64_t vector_diffs = 0, scalar_diffs = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    auto same = [&](float v) {
      return std::isnan(ref[i]) ? std::isnan(v)
                                : std::bit_cast<uint32_t>(v) == std::bit_cast<uint32_t>(ref[i]);
    };
    if (!same(y[i]) && vector_diffs++ < 5)
      ADD_FAILURE() << "pass: x = " << x[i] << " oneDNN " << ref[i] << " pass " << y[i];
    if (i % 7 == 0 && !same(scalar(x[i])) && scalar_diffs++ < 5)
      ADD_FAILURE() << "scalar: x = " << x[i] << " oneDNN " << ref[i];
  }
  EXPECT_EQ(vector_diffs, 0);
  EXPECT_EQ(scalar_diffs, 0);
}

// (An all-2^32 run of the swish comparison found no other difference.)
TEST(Silu, BitsOfOneDnnSwish) {
  expect_onednn_bits(dnnl::algorithm::eltwise_swish, 12.f, kernels::silu_inplace,
                     kernels::silu_scalar);
}

// The sigmoid pass (the SiLU's own sigmoid, before its multiply).
TEST(Sigmoid, BitsOfOneDnnLogistic) {
  expect_onednn_bits(dnnl::algorithm::eltwise_logistic, 20.f, kernels::sigmoid_inplace,
                     kernels::sigmoid_scalar);
}

// The fast sigmoid (FP32 graphs): within 1.5e-6 relative of the double
// sigmoid where |x| <= 16 and 5e-6 down to -87 (silu16_fast's bounds), exactly 0 < s < 1e-37 below,
// 1 for +inf, 0 < s for -inf, NaN stays NaN; every length's tail touches only its values.
TEST(SigmoidFast, WithinItsBoundsOfDoubleSigmoid) {
  if (!kernels::silu_fast_is_available())
    GTEST_SKIP() << "no AVX-512 DQ";
  std::vector<float> x = sweep(-87.f, 30.f, 1 << 21);
  std::vector<float> y = x;
  kernels::sigmoid_fast_inplace(y.data(), static_cast<int64_t>(y.size()));
  double worst = 0, worst_far = 0; // |x| <= 16, and beyond
  for (size_t i = 0; i < x.size(); ++i) {
    const double ref = 1.0 / (1.0 + std::exp(-double(x[i])));
    double &w = std::abs(x[i]) <= 16.f ? worst : worst_far;
    w = std::max(w, std::abs(y[i] - ref) / ref);
  }
  EXPECT_LT(worst, 1.5e-6);
  EXPECT_LT(worst_far, 5e-6);
  std::vector<float> ext = {-std::numeric_limits<float>::infinity(),
                            -1e30f,
                            -100.f,
                            std::numeric_limits<float>::infinity(),
                            1e30f,
                            std::numeric_limits<float>::quiet_NaN(),
                            0.f,
                            -0.f};
  kernels::sigmoid_fast_inplace(ext.data(), static_cast<int64_t>(ext.size()));
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(ext[i] >= 0.f && ext[i] < 1e-37f) << i << ": " << ext[i];
  EXPECT_EQ(ext[3], 1.f);
  EXPECT_EQ(ext[4], 1.f);
  EXPECT_TRUE(std::isnan(ext[5]));
  EXPECT_NEAR(ext[6], 0.5f, 1e-7f);
  EXPECT_NEAR(ext[7], 0.5f, 1e-7f);
  for (int64_t n : {1, 15, 17, 33}) {
    std::vector<float> v(static_cast<size_t>(n + 3), 2.f);
    kernels::sigmoid_fast_inplace(v.data(), n);
    EXPECT_NEAR(v[static_cast<size_t>(n - 1)], 0.880797f, 1e-6f);
    EXPECT_EQ(v[static_cast<size_t>(n)], 2.f) << "wrote past " << n;
  }
}

// silu_quantize: the level of the exact SiLU (silu_reference.h) but for
// values within the SiLU's 6.5e-5 error of a tie, and never more than one
// level from oneDNN's swish + linear eltwise (1 / scale, zero point) +
// saturating conversion to u8 / s8, which it equals almost everywhere; for
// real-unit conv outputs whose levels cross both saturation bounds; lengths
// around the 32-wide loop, the masked tail and the OpenMP path.
TEST(Silu, QuantizeGivesTheExactSilusLevel) {
  struct Case {
    bool u8;
    float scale, zero_point;
  } cases[] = {
      {true, 0.0136f, 20.f}, {true, 0.02f, 14.f}, {false, 0.001f, -3.f}, {false, 0.002f, 5.f}};
  for (const Case &c : cases) {
    for (int n : {1, 16, 31, 33, 47, 70000}) {
      SCOPED_TRACE(testing::Message() << c.u8 << " " << c.scale << " n " << n);
      std::vector<float> x = n == 1 ? std::vector<float>{-0.5f} : sweep(-9.f, 7.f, n);
      const auto dt = c.u8 ? dnnl::memory::data_type::u8 : dnnl::memory::data_type::s8;
      std::vector<uint8_t> raw = onednn_eltwise(x, dnnl::algorithm::eltwise_swish, 1.f, 0.f);
      std::vector<float> y(n);
      std::memcpy(y.data(), raw.data(), raw.size());
      std::vector<uint8_t> onednn =
          onednn_eltwise(y, dnnl::algorithm::eltwise_linear, 1.f / c.scale, c.zero_point, dt);
      std::vector<uint8_t> got(n + 16, 0xAB);
      kernels::silu_quantize(x.data(), got.data(), c.u8, 1.f / c.scale, c.zero_point, n);
      const auto level = [&](const std::vector<uint8_t> &v, int i) {
        return c.u8 ? int{v[i]} : int{static_cast<int8_t>(v[i])};
      };
      int64_t wrong = 0, far = 0, other = 0;
      for (int i = 0; i < n; ++i) {
        const bool ok =
            test::int8_silu_level_ok(x[i], 0, 1.f / c.scale, c.zero_point, c.u8, level(got, i));
        if (!ok && wrong++ < 5)
          ADD_FAILURE() << "x = " << x[i] << " level " << level(got, i);
        far += std::abs(level(got, i) - level(onednn, i)) > 1;
        other += got[i] != onednn[i];
      }
      EXPECT_EQ(wrong, 0);
      EXPECT_EQ(far, 0);
      EXPECT_LE(other, 1 + n / 100);
      EXPECT_EQ(got[n], 0xAB) << "wrote past n = " << n;
      if (n > 1000) { // the sweep reaches both ends of the type's range
        const int lo = c.u8 ? 0 : 0x80, hi = c.u8 ? 255 : 0x7f;
        EXPECT_NE(std::count(got.begin(), got.begin() + n, lo), 0);
        EXPECT_NE(std::count(got.begin(), got.begin() + n, hi), 0);
      }
    }
  }
}

// With a u8 / i8 residual addend, (a - zero_point) * scale joins the SiLU by
// one fma (oneDNN's sum post-op), then the requantisation: the level of the
// exact SiLU + addend but near ties, within one level of oneDNN's swish, sum
// by fma, linear and conversion. The output may be the addend's own buffer.
// Tails, the 32-wide loop and the OpenMP path.
TEST(Silu, QuantizeWithAddendIsSiluPlusAddendRequantized) {
  for (bool addend_u8 : {true, false})
    for (bool in_place : {false, true})
      for (int n : {5, 16, 37, 64, 70001}) {
        SCOPED_TRACE(testing::Message()
                     << "u8 addend " << addend_u8 << " in place " << in_place << " n " << n);
        std::vector<float> x = sweep(-6.f, 5.f, n);
        std::vector<uint8_t> a(n + 16);
        for (int i = 0; i < n + 16; ++i)
          a[i] = static_cast<uint8_t>((i * 97 + 13) % 256);
        const std::vector<uint8_t> a0 = a;
        const float as = 0.03f, az = addend_u8 ? 17.f : -9.f, ys = 0.021f, yz = 7.f;
        const auto addend = [&](int i) {
          return addend_u8 ? float(a0[i]) : float(static_cast<int8_t>(a0[i]));
        };
        std::vector<uint8_t> raw = onednn_eltwise(x, dnnl::algorithm::eltwise_swish, 1.f, 0.f);
        std::vector<float> v(n);
        std::memcpy(v.data(), raw.data(), raw.size());
        for (int i = 0; i < n; ++i)
          v[i] = std::fma(addend(i) - az, as, v[i]);
        std::vector<uint8_t> onednn = onednn_eltwise(v, dnnl::algorithm::eltwise_linear, 1.f / ys,
                                                     yz, dnnl::memory::data_type::u8);
        std::vector<uint8_t> out(n + 16, 0xAB);
        uint8_t *y = in_place ? a.data() : out.data();
        const kernels::Int8Addend add{a.data(), addend_u8, as, az};
        kernels::silu_quantize(x.data(), y, true, 1.f / ys, yz, n, &add);
        int64_t wrong = 0, far = 0, other = 0;
        for (int i = 0; i < n; ++i) {
          const double real = (double(addend(i)) - az) * as;
          if (!test::int8_silu_level_ok(x[i], real, 1.f / ys, yz, true, y[i]) && wrong++ < 5)
            ADD_FAILURE() << "x = " << x[i] << " addend " << real << " level " << int{y[i]};
          far += std::abs(int{y[i]} - int{onednn[i]}) > 1;
          other += y[i] != onednn[i];
        }
        EXPECT_EQ(wrong, 0);
        EXPECT_EQ(far, 0);
        EXPECT_LE(other, 1 + n / 100);
        EXPECT_EQ(y[n], in_place ? static_cast<uint8_t>((n * 97 + 13) % 256) : 0xAB)
            << "wrote past n = " << n;
      }
}

} // namespace
} // namespace qtune
