// kernels::ConvDwU8 (the depthwise int8 conv with the SiLU epilogue) against
// oneDNN 2.6's own int8 convolution of the same operands with the source zero
// point given at run time: its f32 output (bias before output scales) bit
// for bit, and the int8 output equal to the SiLU pass (kernels::silu_quantize)
// over that f32 output byte for byte [+ an int8 addend]. Table-driven over
// stride, dilation, asymmetric and one-sided padding, 3x3 and 5x5 kernels,
// batch 2 and 3, zero point 0 or not, per-tensor and per-channel scales,
// fractional biases, channel groups, 1 and 2 threads (2 where a case is
// large enough for the kernel to split it: 64ch 52x52; 3 images of 32ch
// 30x29, split inside the second; 144ch 56x56 in groups of 64/64/16).
#include <cstring>
#include <dnnl.hpp>
#include <gtest/gtest.h>
#include <omp.h>
#include <random>
#include <vector>

#include "runtime/kernels/int8_util.h"
#include "runtime/kernels/qconv_dw.h"
#include "runtime/kernels/silu.h"
#include "threads_scope.h"

namespace qtune {
namespace {

using dnnl::memory;
using tag = memory::format_tag;

struct Case {
  int64_t n, c, h, w, k, stride, dil;
  int64_t pad_t, pad_l, pad_b, pad_r;
  int32_t zp;
  bool per_channel;
  int threads;
};

const Case kCases[] = {
    {1, 16, 19, 19, 3, 1, 1, 1, 1, 1, 1, 23, true, 1},   // YOLOX's dconv, 16 channels
    {1, 64, 52, 52, 3, 1, 1, 1, 1, 1, 1, 3, true, 2},    // the head's, split between threads
    {1, 32, 20, 17, 3, 2, 1, 1, 1, 1, 1, 119, true, 2},  // stride 2, odd width
    {1, 48, 12, 12, 3, 2, 1, 0, 0, 1, 1, 7, false, 1},   // TF SAME stride 2: pad bottom/right
    {2, 16, 11, 9, 3, 1, 1, 1, 1, 1, 1, 200, true, 2},   // batch 2
    {3, 32, 30, 29, 3, 1, 1, 1, 1, 1, 1, 61, true, 2},   // threads split inside an image
    {1, 32, 14, 15, 3, 1, 2, 2, 2, 2, 2, 50, true, 1},   // dilation 2
    {1, 16, 13, 13, 5, 2, 1, 2, 1, 2, 3, 90, true, 1},   // 5x5, uneven pads
    {1, 96, 7, 7, 3, 1, 1, 1, 1, 1, 1, 0, true, 2},      // no zero point, 7x7
    {1, 16, 6, 5, 3, 1, 1, 0, 0, 0, 0, 11, true, 1},     // unpadded
    {1, 144, 28, 28, 3, 2, 1, 1, 1, 1, 1, 128, true, 2}, // MobileNetV2's stride 2
    {1, 144, 56, 56, 3, 2, 1, 1, 1, 1, 1, 33, true, 2},  // groups 64/64/16, threaded
};

int64_t out_size(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pa, int64_t pb) {
  return (in + pa + pb - ((k - 1) * d + 1)) / s + 1;
}

int8::ConvGeometry geometry(const Case &c) {
  int8::ConvGeometry g;
  g.n = c.n, g.c = c.c, g.h = c.h, g.w = c.w, g.oc = c.c, g.kh = c.k, g.kw = c.k, g.group = c.c;
  g.stride_h = g.stride_w = c.stride, g.dil_h = g.dil_w = c.dil;
  g.pad_t = c.pad_t, g.pad_l = c.pad_l, g.pad_b = c.pad_b, g.pad_r = c.pad_r;
  g.oh = out_size(c.h, c.k, c.stride, c.dil, c.pad_t, c.pad_b);
  g.ow = out_size(c.w, c.k, c.stride, c.dil, c.pad_l, c.pad_r);
  return g;
}

struct Operands {
  std::vector<uint8_t> x;
  std::vector<int8_t> w;
  std::vector<float> bias, scale;
  std::vector<uint8_t> addend;
};

Operands make_operands(const Case &c, const int8::ConvGeometry &g, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> u8(0, 255), s8(-127, 127);
  std::uniform_real_distribution<float> u(0.5f, 1.5f);
  Operands o;
  for (int64_t i = 0; i < c.n * c.h * c.w * c.c; ++i)
    o.x.push_back(static_cast<uint8_t>(u8(rng)));
  for (int64_t i = 0; i < c.c * c.k * c.k; ++i)
    o.w.push_back(static_cast<int8_t>(s8(rng)));
  // Accumulators reach ~+-1e5 (25 taps): scales that put the real output
  // around +-6 and fractional biases (as accumulator_bias may give).
  const float base = 6.f / (300.f * static_cast<float>(c.k * c.k) * 64.f);
  for (int64_t i = 0; i < c.c; ++i) {
    o.bias.push_back((u(rng) - 1.f) * 3000.f + 0.37f);
    if (c.per_channel || i == 0)
      o.scale.push_back(base * u(rng));
  }
  for (int64_t i = 0; i < g.n * g.oh * g.ow * g.c; ++i)
    o.addend.push_back(static_cast<uint8_t>(u8(rng)));
  return o;
}

// oneDNN's int8 depthwise conv with the source zero point at run time,
// channels-last in and out, f32 output with bias and output scales.
std::vector<float> onednn_real(const Case &c, const int8::ConvGeometry &g, const Operands &o) {
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream s(eng);
  const memory::desc x_md({g.n, g.c, g.h, g.w}, memory::data_type::u8, tag::nhwc),
      w_md({g.c, 1, 1, g.kh, g.kw}, memory::data_type::s8, tag::goihw),
      b_md({g.c}, memory::data_type::f32, tag::x),
      y_md({g.n, g.c, g.oh, g.ow}, memory::data_type::f32, tag::nhwc);
  dnnl::primitive_attr attr;
  int8::set_scales_and_zero_point(attr, o.scale, c.zp);
  const dnnl::convolution_forward::primitive_desc pd(
      {dnnl::prop_kind::forward_inference,
       dnnl::algorithm::convolution_direct,
       x_md,
       memory::desc(w_md.dims(), memory::data_type::s8, tag::any),
       b_md,
       y_md,
       {g.stride_h, g.stride_w},
       {g.dil_h - 1, g.dil_w - 1},
       {g.pad_t, g.pad_l},
       {g.pad_b, g.pad_r}},
      attr, eng);
  memory w_user(w_md, eng, const_cast<int8_t *>(o.w.data())), w_mem(pd.weights_desc(), eng);
  dnnl::reorder(w_user, w_mem).execute(s, w_user, w_mem);
  std::vector<float> y(static_cast<size_t>(g.n * g.oh * g.ow * g.c));
  const std::vector<double> acc_bias(o.bias.begin(), o.bias.end());
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, memory(x_md, eng, const_cast<uint8_t *>(o.x.data()))},
      {DNNL_ARG_WEIGHTS, w_mem},
      {DNNL_ARG_BIAS, int8::bias_memory(eng, b_md, acc_bias)},
      {DNNL_ARG_DST, memory(y_md, eng, y.data())}};
  if (c.zp != 0)
    args[DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC] = int8::zero_point_memory(eng, c.zp);
  dnnl::convolution_forward(pd).execute(s, args);
  s.wait();
  return y;
}

