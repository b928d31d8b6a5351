// f32 1x1 / 3x3 convolution as GEMM tiles: see conv_gemm_f32.h.
//
// Output channels go in groups of 32 (two 16-lane blocks). A tile is 7 (or,
// when rows allow, 14) output pixels of one row x one group: 14 (28)
// accumulators, started at the bias. Each step over one input channel of one
// kernel tap loads the group's two weight vectors and, for each pixel,
// broadcasts its input value and issues two fmas. A 3x3 conv reads a
// zero-padded copy of the input, so
// tap (kh, kw) of the tile at (oh, ow0) is the padded row oh * stride + kh
// from column ow0 * stride + kw on: pixels stride x cin floats apart, as
// for a 1x1 conv. Weights are packed per group as [tap][cin][32]. A group's
// sum goes chunk by chunk (256 channels of one tap: 32 KB of weights, in L1
// while every tile of the map takes its share; the tiles' partial sums wait
// in a small buffer): 3-5 % faster than each tile running its whole sum with
// the weights streaming from L2 (bench_conv_fp32). Each thread takes whole
// groups (a weight-bound conv then streams each weight once, not once per
// thread), prefetching the next group's weights into L2 meanwhile.
#include "runtime/kernels/conv_gemm_f32.h"

#include <algorithm>
#include <cstring>
#include <immintrin.h>
#include <omp.h>
#include <stdexcept>

#include "runtime/kernels/kernel_util.h"

