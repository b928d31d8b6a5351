// The channels-last Concat (inputs in oneDNN's nhwc layout, as int8 convs
// write them) against index arithmetic: channel runs that are not multiples
// of the 64-byte moves, more pixels than one task, a plain NCHW input mixed in
// (one with a single channel: its bytes are already channels-last), one and
// two threads.
#include <dnnl.hpp>
#include <gtest/gtest.h>
#include <omp.h>
#include <vector>

#include "runtime/kernel.h"

namespace qtune {
namespace {

using dnnl::memory;

// Byte of channel c at pixel (b, h, w) of input `i`: distinct per input.
uint8_t value(size_t i, int64_t b, int64_t c, int64_t h, int64_t w) {
  return static_cast<uint8_t>(i * 89 + b * 53 + c * 7 + h * 13 + w * 3);
}

void check_concat(const std::vector<int64_t> &channels, const std::vector<bool> &nhwc,
                  int threads) {
  const int64_t N = 2, H = 23, W = 29; // 1334 pixels: six tasks of 256
  const int saved = omp_get_max_threads();
  omp_set_num_threads(threads);
  std::vector<Tensor> in;
  std::vector<memory::desc> descs;
  for (size_t i = 0; i < channels.size(); ++i) {
    const int64_t C = channels[i];
    Tensor t(DType::u8, {N, C, H, W});
    auto *p = t.data<uint8_t>();
    for (int64_t b = 0; b < N; ++b)
      for (int64_t c = 0; c < C; ++c)
        for (int64_t h = 0; h < H; ++h)
          for (int64_t w = 0; w < W; ++w) {
            const int64_t at =
                nhwc[i] ? ((b * H + h) * W + w) * C + c : ((b * C + c) * H + h) * W + w;
            p[at] = value(i, b, c, h, w);
          }
    in.push_back(std::move(t));
    descs.emplace_back(memory::dims{N, C, H, W}, memory::data_type::u8, memory::format_tag::nhwc);
  }
  std::vector<const dnnl_memory_desc_t *> layouts;
  for (size_t i = 0; i < in.size(); ++i)
    layouts.push_back(nhwc[i] ? &descs[i].data : nullptr);
  Node n;
  n.name = "cat", n.op_type = "Concat";
  n.attrs["axis"] = int64_t{1};
  auto k = make_kernel(n, KernelEnv{});
  k->set_input_layouts(layouts);
  auto types = k->infer(in);
  k->prepare(in);
  ASSERT_NE(k->output_layout(0), nullptr); // channels-last output
  std::vector<Tensor> out{Tensor(types[0].dtype, types[0].shape)};
  k->run(in, out);
  const int64_t CT = types[0].shape[1];
  const auto *y = out[0].data<uint8_t>();
  int64_t bad = 0, off = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    for (int64_t b = 0; b < N; ++b)
      for (int64_t c = 0; c < channels[i]; ++c)
        for (int64_t h = 0; h < H; ++h)
          for (int64_t w = 0; w < W; ++w)
            bad += y[((b * H + h) * W + w) * CT + off + c] != value(i, b, c, h, w);
    off += channels[i];
  }
  EXPECT_EQ(bad, 0) << "threads " << threads;
  omp_set_num_threads(saved);
}

TEST(ConcatNhwc, ChannelRunsMatchIndexArithmetic) {
  for (int threads : {1, 2}) {
    check_concat({24, 80, 130}, {true, true, true}, threads);
    check_concat({64, 3, 16}, {true, false, true}, threads); // a plain input transposed in
    check_concat({1, 65}, {true, true}, threads);
    check_concat({4, 1, 80}, {true, false, true}, threads); // a plain one-channel input
    check_concat({1, 2}, {false, true}, threads);
  }
}

} // namespace
} // namespace qtune

namespace qtune {
namespace {

// The plain Concat's band copies (kernels::copy_rows): a leading-axis concat
// is one long run per input (YOLOX's head, [1, S_i, 85] f32 into [1, 3549,
// 85]: 1.2 MB), split in 64 KB pieces between threads; runs that are not a
// multiple of a piece, several rows, one and two threads, against index
// arithmetic.
TEST(ConcatPlain, LongBandsMatchIndexArithmetic) {
  struct Case {
    Shape a, b;
    int64_t axis;
  } cases[] = {{{1, 2704, 85}, {1, 676, 85}, 1}, // 919 KB + 230 KB bands, one row
               {{3, 700, 40}, {3, 33, 40}, 1},   // rows of 112 KB + 5 KB
               {{2, 5, 7}, {1, 5, 7}, 0}};       // small: one thread
  for (const Case &c : cases)
    for (int threads : {1, 2}) {
      SCOPED_TRACE(testing::Message() << "axis " << c.axis << " threads " << threads);
      const int saved = omp_get_max_threads();
      omp_set_num_threads(threads);
      std::vector<Tensor> in{Tensor(DType::f32, c.a), Tensor(DType::f32, c.b)};
      for (size_t i = 0; i < in.size(); ++i) {
        float *p = in[i].data<float>();
        for (int64_t j = 0; j < in[i].numel(); ++j)
          p[j] = static_cast<float>(i * 1000003 + j);
      }
      Node n;
      n.name = "cat", n.op_type = "Concat";
      n.attrs["axis"] = c.axis;
      auto k = make_kernel(n, KernelEnv{});
      auto types = k->infer(in);
      k->prepare(in);
      std::vector<Tensor> out{Tensor(types[0].dtype, types[0].shape)};
      k->run(in, out);
      omp_set_num_threads(saved);
      // Output index (o, j, r) over outer o, concat axis j, inner r.
      const Shape &s = types[0].shape;
      int64_t outer = 1, inner = 1;
      for (int64_t d = 0; d < c.axis; ++d)
        outer *= s[d];
      for (size_t d = c.axis + 1; d < s.size(); ++d)
        inner *= s[d];
      const int64_t na = c.a[c.axis], total = s[c.axis];
      int64_t bad = 0;
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t j = 0; j < total; ++j)
          for (int64_t r = 0; r < inner; ++r) {
            const bool first = j < na;
            const int64_t len = first ? na : total - na, jj = first ? j : j - na;
            const float want =
                static_cast<float>((first ? 0 : 1000003) + (o * len + jj) * inner + r);
            bad += out[0].data<float>()[(o * total + j) * inner + r] != want;
          }
      EXPECT_EQ(bad, 0);
    }
}

} // namespace
} // namespace qtune
