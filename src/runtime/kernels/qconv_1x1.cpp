// VNNI 1x1 int8 convolution with a fused epilogue: see qconv_1x1.h.
//
// The product is a GEMM, [pixels x cin] u8 times [cin x cout] s8. Output
// channels go in groups of up to four 16-lane blocks; a tile of MR pixels x
// one group keeps MR x NB int32 accumulators in zmm registers (24 of the 32,
// 16 for a one-block group), and each step over four input channels broadcasts one pixel's four
// bytes and issues one vpdpbusd per block (u8 x s8, four products summed into
// an int32 lane without saturation: the exact integer oneDNN computes). The
// tile's accumulators are scaled to f32 from the registers into a small stack
// buffer and the epilogue runs over it while it is in L1, so the f32
// intermediate never reaches memory. Weights
// are packed once per group as [cin/4][NB][16 lanes][4 bytes] so each step
// loads NB whole zmm; a group's weights (cin x 64 bytes, 16 KB at cin 256)
// stay in L1 while one thread walks its pixels. Threads split work items of
// one group x 48 pixels.
//
// Compiled with -ffp-contract=off (src/CMakeLists.txt), as silu.cpp.
#include "runtime/kernels/qconv_1x1.h"

#include <algorithm>
#include <cstring>
#include <immintrin.h>
#include <omp.h>

#include "runtime/kernels/silu_simd.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

namespace qtune::kernels {
namespace {

using namespace simd;

#define QTUNE_VNNI __attribute__((target("avx512f,avx512bw,avx512dq,avx512vnni")))

constexpr int kLanes = 16;
constexpr int kGroupBlocks = 4;                     // output blocks per group
constexpr int kGroupLanes = kGroupBlocks * kLanes;  // accumulator row stride
constexpr int kMaxRows = 16;                        // pixels per tile, at most
constexpr int64_t kParallelMacs = int64_t{1} << 21; // below: one thread
constexpr int64_t kItemPixels = 48;                 // pixels per work item

// Pixels per tile for a group of nb blocks: as many accumulators as leave
// room for the nb weight registers and the broadcast.
constexpr int rows_for(int nb) {
  return nb == 4 ? 6 : nb == 3 ? 8 : nb == 2 ? 12 : 16;
}

inline int32_t four_bytes(const uint8_t *p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// acc += the four u8 x s8 products of each lane. Inline assembly because GCC
// 12 gives the intrinsic's accumulator a copy (and with 24 of them live,
// spills), where vpdpbusd updates it in place.
QTUNE_VNNI inline void dpbusd(__m512i &acc, __m512i a, __m512i w) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(w));
}

// acc[r][b] = sum over c of x[r][c] * w[b-th block][c], for MR pixel rows of
// cin bytes each, then scaled straight from the registers as oneDNN 2.6 does
// (f32, + bias, * output scale) into out[r * NB * 16 + b * 16 + lane]: the
// tile's rows lie contiguous there for the epilogue.
template <int MR, int NB>
QTUNE_VNNI void tile(const uint8_t *x, int64_t cin, const int8_t *w, const float *bias,
                     const float *scale, float *out) {
  __m512i acc[MR][NB];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int b = 0; b < NB; ++b)
      acc[r][b] = _mm512_setzero_si512();
  for (int64_t k = 0; k < cin; k += 4, w += NB * 64) {
    __m512i wv[NB];
#pragma GCC unroll 4
    for (int b = 0; b < NB; ++b)
      wv[b] = _mm512_load_si512(w + b * 64);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const __m512i a = _mm512_set1_epi32(four_bytes(x + r * cin + k));
#pragma GCC unroll 4
      for (int b = 0; b < NB; ++b)
        dpbusd(acc[r][b], a, wv[b]);
    }
  }
