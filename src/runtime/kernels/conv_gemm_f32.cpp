// f32 stride-1 1x1 / 3x3 convolution as GEMM tiles: see conv_gemm_f32.h.
//
// Output channels go in groups of 32 (two 16-lane blocks). A tile is 7
// output pixels of one row x one group: 14 accumulators, started at the bias.
// Each step over one input channel of one kernel tap loads the group's two
// weight vectors and, for each of the 7 pixels, broadcasts its input value
// and issues two fmas. A 3x3 conv reads a zero-padded copy of the input, so
// tap (kh, kw) of the tile at (oh, ow0) is the padded row oh + kh from column
// ow0 + kw on: 7 pixels cin floats apart, as for a 1x1 conv. Weights are
// packed per group as [tap][cin][32]. Each thread takes whole groups (a
// weight-bound conv then streams each weight once, not once per thread) and
// runs every tile of a group before the next, prefetching the next group's
// weights into L2 meanwhile.
#include "runtime/kernels/conv_gemm_f32.h"

#include <algorithm>
#include <cstring>
#include <immintrin.h>
#include <omp.h>

namespace qtune::kernels {
namespace {

#define QTUNE_AVX512 __attribute__((target("avx512f")))

constexpr int kRows = 7;                            // pixels per tile
constexpr int kLanes = 16;                          // floats per zmm
constexpr int kGroup = 32;                          // output channels per group
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

struct Tile {
  const float *x; // the tile's first input pixel for tap 0
  int64_t cin;    // channels
  int64_t pixel;  // floats between the inputs of two neighbouring outputs
  const int64_t *tap_offsets;
  int64_t taps;
  const float *w; // the group's packed weights
  const float *bias;
  const char *pf; // prefetched, pf_step bytes per step
  int64_t pf_step;
};

QTUNE_AVX512 void tile(const Tile &t, float *y, int64_t ld, const float *addend,
                       const ConvGemmF32::Epilogue &e) {
  __m512 acc[kRows][2];
  const __m512 b0 = _mm512_loadu_ps(t.bias), b1 = _mm512_loadu_ps(t.bias + kLanes);
#pragma GCC unroll 7
  for (int r = 0; r < kRows; ++r)
    acc[r][0] = b0, acc[r][1] = b1;
  const float *w = t.w;
  const char *pf = t.pf;
  for (int64_t tap = 0; tap < t.taps; ++tap) {
    const float *x = t.x + t.tap_offsets[tap];
    for (int64_t c = 0; c < t.cin; ++c, w += kGroup, pf += t.pf_step) {
      _mm_prefetch(pf, _MM_HINT_T1);
      const __m512 w0 = _mm512_load_ps(w), w1 = _mm512_load_ps(w + kLanes);
#pragma GCC unroll 7
      for (int r = 0; r < kRows; ++r) {
        const __m512 a = _mm512_set1_ps(x[r * t.pixel + c]);
        acc[r][0] = _mm512_fmadd_ps(a, w0, acc[r][0]);
        acc[r][1] = _mm512_fmadd_ps(a, w1, acc[r][1]);
      }
    }
  }
  const __m512 zero = _mm512_setzero_ps();
#pragma GCC unroll 7
  for (int r = 0; r < kRows; ++r)
#pragma GCC unroll 2
    for (int b = 0; b < 2; ++b) {
      __m512 v = acc[r][b];
      if (e.relu)
        v = _mm512_max_ps(v, zero);
      if (addend)
        v = _mm512_add_ps(v, _mm512_loadu_ps(addend + r * ld + b * kLanes));
      if (e.post_relu)
        v = _mm512_max_ps(v, zero);
      _mm512_storeu_ps(y + r * ld + b * kLanes, v);
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
  const size_t shift = (64 - reinterpret_cast<uintptr_t>(packed_.data()) % 64) % 64 / sizeof(float);
  float *base = packed_.data() + shift;
  for (int64_t g = 0; g < groups_; ++g)
    for (int64_t tap = 0; tap < taps; ++tap)
      for (int64_t c = 0; c < cin; ++c)
        for (int64_t j = 0; j < kGroup; ++j) {
          const int64_t o = g * kGroup + j;
          base[g * per_group + (tap * cin + c) * kGroup + j] = w[(o * cin + c) * taps + tap];
        }
  packed_shift_ = shift;
}

void ConvGemmF32::run(const float *x, int64_t h, int64_t w, float *y, const Epilogue &e) const {
  const float *src = x;
  int64_t rows = h, row = w; // the input as read
  if (k_ == 3) {             // a zero border of one pixel
    rows = h + 2, row = w + 2;
    padded_.assign(static_cast<size_t>(rows * row * cin_), 0.f);
    for (int64_t i = 0; i < h; ++i)
      std::memcpy(padded_.data() + ((i + 1) * row + 1) * cin_, x + i * w * cin_,
                  static_cast<size_t>(w * cin_) * sizeof(float));
    src = padded_.data();
  }
  const Map map{src, row, (rows - k_) / stride_ + 1, (row - k_) / stride_ + 1};
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

// Every tile of group g, prefetching group g + 1's weights on the way.
void ConvGemmF32::run_group(int64_t g, const Map &map, float *y, const Epilogue &e) const {
  const int64_t taps = k_ * k_, per_group = taps * cin_ * kGroup;
  int64_t offsets[9];
  for (int64_t tap = 0; tap < taps; ++tap)
    offsets[tap] = ((tap / k_) * map.row + tap % k_) * cin_;
  const float *panel = packed_.data() + packed_shift_ + g * per_group;
  const int64_t tiles = map.oh * map.ow / kRows, step = prefetch_step(tiles);
  const int64_t steps = taps * cin_, next_bytes = g + 1 < groups_ ? per_group * 4 : 0;
  const char *next = reinterpret_cast<const char *>(panel + per_group);
  int64_t t = 0;
  for (int64_t oh = 0; oh < map.oh; ++oh)
    for (int64_t ow = 0; ow < map.ow; ow += kRows, ++t) {
      const int64_t at = t * step * steps; // this tile's part of the next group
      const bool ahead = at < next_bytes;
      const Tile tl{map.src + (oh * map.row + ow) * stride_ * cin_,
                    cin_,
                    stride_ * cin_,
                    offsets,
                    taps,
                    panel,
                    bias_.data() + g * kGroup,
                    ahead ? next + at : reinterpret_cast<const char *>(panel),
                    ahead ? step : 0};
      const int64_t p = oh * map.ow + ow;
      tile(tl, y + p * cout_ + g * kGroup, cout_,
           e.addend ? e.addend + p * cout_ + g * kGroup : nullptr, e);
    }
}

} // namespace qtune::kernels