using test::ThreadsScope;

TEST(ConvDwU8, RealOutputIsOneDnnZeroPointConvBits) {
  if (!kernels::ConvDwU8::available())
    GTEST_SKIP() << "no AVX-512 BW/DQ";
  for (const Case &c : kCases) {
    SCOPED_TRACE(testing::Message()
                 << "c " << c.c << " " << c.h << "x" << c.w << " k " << c.k << " stride "
                 << c.stride << " dil " << c.dil << " zp " << c.zp << " threads " << c.threads);
    const int8::ConvGeometry g = geometry(c);
    const Operands o = make_operands(c, g, 7);
    ASSERT_TRUE(kernels::ConvDwU8::fits(g, o.w.data()));
    const std::vector<float> want = onednn_real(c, g, o);
    const kernels::ConvDwU8 conv(g, o.w.data(), c.zp, o.bias, o.scale);
    std::vector<float> got(want.size(), -1.f);
    {
      ThreadsScope threads(c.threads);
      conv.real(o.x.data(), got.data());
    }
    int64_t diffs = 0;
    for (size_t i = 0; i < want.size(); ++i)
      diffs += std::memcmp(&got[i], &want[i], sizeof(float)) != 0;
    EXPECT_EQ(diffs, 0) << "of " << want.size();
  }
}