#pragma GCC unroll 4
  for (int b = 0; b < NB; ++b) {
    const __m512 bv = _mm512_loadu_ps(bias + b * kLanes), sv = _mm512_loadu_ps(scale + b * kLanes);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) // oneDNN 2.6's order: bias before the scale
      _mm512_store_ps(out + (r * NB + b) * kLanes,
                      _mm512_mul_ps(_mm512_add_ps(_mm512_cvtepi32_ps(acc[r][b]), bv), sv));
  }
}

template <int NB>
void tile_nb(const uint8_t *x, int64_t cin, const int8_t *w, const float *bias, const float *scale,
             float *out) {
  tile<rows_for(NB), NB>(x, cin, w, bias, scale, out);
}

void tile_any(int nb, const uint8_t *x, int64_t cin, const int8_t *w, const float *bias,
              const float *scale, float *out) {
  switch (nb) {
  case 1:
    return tile_nb<1>(x, cin, w, bias, scale, out);
  case 2:
    return tile_nb<2>(x, cin, w, bias, scale, out);
  case 3:
    return tile_nb<3>(x, cin, w, bias, scale, out);
  default:
    return tile_nb<4>(x, cin, w, bias, scale, out);
  }
}

// SiLU [+ int8 addend] and requantisation of a tile's scaled f32 rows into
// the int8 output, by the SiLU pass's own streaming loop (one swish is a
// ~120-cycle chain around a division; written per 16-channel block inside
// the tile loop, even four side by side, it ran 1.5-2.3x slower per value).
template <bool U8> struct SiluQuantizeTile {
  int64_t cout;
  int8_t *y;
  const Conv1x1U8::SiluQuantize *e;

  QTUNE_VNNI void operator()(const float *real, int64_t p0, int m, int64_t oc0, int nb) const {
    const int width = nb * kLanes;
    const int64_t n = std::min<int64_t>(width, cout - oc0);
    // One group covering every channel: the tile's rows are contiguous in y
    // too, so one long run (rows of 16 to 48 channels are too short for the
    // loop's 64-value steps).
    const int rows = width == cout ? 1 : m;
    const int64_t run_n = width == cout ? int64_t{m} * width : n;
    for (int r = 0; r < rows; ++r)
      silu_requantize_at<U8>(real + r * width, y, (p0 + r) * cout + oc0, run_n, *e);
  }
};

// The scaled f32 rows themselves (tests compare them with oneDNN's).
struct RealTile {
  int64_t cout;
  float *y;

  QTUNE_VNNI void operator()(const float *real, int64_t p0, int m, int64_t oc0, int nb) const {
    for (int r = 0; r < m; ++r)
      for (int b = 0; b < nb; ++b) {
        const int64_t oc = oc0 + b * kLanes;
        const int valid = static_cast<int>(std::min<int64_t>(kLanes, cout - oc));
        _mm512_mask_storeu_ps(y + (p0 + r) * cout + oc, static_cast<__mmask16>((1u << valid) - 1),
                              _mm512_load_ps(real + (r * nb + b) * kLanes));
      }
  }
};

} // namespace

bool Conv1x1U8::available() {
  static const bool has = __builtin_cpu_supports("avx512vnni") &&
                          __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512f");
  return has;
}

