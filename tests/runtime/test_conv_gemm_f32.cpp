// kernels::ConvGemmF32 (f32 1x1 / 3x3 conv, stride 1 or 2, as GEMM tiles with
// the weights prefetched) against oneDNN 2.6's direct convolution of the same
// operands with its relu / sum / relu post-ops, channels-last. Not the same
// bits (another summation order): within a few f32 roundings of the sum of
// |terms| for every output, NaN where oneDNN gives NaN. Table-driven over both
// kernel sizes and strides, 7- and 14-pixel tiles, sums of one and of two
// chunks per tap, channel groups split unevenly between two threads, odd
// channel counts, maps that are not square, and the addend read from the
// output itself (the executor's in-place residual).
#include <cmath>
#include <dnnl.hpp>
#include <gtest/gtest.h>
#include <random>
#include <vector>

#include "runtime/kernels/conv_gemm_f32.h"
#include "threads_scope.h"

namespace qtune {
namespace {

using dnnl::memory;
using tag = memory::format_tag;

struct Case {
  int64_t cin, cout, h, w, k;
  bool relu, sum, post_relu;
  int threads;
  int64_t stride = 1;
  bool nan_input = false; // one input value NaN
  int64_t oh() const { return (h + 2 * (k / 2) - k) / stride + 1; }
  int64_t ow() const { return (w + 2 * (k / 2) - k) / stride + 1; }
};

const Case kCases[] = {
    {48, 64, 7, 7, 3, true, false, false, 1},        {64, 96, 14, 14, 1, true, false, false, 2},
    {32, 32, 5, 21, 3, false, true, true, 2},        {13, 64, 7, 14, 3, true, false, false, 1},
    {256, 128, 7, 7, 1, false, true, true, 1},       {96, 256, 7, 7, 3, true, true, false, 2},
    {512, 64, 14, 14, 1, false, false, false, 2},    {24, 160, 1, 7, 3, true, false, false, 1},
    {64, 64, 14, 14, 3, true, false, false, 1, 2},   // 7x7 out: no end padding read
    {40, 96, 13, 27, 3, false, true, false, 2, 2},   // 7x14 out, odd input: end padding read
    {128, 256, 14, 14, 1, false, true, true, 2, 2},  // ResNet's downsample
    {16, 32, 27, 13, 1, true, false, false, 1, 2},   // 14x7 out from an odd map
    {320, 64, 7, 7, 3, true, false, false, 2},       // 256 + 64 channels: two chunks per tap
    {64, 96, 14, 14, 3, false, true, true, 2, 2},    // 3 groups on 2 threads
    {96, 96, 28, 28, 1, true, false, false, 2, 2},   // 14-pixel tiles, stride 2, 2 threads
    {48, 64, 7, 7, 3, true, true, true, 1, 1, true}, // a NaN through the Relus and the sum
};

// oneDNN's conv of x [1][cin][h][w] (channels-last) into y, y holding the
// addend first when c.sum.
void onednn_conv(const Case &c, const std::vector<float> &x, const std::vector<float> &w,
                 const std::vector<float> &b, std::vector<float> &y) {
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream st(eng);
  const int64_t pad = c.k / 2;
  memory::desc x_md({1, c.cin, c.h, c.w}, memory::data_type::f32, tag::nhwc),
      w_md({c.cout, c.cin, c.k, c.k}, memory::data_type::f32, tag::oihw),
      b_md({c.cout}, memory::data_type::f32, tag::a),
      y_md({1, c.cout, c.oh(), c.ow()}, memory::data_type::f32, tag::nhwc);
  // oneDNN's end padding: what the output reads past the input (ONNX's
  // output size with pad k / 2 on both sides).
  const auto end = [&](int64_t in, int64_t out) { return (out - 1) * c.stride + c.k - in - pad; };
  dnnl::post_ops ops;
  if (c.relu)
    ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
  if (c.sum)
    ops.append_sum(1.f);
  if (c.post_relu)
    ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  dnnl::convolution_forward::primitive_desc pd({dnnl::prop_kind::forward_inference,
                                                dnnl::algorithm::convolution_direct,
                                                x_md,
                                                w_md,
                                                b_md,
                                                y_md,
                                                {c.stride, c.stride},
                                                {pad, pad},
                                                {end(c.h, c.oh()), end(c.w, c.ow())}},
                                               attr, eng);
  dnnl::convolution_forward(pd).execute(
      st, {{DNNL_ARG_SRC, memory(x_md, eng, const_cast<float *>(x.data()))},
           {DNNL_ARG_WEIGHTS, memory(w_md, eng, const_cast<float *>(w.data()))},
           {DNNL_ARG_BIAS, memory(b_md, eng, const_cast<float *>(b.data()))},
           {DNNL_ARG_DST, memory(y_md, eng, y.data())}});
  st.wait();
}

TEST(ConvGemmF32, MatchesOneDnnDirectConv) {
  if (!kernels::ConvGemmF32::available())
    GTEST_SKIP() << "no AVX-512";
  for (const Case &c : kCases) {
    SCOPED_TRACE(testing::Message()
                 << c.cin << "->" << c.cout << " " << c.h << "x" << c.w << " k" << c.k << " s"
                 << c.stride << (c.sum ? " sum" : "") << ", " << c.threads << " threads");
    ASSERT_TRUE(kernels::ConvGemmF32::fits(c.k, c.k / 2, c.stride, c.cout, c.ow()));
    test::ThreadsScope threads(c.threads);
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    const auto random = [&](int64_t n, float scale) {
      std::vector<float> v(static_cast<size_t>(n));
      for (float &e : v)
        e = scale * u(rng);
      return v;
    };
    std::vector<float> x = random(c.h * c.w * c.cin, 2.f);
    const std::vector<float> w = random(c.cout * c.cin * c.k * c.k, 0.1f), b = random(c.cout, 0.5f),
                             addend = random(c.oh() * c.ow() * c.cout, 1.f);
    if (c.nan_input)
      x[(3 * c.w + 4) * c.cin + 5] = NAN;
    std::vector<float> want = c.sum ? addend : std::vector<float>(addend.size());
    onednn_conv(c, x, w, b, want);
    // The bound: each output is a sum of cin * k * k products below 0.2 and
    // a bias and addend below 1.
    const float terms = static_cast<float>(c.cin * c.k * c.k) * 2.f * 0.1f;

    kernels::ConvGemmF32 conv(w.data(), c.cout, c.cin, c.k, c.stride, b);
    std::vector<float> got = c.sum ? addend : std::vector<float>(addend.size(), NAN);
    conv.run(x.data(), c.h, c.w, got.data(),
             {c.relu, c.sum ? got.data() : nullptr, c.post_relu}); // the addend in place
    int64_t bad = 0, negative = 0, nans = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      const bool nan = std::isnan(want[i]);
      bad += nan ? !std::isnan(got[i]) : !(std::fabs(got[i] - want[i]) <= 1e-5f * (terms + 2.f));
      negative += got[i] < 0.f;
      nans += nan;
    }
    EXPECT_EQ(bad, 0);
    EXPECT_EQ(nans > 0, c.nan_input); // a NaN reaches the 3x3 window's outputs
    if (c.post_relu || (c.relu && !c.sum))
      EXPECT_EQ(negative, 0);
    else
      EXPECT_GT(negative, 0); // the cases without a final Relu do go negative
  }
}

TEST(ConvGemmF32, FitsOnlyItsGeometry) {
  EXPECT_TRUE(kernels::ConvGemmF32::fits(1, 0, 1, 2048, 7));
  EXPECT_TRUE(kernels::ConvGemmF32::fits(3, 1, 1, 512, 14));
  EXPECT_TRUE(kernels::ConvGemmF32::fits(3, 1, 2, 512, 7));
  EXPECT_FALSE(kernels::ConvGemmF32::fits(3, 0, 1, 512, 7));  // no padding
  EXPECT_FALSE(kernels::ConvGemmF32::fits(1, 1, 1, 512, 7));  // a padded 1x1
  EXPECT_FALSE(kernels::ConvGemmF32::fits(5, 2, 1, 512, 7));  // 5x5
  EXPECT_FALSE(kernels::ConvGemmF32::fits(3, 1, 3, 512, 7));  // stride 3
  EXPECT_FALSE(kernels::ConvGemmF32::fits(3, 1, 1, 48, 7));   // 48 channels: 1.5 groups
  EXPECT_FALSE(kernels::ConvGemmF32::fits(3, 1, 1, 512, 13)); // 13 = 7 + 6
}

} // namespace
} // namespace qtune