// The fused epilogue equals the SiLU pass over oneDNN's f32 output, with
// and without an int8 addend (read in place: y is the addend's buffer).
TEST(ConvDwU8, SiluQuantizeIsTheSiluPassOverOneDnnOutput) {
  if (!kernels::ConvDwU8::available() || !kernels::silu_quantize_is_fast())
    GTEST_SKIP() << "no AVX-512 BW/DQ";
  for (const Case &c : kCases)
    for (bool sum : {false, true}) {
      SCOPED_TRACE(testing::Message() << "c " << c.c << " " << c.h << "x" << c.w << " k " << c.k
                                      << " stride " << c.stride << " sum " << sum);
      const int8::ConvGeometry g = geometry(c);
      const Operands o = make_operands(c, g, 11);
      const std::vector<float> real = onednn_real(c, g, o);
      const bool u8_out = c.zp % 2 == 1; // both output types across the table
      const float inv_scale = u8_out ? 20.f : 30.f, zero_point = u8_out ? 40.f : -20.f;
      const kernels::Int8Addend add{o.addend.data(), true, 0.03f, 17.f};
      std::vector<uint8_t> want(real.size());
      kernels::silu_quantize(real.data(), want.data(), u8_out, inv_scale, zero_point,
                             static_cast<int64_t>(real.size()), sum ? &add : nullptr);
      std::vector<uint8_t> got = o.addend; // in place over the addend
      const kernels::Int8Addend in_place{got.data(), true, 0.03f, 17.f};
      const kernels::ConvDwU8 conv(g, o.w.data(), c.zp, o.bias, o.scale);
      {
        ThreadsScope threads(c.threads);
        conv.silu_quantize(o.x.data(), got.data(),
                           {u8_out, inv_scale, zero_point, sum ? &in_place : nullptr});
      }
      int64_t diffs = 0, low = 0;
      for (size_t i = 0; i < want.size(); ++i)
        diffs += got[i] != want[i], low += want[i] == (u8_out ? 0 : 0x80);
      EXPECT_EQ(diffs, 0) << "of " << want.size();
      EXPECT_LT(low, static_cast<int64_t>(want.size()) / 2) << "most outputs must not saturate";
    }
}

// Channel counts the kernel does not block, grouped (not depthwise) convs
// and accumulators f32 could not hold exactly are left to oneDNN.
TEST(ConvDwU8, FitsOnlyExactDepthwiseBlocks) {
  Case c{1, 16, 8, 8, 3, 1, 1, 1, 1, 1, 1, 5, true, 1};
  int8::ConvGeometry g = geometry(c);
  std::vector<int8_t> w(static_cast<size_t>(16 * 9), 127);
  EXPECT_TRUE(kernels::ConvDwU8::fits(g, w.data()));
  g.c = g.oc = g.group = 24; // not a multiple of 16
  std::vector<int8_t> w24(static_cast<size_t>(24 * 9), 1);
  EXPECT_FALSE(kernels::ConvDwU8::fits(g, w24.data()));
  g = geometry(c);
  g.group = 8; // two input channels per output channel
  EXPECT_FALSE(kernels::ConvDwU8::fits(g, w.data()));
  g = geometry(c);
  g.pad_l = -1; // a crop, not a pad: the ring has no column before 0
  EXPECT_FALSE(kernels::ConvDwU8::fits(g, w.data()));
  // 23x23 taps of -128: 255 * 529 * 128 >= 2^24.
  Case big{1, 16, 30, 30, 23, 1, 1, 11, 11, 11, 11, 5, true, 1};
  std::vector<int8_t> wb(static_cast<size_t>(16 * 23 * 23), -128);
  EXPECT_FALSE(kernels::ConvDwU8::fits(geometry(big), wb.data()));
  wb.assign(wb.size(), 1);
  EXPECT_TRUE(kernels::ConvDwU8::fits(geometry(big), wb.data()));
}

} // namespace
} // namespace qtune