Conv1x1U8::Conv1x1U8(const int8_t *w, int64_t cout, int64_t cin, const std::vector<float> &bias,
                     const std::vector<float> &scale)
    : cin_(cin), cout_(cout), blocks_((cout + kLanes - 1) / kLanes) {
  const int64_t lanes = blocks_ * kLanes;
  const int64_t groups = (blocks_ + kGroupBlocks - 1) / kGroupBlocks;
  packed_.assign(static_cast<size_t>(groups * cin * kGroupLanes + 64), 0);
  packed_offset_ = (64 - reinterpret_cast<uintptr_t>(packed_.data()) % 64) % 64;
  int8_t *dst = packed_.data() + packed_offset_;
  for (int64_t g = 0; g < groups; ++g) {
    const int64_t nb = std::min<int64_t>(kGroupBlocks, blocks_ - g * kGroupBlocks);
    int8_t *gw = dst + g * cin * kGroupLanes; // earlier groups are full
    for (int64_t k = 0; k < cin; k += 4)
      for (int64_t b = 0; b < nb; ++b)
        for (int64_t lane = 0; lane < kLanes; ++lane) {
          const int64_t oc = (g * kGroupBlocks + b) * kLanes + lane;
          for (int64_t j = 0; j < 4 && oc < cout; ++j)
            gw[((k / 4 * nb + b) * kLanes + lane) * 4 + j] = w[oc * cin + k + j];
        }
  }
  bias_.assign(static_cast<size_t>(lanes), 0.f);
  scale_.assign(static_cast<size_t>(lanes), 0.f);
  for (int64_t o = 0; o < cout; ++o) {
    bias_[o] = bias.at(o);
    scale_[o] = scale.at(scale.size() == 1 ? 0 : o);
  }
}

template <typename Epilogue>
void Conv1x1U8::run(const uint8_t *x, int64_t pixels, Epilogue epi) const {
  const int64_t groups = (blocks_ + kGroupBlocks - 1) / kGroupBlocks;
  const int8_t *w = packed_.data() + packed_offset_;
  // Work items: one 4-block group of output channels over 48 pixels (a
  // multiple of every tile height, so only a map's last item has a partial
  // tile), group-major so a thread keeps one group's weights in L1. Threads
  // take contiguous item ranges: on a 13x13 map (four pixel steps) the groups
  // split the work too.
  const int64_t steps = (pixels + kItemPixels - 1) / kItemPixels, items = groups * steps;
  auto range = [&](int64_t first, int64_t last) {
    alignas(64) float real[kMaxRows * kGroupLanes]; // the tile, scaled
    std::vector<uint8_t> rest;                      // a partial tile, zero-padded
    for (int64_t item = first; item < last; ++item) {
      const int64_t g = item / steps, begin = item % steps * kItemPixels;
      const int64_t end = std::min(pixels, begin + kItemPixels);
      const int nb = static_cast<int>(std::min<int64_t>(kGroupBlocks, blocks_ - g * kGroupBlocks));
      const int mr = rows_for(nb);
      const int8_t *gw = w + g * cin_ * kGroupLanes;
      for (int64_t p = begin; p < end; p += mr) {
        const int m = static_cast<int>(std::min<int64_t>(mr, end - p));
        const uint8_t *src = x + p * cin_;
        if (m < mr) { // the tile reads mr rows
          rest.assign(static_cast<size_t>(mr * cin_), 0);
          std::memcpy(rest.data(), src, static_cast<size_t>(m * cin_));
          src = rest.data();
        }
        tile_any(nb, src, cin_, gw, bias_.data() + g * kGroupLanes, scale_.data() + g * kGroupLanes,
                 real);
        epi(real, p, m, g * kGroupLanes, nb);
      }
    }
  };
  const int threads = omp_get_max_threads();
  if (threads == 1 || pixels * cin_ * cout_ < kParallelMacs || omp_in_parallel()) {
    range(0, items);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const int64_t t = omp_get_thread_num(), n = omp_get_num_threads();
    range(items * t / n, items * (t + 1) / n);
  }
}

void Conv1x1U8::silu_quantize(const uint8_t *x, int64_t pixels, void *y,
                              const SiluQuantize &e) const {
  if (e.u8_out)
    run(x, pixels, SiluQuantizeTile<true>{cout_, static_cast<int8_t *>(y), &e});
  else
    run(x, pixels, SiluQuantizeTile<false>{cout_, static_cast<int8_t *>(y), &e});
}

void Conv1x1U8::real(const uint8_t *x, int64_t pixels, float *y) const {
  run(x, pixels, RealTile{cout_, y});
}

} // namespace qtune::kernels

#pragma GCC diagnostic pop
