// kernels::Conv1x1U8 (the VNNI pointwise int8 conv with the SiLU epilogue)
// against oneDNN 2.6's own int8 convolution of the same operands: its f32
// output with bias and output scales bit for bit, and its int8 output with
// swish [+ sum] + linear post-ops within one level (the exact SiLU's level
// but near ties). Table-driven over channel counts that
// leave partial 16-channel blocks and partial 4-block groups, pixel counts
// that leave partial tiles, per-tensor and per-channel scales, 1 and 2
// threads.
#include <algorithm>
#include <cstring>
#include <dnnl.hpp>
#include <gtest/gtest.h>
#include <limits>
#include <omp.h>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "../../bench/onednn_conv1x1.h"
#include "runtime/kernels/qconv_1x1.h"
#include "silu_reference.h"
#include "threads_scope.h"

namespace qtune {
namespace {

using dnnl::memory;
using tag = memory::format_tag;

struct Case {
  int64_t cin, cout, h, w;
  bool per_channel;
  int threads;
};

const Case kCases[] = {
    {16, 16, 13, 13, true, 1},   {64, 64, 52, 52, true, 2},   {12, 24, 9, 7, false, 1},
    {32, 80, 41, 29, true, 2},   {256, 128, 13, 13, true, 1}, {128, 256, 1, 1, true, 1},
    {4, 200, 61, 47, false, 2},  {48, 48, 104, 10, true, 2},  {96, 33, 5, 5, true, 1},
    {128, 144, 13, 13, true, 2}, // three groups (4, 4, 1 blocks) split between threads
};

struct Operands {
  std::vector<uint8_t> x;
  std::vector<int8_t> w;
  std::vector<float> bias, scale;
  std::vector<uint8_t> addend;
};

Operands make_operands(const Case &c, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> u8(0, 255), s8(-127, 127);
  std::uniform_real_distribution<float> u(0.5f, 1.5f);
  Operands o;
  const int64_t pixels = c.h * c.w;
  for (int64_t i = 0; i < pixels * c.cin; ++i)
    o.x.push_back(static_cast<uint8_t>(u8(rng)));
  for (int64_t i = 0; i < c.cout * c.cin; ++i)
    o.w.push_back(static_cast<int8_t>(s8(rng)));
  // Accumulators reach ~+-3e5 at cin 256: scales that put the real output
  // around +-8, biases fractional (as accumulator_bias may give).
  const float base = 4.f / (600.f * static_cast<float>(c.cin));
  for (int64_t i = 0; i < c.cout; ++i) {
    o.bias.push_back((u(rng) - 1.f) * 2000.f + 0.37f);
    if (c.per_channel || i == 0)
      o.scale.push_back(base * u(rng));
  }
  for (int64_t i = 0; i < pixels * c.cout; ++i)
    o.addend.push_back(static_cast<uint8_t>(u8(rng)));
  return o;
}

// oneDNN's int8 conv on the same operands, channels-last in and out, output
// of type `dst` with post-ops `ops`; `y` holds the addend for a sum post-op.
void onednn_conv(const Case &c, const Operands &o, memory::data_type dst, const dnnl::post_ops &ops,
                 void *y) {
  bench::OneDnnConv1x1(c.cin, c.cout, c.h, c.w, o.x.data(), o.w.data(), o.bias.data(), o.scale, y,
                       dst, ops)
      .run();
}

using test::ThreadsScope;

TEST(Conv1x1U8, RealOutputIsOneDnnF32Bits) {
  if (!kernels::Conv1x1U8::available())
    GTEST_SKIP() << "no AVX-512 VNNI";
  for (const Case &c : kCases) {
    SCOPED_TRACE(testing::Message() << c.cin << "->" << c.cout << " " << c.h << "x" << c.w);
    ThreadsScope threads(c.threads);
    Operands o = make_operands(c, 5);
    const size_t n = static_cast<size_t>(c.h * c.w * c.cout);
    std::vector<float> want(n), got(n, -1.f);
    onednn_conv(c, o, memory::data_type::f32, dnnl::post_ops(), want.data());
    kernels::Conv1x1U8 k(o.w.data(), c.cout, c.cin, o.bias, o.scale);
    k.real(o.x.data(), c.h * c.w, got.data());
    int64_t diffs = 0;
    for (size_t i = 0; i < n; ++i)
      diffs += std::memcmp(&want[i], &got[i], sizeof(float)) != 0;
    EXPECT_EQ(diffs, 0) << "of " << n;
  }
}

// SiLU, optional u8 residual sum, requantisation into u8 or s8: the level of
// the exact SiLU (silu_reference.h) of oneDNN's f32 conv output [+ addend]
// but near ties, and within one level of oneDNN's int8 conv with swish [+ sum]
// + linear post-ops and its saturating conversion.
void check_silu_quantize(bool u8_out, bool sum, bool addend_u8 = true, bool in_place = true) {
  for (const Case &c : kCases) {
    SCOPED_TRACE(testing::Message()
                 << c.cin << "->" << c.cout << " " << c.h << "x" << c.w << (u8_out ? " u8" : " s8")
                 << (sum ? " sum" : "") << (addend_u8 ? "" : " s8 addend")
                 << (in_place ? "" : " separate"));
    ThreadsScope threads(c.threads);
    Operands o = make_operands(c, 11);
    const float ys = u8_out ? 0.012f : 0.02f, yz = u8_out ? 20.f : -120.f;
    const float ss = 0.031f, sz = 17.f;
    dnnl::post_ops ops;
    ops.append_eltwise(1.f, dnnl::algorithm::eltwise_swish, 1.f, 0.f);
    if (sum)
      ops.append_sum(ss, static_cast<int32_t>(sz),
                     addend_u8 ? memory::data_type::u8 : memory::data_type::s8);
    ops.append_eltwise(1.f, dnnl::algorithm::eltwise_linear, 1.f / ys, yz);
    const size_t n = static_cast<size_t>(c.h * c.w * c.cout);
    std::vector<uint8_t> onednn = sum ? o.addend : std::vector<uint8_t>(n);
    onednn_conv(c, o, u8_out ? memory::data_type::u8 : memory::data_type::s8, ops, onednn.data());
    std::vector<float> real(n);
    onednn_conv(c, o, memory::data_type::f32, dnnl::post_ops(), real.data());

    kernels::Conv1x1U8 k(o.w.data(), c.cout, c.cin, o.bias, o.scale);
    // In place, as the executor runs it, or from the addend's own buffer.
    std::vector<uint8_t> got = sum && in_place ? o.addend : std::vector<uint8_t>(n, 7);
    const kernels::Int8Addend add{in_place ? got.data() : o.addend.data(), addend_u8, ss, sz};
    k.silu_quantize(o.x.data(), c.h * c.w, got.data(),
                    {u8_out, 1.f / ys, yz, sum ? &add : nullptr});
    const auto level = [&](const std::vector<uint8_t> &v, size_t i) {
      return u8_out ? int{v[i]} : int{static_cast<int8_t>(v[i])};
    };
    int64_t wrong = 0, far = 0, other = 0, low = 0, high = 0;
    const uint8_t lo = u8_out ? 0 : 0x80, hi = u8_out ? 255 : 0x7f;
    for (size_t i = 0; i < n; ++i) {
      const int a = addend_u8 ? int{o.addend[i]} : int{static_cast<int8_t>(o.addend[i])};
      const double addend = sum ? (a - double{sz}) * ss : 0.0;
      if (!test::int8_silu_level_ok(real[i], addend, 1.f / ys, yz, u8_out, level(got, i)) &&
          wrong++ < 5)
        ADD_FAILURE() << "at " << i << ": conv " << real[i] << " level " << level(got, i);
      far += std::abs(level(got, i) - level(onednn, i)) > 1;
      other += got[i] != onednn[i];
      low += got[i] == lo, high += got[i] == hi;
    }
    EXPECT_EQ(wrong, 0) << "of " << n;
    EXPECT_EQ(far, 0);
    EXPECT_LE(other, 1 + static_cast<int64_t>(n / 100));
    if (n > 1000) { // the ranges reach both ends of the type
      EXPECT_GT(low, 0);
      EXPECT_GT(high, 0);
    }
  }
}

TEST(Conv1x1U8, SiluQuantizeGivesTheExactSilusLevel) {
  if (!kernels::Conv1x1U8::available())
    GTEST_SKIP() << "no AVX-512 VNNI";
  check_silu_quantize(true, false);
  check_silu_quantize(false, false);
}

TEST(Conv1x1U8, SiluSumQuantizeInPlaceGivesTheExactLevel) {
  if (!kernels::Conv1x1U8::available())
    GTEST_SKIP() << "no AVX-512 VNNI";
  check_silu_quantize(true, true);
  check_silu_quantize(false, true);
  check_silu_quantize(true, true, false);        // an s8 addend
  check_silu_quantize(false, true, true, false); // the addend in its own buffer
}

// The clamp epilogue (ClampRequantize: no activation, Relu or Clip before and
// after an optional int8 addend, then requantisation): oneDNN's int8 conv
// with the same relu / clip_v2, sum and linear post-ops, bit for bit -- the
// clamps move into the requantised domain (ClampPlan) only where that is
// exact. (Two clamps with no addend between them are left out: oneDNN 2.6
// gives the first clip's result for disjoint ones, and QConv keeps such a
// conv on oneDNN.) Each epilogue over every case (partial blocks and groups, partial
// tiles, 1 and 2 threads).
struct ClampEpilogue {
  const char *name;
  float lo, hi; // the first clamp (-inf, inf: none; 0, inf: Relu)
  bool sum, addend_u8, in_place;
  float post_lo, post_hi;
  bool u8_out;
  float y_scale, y_zero_point;
};

constexpr float kInf = std::numeric_limits<float>::infinity();

const ClampEpilogue kClampEpilogues[] = {
    {"none u8", -kInf, kInf, false, true, false, -kInf, kInf, true, 0.03f, 128.f},
    {"none s8", -kInf, kInf, false, true, false, -kInf, kInf, false, 0.05f, -3.f},
    {"relu zp 0 (saturation)", 0.f, kInf, false, true, false, -kInf, kInf, true, 0.02f, 0.f},
    {"relu zp 40 (a level)", 0.f, kInf, false, true, false, -kInf, kInf, true, 0.02f, 40.f},
    {"relu6 into 6/255", 0.f, 6.f, false, true, false, -kInf, kInf, true, 6.f / 255.f, 0.f},
    {"clip inside s8", -1.5f, 2.f, false, true, false, -kInf, kInf, false, 0.02f, -5.f},
    {"sum then relu", -kInf, kInf, true, true, true, 0.f, kInf, true, 0.04f, 0.f},
    {"relu6, s8 sum, separate", 0.f, 6.f, true, false, false, -kInf, kInf, false, 0.05f, 3.f},
    {"clip, sum, relu zp 12", -1.f, 6.f, true, true, true, 0.f, kInf, true, 0.04f, 12.f},
    {"s8 sum in place, relu, s8 zp -20", -kInf, kInf, true, false, true, 0.f, kInf, false, 0.04f,
     -20.f},
    {"sum then relu zp 30", -kInf, kInf, true, true, true, 0.f, kInf, true, 0.04f, 30.f},
};

void onednn_activation(dnnl::post_ops &ops, float lo, float hi) {
  if (lo == -kInf && hi == kInf)
    return;
  if (lo == 0.f && hi == kInf)
    ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
  else
    ops.append_eltwise(1.f, dnnl::algorithm::eltwise_clip_v2, lo, hi);
}

TEST(Conv1x1U8, ClampQuantizeIsOneDnnPostOpBits) {
  if (!kernels::Conv1x1U8::available())
    GTEST_SKIP() << "no AVX-512 VNNI";
  for (const ClampEpilogue &ep : kClampEpilogues)
    for (const Case &c : kCases) {
      SCOPED_TRACE(testing::Message() << ep.name << ", " << c.cin << "->" << c.cout << " " << c.h
                                      << "x" << c.w << ", " << c.threads << " threads");
      ThreadsScope threads(c.threads);
      Operands o = make_operands(c, 13);
      const float ss = 0.031f, sz = 17.f;
      dnnl::post_ops ops;
      onednn_activation(ops, ep.lo, ep.hi);
      if (ep.sum)
        ops.append_sum(ss, static_cast<int32_t>(sz),
                       ep.addend_u8 ? memory::data_type::u8 : memory::data_type::s8);
      onednn_activation(ops, ep.post_lo, ep.post_hi);
      ops.append_eltwise(1.f, dnnl::algorithm::eltwise_linear, 1.f / ep.y_scale, ep.y_zero_point);
      const size_t n = static_cast<size_t>(c.h * c.w * c.cout);
      std::vector<uint8_t> want = ep.sum ? o.addend : std::vector<uint8_t>(n);
      onednn_conv(c, o, ep.u8_out ? memory::data_type::u8 : memory::data_type::s8, ops,
                  want.data());

      kernels::Conv1x1U8 k(o.w.data(), c.cout, c.cin, o.bias, o.scale);
      std::vector<uint8_t> got = ep.sum && ep.in_place ? o.addend : std::vector<uint8_t>(n, 7);
      const kernels::Int8Addend add{ep.in_place ? got.data() : o.addend.data(), ep.addend_u8, ss,
                                    sz};
      k.clamp_quantize(o.x.data(), c.h * c.w, got.data(),
                       {ep.u8_out, 1.f / ep.y_scale, ep.y_zero_point, ep.lo, ep.hi,
                        ep.sum ? &add : nullptr, ep.post_lo, ep.post_hi});
      int64_t diffs = 0;
      for (size_t i = 0; i < n; ++i)
        if (got[i] != want[i] && diffs++ < 3)
          ADD_FAILURE() << "at " << i << ": " << int{got[i]} << " where oneDNN gives "
                        << int{want[i]};
      EXPECT_EQ(diffs, 0) << "of " << n;
      // The outputs spread over many levels, the clamps' among them.
      if (n > 1000) {
        const auto level = [&](float real) {
          const float q = std::nearbyint(real / ep.y_scale + ep.y_zero_point);
          return static_cast<uint8_t>(
              static_cast<int>(std::clamp(q, ep.u8_out ? 0.f : -128.f, ep.u8_out ? 255.f : 127.f)));
        };
        EXPECT_GT(std::set<uint8_t>(want.begin(), want.end()).size(), 40u);
        if (!ep.sum && ep.hi != kInf) // the Clip's top is reached
          EXPECT_GT(std::count(want.begin(), want.end(), level(ep.hi)), 0);
      }
    }
}

} // namespace
} // namespace qtune