// GCC 12 warns about the self-initialised placeholder inside its own
// _mm512_undefined_ps() that _mm512_max_ps passes through.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace qtune::kernels {
namespace {

#define QTUNE_AVX512 __attribute__((target("avx512f")))

constexpr int kRows = 7;        // pixels per tile (or twice that)
constexpr int kLanes = 16;      // floats per zmm
constexpr int kGroup = 32;      // output channels per group
constexpr int64_t kChunk = 256; // input channels per chunk: 32 KB of weights, kept in L1
constexpr int64_t kParallelMacs = int64_t{1} << 22; // below: one thread

// Bytes of the next group prefetched per step over one channel of one tap:
// its weights spread evenly over this group's tiles (the first 8 when there
// are more), at most 64 bytes (faster, the prefetches stall the tile's own
// loads). Weight-bound convs stream at the rate of memory this way: ResNet-50's
// 512 x 512 3x3 at 7x7 has 7 tiles per group, 94 us of fmas to hide 590 KB.
int64_t prefetch_step(int64_t tiles) {
  constexpr int64_t bytes = kGroup * 4; // the next group's weights per step
  const int64_t over = std::min<int64_t>(tiles, 8);
  return std::min<int64_t>(64, (bytes + over - 1) / over);
}

// One tile's share of one chunk of the sum: channels [c0, c0 + n) of one
// kernel tap, added to the partial sums (or the bias, for the first chunk)
// and then either kept as partial sums or finished into y.
struct Chunk {
  const float *x; // the tile's first input pixel at this tap, channel c0
  int64_t pixel;  // floats between the inputs of two neighbouring outputs
  int64_t n;      // channels
  const float *w; // packed weights of (tap, c0)
  const char *pf; // prefetched, pf_step bytes per channel
  int64_t pf_step;
};

struct Finish {
  float *y; // the tile's first output
  int64_t ld;
  const float *addend;
  const ConvGemmF32::Epilogue *e;
};

template <int MR>
QTUNE_AVX512 void chunk(const Chunk &k, const float *bias, float *partial, const Finish *finish) {
  __m512 acc[MR][2];
#pragma GCC unroll 14
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
    for (int b = 0; b < 2; ++b)
      acc[r][b] = bias ? _mm512_loadu_ps(bias + b * kLanes)
                       : _mm512_load_ps(partial + (r * 2 + b) * kLanes);
  const float *w = k.w, *x = k.x;
  const char *pf = k.pf;
  for (int64_t c = 0; c < k.n; ++c, w += kGroup, pf += k.pf_step) {
    _mm_prefetch(pf, _MM_HINT_T1);
    const __m512 w0 = _mm512_load_ps(w), w1 = _mm512_load_ps(w + kLanes);
#pragma GCC unroll 14
    for (int r = 0; r < MR; ++r) {
      const __m512 a = _mm512_set1_ps(x[r * k.pixel + c]);
      acc[r][0] = _mm512_fmadd_ps(a, w0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(a, w1, acc[r][1]);
    }
  }
  if (!finish) {
#pragma GCC unroll 14
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
      for (int b = 0; b < 2; ++b)
        _mm512_store_ps(partial + (r * 2 + b) * kLanes, acc[r][b]);
    return;
  }
  const ConvGemmF32::Epilogue &e = *finish->e;
  const __m512 zero = _mm512_setzero_ps();
#pragma GCC unroll 14
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
    for (int b = 0; b < 2; ++b) {
      __m512 v = acc[r][b];
      if (e.relu) // max(0, v), not max(v, 0): a NaN stays NaN, as in oneDNN's relu
        v = _mm512_max_ps(zero, v);
      if (finish->addend)
        v = _mm512_add_ps(v, _mm512_loadu_ps(finish->addend + r * finish->ld + b * kLanes));
      if (e.post_relu)
        v = _mm512_max_ps(zero, v);
      _mm512_storeu_ps(finish->y + r * finish->ld + b * kLanes, v);
    }
}

} // namespace

bool ConvGemmF32::available() {
  return __builtin_cpu_supports("avx512f");
}

bool ConvGemmF32::fits(int64_t k, int64_t pad, int64_t stride, int64_t cout, int64_t out_width) {
  return ((k == 1 && pad == 0) || (k == 3 && pad == 1)) && (stride == 1 || stride == 2) &&
         cout % kGroup == 0 && out_width % kRows == 0 && out_width > 0;
}

ConvGemmF32::ConvGemmF32(const float *w, int64_t cout, int64_t cin, int64_t k, int64_t stride,
                         std::vector<float> bias)
    : cout_(cout), cin_(cin), k_(k), stride_(stride), groups_(cout / kGroup),
      bias_(std::move(bias)) {
  if (bias_.empty())
    bias_.assign(static_cast<size_t>(cout), 0.f);
  const int64_t taps = k * k, per_group = taps * cin * kGroup;
  // Aligned loads: the packing starts at the buffer's first 64-byte boundary.
  packed_.assign(static_cast<size_t>(groups_ * per_group + kLanes), 0.f);
  packed_shift_ = to_64_byte_boundary(packed_.data());
  float *base = packed_.data() + packed_shift_;
  for (int64_t g = 0; g < groups_; ++g)
    for (int64_t tap = 0; tap < taps; ++tap)
      for (int64_t c = 0; c < cin; ++c)
        for (int64_t j = 0; j < kGroup; ++j) {
          const int64_t o = g * kGroup + j;
          base[g * per_group + (tap * cin + c) * kGroup + j] = w[(o * cin + c) * taps + tap];
        }
}

void ConvGemmF32::run(const float *x, int64_t h, int64_t w, float *y, const Epilogue &e) const {
  const int64_t pad = k_ / 2, rows = h + 2 * pad, row = w + 2 * pad; // the input as read
  Map map{x, row, (rows - k_) / stride_ + 1, (row - k_) / stride_ + 1};
  if (!fits(k_, pad, stride_, cout_, map.ow) || h < 1) // tiles would run past a row
    throw std::invalid_argument("ConvGemmF32: an output width that is not a multiple of 7");
  if (pad) { // a zero border of one pixel
    padded_.assign(static_cast<size_t>(rows * row * cin_), 0.f);
    for (int64_t i = 0; i < h; ++i)
      std::memcpy(padded_.data() + ((i + 1) * row + 1) * cin_, x + i * w * cin_,
                  static_cast<size_t>(w * cin_) * sizeof(float));
    map.src = padded_.data();
  }
  const int threads = omp_get_max_threads();
  if (threads == 1 || omp_in_parallel() ||
      map.oh * map.ow * cin_ * cout_ * k_ * k_ < kParallelMacs) {
    for (int64_t g = 0; g < groups_; ++g)
      run_group(g, map, y, e);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const int64_t t = omp_get_thread_num(), n = omp_get_num_threads();
    for (int64_t g = groups_ * t / n; g < groups_ * (t + 1) / n; ++g)
      run_group(g, map, y, e);
  }
}

// Group g chunk by chunk (kChunk channels of one tap: their 32 KB of
// weights stay in L1 while every tile of the map takes its share, the
// tiles' partial sums in a small buffer), prefetching group g + 1's
// weights into L2 on the way.
void ConvGemmF32::run_group(int64_t g, const Map &map, float *y, const Epilogue &e) const {
  const int64_t taps = k_ * k_, per_group = taps * cin_ * kGroup;
  const float *panel = packed_.data() + packed_shift_ + g * per_group;
  // Rows of 14 pixels where the map allows: 28 accumulators, half the weight
  // loads per fma (1-4 % faster on ResNet-50's 14x14 convs, bench_conv_fp32).
  const int mr = map.ow % (2 * kRows) == 0 ? 2 * kRows : kRows;
  const int64_t tiles = map.oh * map.ow / mr, step = prefetch_step(tiles);
  const int64_t next_bytes = g + 1 < groups_ ? per_group * 4 : 0;
  const char *next = reinterpret_cast<const char *>(panel + per_group);
  thread_local std::vector<float> partials;
  partials.resize(static_cast<size_t>(tiles * mr * kGroup + kLanes));
  float *partial = partials.data() + to_64_byte_boundary(partials.data());
  int64_t done = 0; // steps over one channel so far, over all tiles
  for (int64_t tap = 0; tap < taps; ++tap) {
    const int64_t shift = ((tap / k_) * map.row + tap % k_) * cin_;
    for (int64_t c0 = 0; c0 < cin_; c0 += kChunk) {
      const int64_t n = std::min(kChunk, cin_ - c0);
      const bool first = tap == 0 && c0 == 0, last = tap == taps - 1 && c0 + n == cin_;
      const float *w = panel + (tap * cin_ + c0) * kGroup;
      int64_t t = 0;
      for (int64_t oh = 0; oh < map.oh; ++oh)
        for (int64_t ow = 0; ow < map.ow; ow += mr, ++t, done += n) {
          const int64_t at = done * step;                 // this share's part of the next group
          const bool ahead = at + step * n <= next_bytes; // within the next group
          const Chunk k{
              map.src + (oh * map.row + ow) * stride_ * cin_ + shift + c0, stride_ * cin_,  n, w,
              ahead ? next + at : reinterpret_cast<const char *>(w),       ahead ? step : 0};
          const int64_t p = oh * map.ow + ow;
          const Finish finish{y + p * cout_ + g * kGroup, cout_,
                              e.addend ? e.addend + p * cout_ + g * kGroup : nullptr, &e};
          (mr == kRows ? chunk<kRows>
                       : chunk<2 * kRows>)(k, first ? bias_.data() + g * kGroup : nullptr,
                                           partial + t * mr * kGroup, last ? &finish : nullptr);
        }
    }
  }
}

} // namespace qtune::kernels

#pragma GCC diagnostic pop
