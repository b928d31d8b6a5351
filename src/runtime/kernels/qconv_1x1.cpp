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
#include <cmath>
#include <cstring>
#include <immintrin.h>
#include <limits>
#include <omp.h>
#include <type_traits>

#include "runtime/kernels/kernel_util.h"
#include "runtime/kernels/silu_simd.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

namespace qtune::kernels {
namespace {

using namespace simd;

#define QTUNE_VNNI __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")))

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
// (f32, + bias, * output scale), in place (f32 bits in the integer
// registers), and handed to store(acc): a Buffer (below) or an epilogue
// writing the output directly.
template <int MR, int NB, typename Store>
QTUNE_VNNI void tile(const uint8_t *x, int64_t cin, const int8_t *w, const float *bias,
                     const float *scale, const int8_t *pf, int64_t pf_step, const Store &store) {
  __m512i acc[MR][NB];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int b = 0; b < NB; ++b)
      acc[r][b] = _mm512_setzero_si512();
  for (int64_t k = 0; k < cin; k += 4, w += NB * 64, pf += pf_step) {
    _mm_prefetch(reinterpret_cast<const char *>(pf), _MM_HINT_T1);
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
      acc[r][b] =
          _mm512_castps_si512(_mm512_mul_ps(_mm512_add_ps(_mm512_cvtepi32_ps(acc[r][b]), bv), sv));
  }
  store(acc);
}

template <typename Store>
void tile_any(int nb, const uint8_t *x, int64_t cin, const int8_t *w, const float *bias,
              const float *scale, const int8_t *pf, int64_t pf_step, const Store &store) {
  switch (nb) {
  case 1:
    return tile<rows_for(1), 1>(x, cin, w, bias, scale, pf, pf_step, store);
  case 2:
    return tile<rows_for(2), 2>(x, cin, w, bias, scale, pf, pf_step, store);
  case 3:
    return tile<rows_for(3), 3>(x, cin, w, bias, scale, pf, pf_step, store);
  default:
    return tile<rows_for(4), 4>(x, cin, w, bias, scale, pf, pf_step, store);
  }
}

// The tile's scaled rows into a small buffer, out[r * NB * 16 + b * 16 +
// lane], for epilogues that run over it afterwards while it is in L1.
struct Buffer {
  float *out;
  template <int MR, int NB> QTUNE_VNNI void operator()(__m512i (&acc)[MR][NB]) const {
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
      for (int b = 0; b < NB; ++b)
        _mm512_store_si512(out + (r * NB + b) * kLanes, acc[r][b]);
  }
};

// One tile's product: tile_any with its operands bound, the store to come.
struct Tile {
  int nb;
  const uint8_t *x;
  int64_t cin;
  const int8_t *w;
  const float *bias, *scale;
  const int8_t *pf; // prefetched into L2, pf_step bytes per step over 4 channels
  int64_t pf_step;
  template <typename Store> void operator()(const Store &store) const {
    tile_any(nb, x, cin, w, bias, scale, pf, pf_step, store);
  }
};

// The clamp epilogue with its clamps moved where they cost least, bit for bit
// ClampRequantize's result. Rounding, the requantising fma and the
// conversion are all monotone in v, so a clamp to [lo, hi] just before the
// requantisation equals a clamp of fma(v, inv, zp) to [fma(lo, inv, zp),
// fma(hi, inv, zp)]: the upper bound merges into the min that keeps the
// conversion in range, the lower one disappears where the int8 type's
// saturation already gives it (ReLU6 into u8 with zero point 0, a Relu into
// u8 with zero point 0). Without an addend the two clamps are one: a
// composition of clamps is the clamp to its values at -inf and +inf.
struct ClampPlan {
  bool add; // an int8 addend between the clamps
  bool pre; // with one: the first clamp, in real units (not -inf, +inf)
  bool lo;  // the requantised lower bound is above the type's lowest level
  float pre_lo, pre_hi;
  float q_lo, q_hi; // the bounds of fma(v, inv, zp), q_hi at most the top level

  static ClampPlan of(const ClampRequantize &e) {
    const auto clamp = [](float v, float lo, float hi) { return std::min(std::max(v, lo), hi); };
    const float inf = std::numeric_limits<float>::infinity();
    ClampPlan p{};
    p.add = e.addend != nullptr;
    float lo = e.post_lo, hi = e.post_hi;
    if (p.add) {
      p.pre = e.lo != -inf || e.hi != inf;
      p.pre_lo = e.lo, p.pre_hi = e.hi;
    } else {
      lo = clamp(clamp(-inf, e.lo, e.hi), e.post_lo, e.post_hi);
      hi = clamp(clamp(inf, e.lo, e.hi), e.post_lo, e.post_hi);
    }
    const float bottom = e.u8_out ? 0.f : -128.f, top = e.u8_out ? 255.f : 127.f;
    p.q_lo = std::fma(lo, e.inv_scale, e.zero_point);
    p.lo = p.q_lo > bottom;
    p.q_hi = std::min(top, std::fma(hi, e.inv_scale, e.zero_point));
    return p;
  }
};

// The activations before the clamp epilogue's addend: none, or max(lo) then
// min(hi) (oneDNN's relu with lo 0 and clip_v2 forward).
struct Identity16 {
  QTUNE_VNNI __m512 operator()(__m512 v) const { return v; }
};
struct Clamp16 {
  __m512 lo, hi;
  QTUNE_VNNI __m512 operator()(__m512 v) const { return _mm512_min_ps(_mm512_max_ps(v, lo), hi); }
};

// The clamp epilogue straight from the registers: [the first clamp, the
// int8 addend,] the requantisation with the clamp folded in (ClampPlan), per
// block, then the blocks packed (silu_simd.h's pack64, saturating) into
// 64-byte stores -- no f32 round trip, and 4 packing operations per 64
// values where a saturating narrowing store per block costs 3 each; the
// addend by add16_bytes, as the SiLU pass adds it. Pre: the activation before the addend
// (Identity16, Clamp16); Add and Lo: ClampPlan's flags.
template <bool U8, typename Pre, bool Add, bool Lo> struct QuantizeStore {
  int8_t *y;       // the tile's first output byte (row p0, channel oc0)
  const int8_t *a; // the addend at the same offsets (Add)
  int64_t ld;      // bytes per pixel row (cout)
  int m;           // rows that exist (a map's last tile may be partial)
  int lanes;       // output channels in this group (<= NB * 16)
  Pre pre;         // the activation before the addend
  const Int8Addend *addend;
  float inv_scale, zero_point, lowest, highest; // requantisation, its bounds (Lo: lowest)

  template <int MR, int NB> QTUNE_VNNI void operator()(__m512i (&acc)[MR][NB]) const {
    const __m512 q_lo = _mm512_set1_ps(lowest), q_hi = _mm512_set1_ps(highest);
    const __m512 inv = _mm512_set1_ps(inv_scale), zp = _mm512_set1_ps(zero_point);
    const int last = lanes - (NB - 1) * kLanes; // lanes of the last block
#pragma GCC unroll 4
    for (int b = 0; b < NB; ++b) {
      const __mmask16 k = b < NB - 1 || last == kLanes ? static_cast<__mmask16>(0xffff)
                                                       : static_cast<__mmask16>((1u << last) - 1);
#pragma GCC unroll 16
      for (int r = 0; r < MR; ++r) {
        __m512 v = pre(_mm512_castsi512_ps(acc[r][b]));
        if constexpr (Add) // rows past the map's end (r >= m) read nothing
          v = add16_bytes(v, *addend,
                          _mm_maskz_loadu_epi8(r < m ? k : __mmask16{0}, a + r * ld + b * kLanes));
        v = _mm512_fmadd_ps(v, inv, zp);
        if constexpr (Lo) // max then min, as clip_v2
          v = _mm512_max_ps(v, q_lo);
        acc[r][b] = _mm512_cvtps_epi32(_mm512_min_ps(q_hi, v));
      }
    }
    if (lanes == ld && lanes == NB * kLanes) { // the tile's output is one run of bytes
      const __m512i *v = &acc[0][0];
      const int64_t n = int64_t{m} * ld;
#pragma GCC unroll 6
      for (int q = 0; q < MR * NB / 4; ++q) {
        const int64_t at = int64_t{q} * 64;
        if (at >= n)
          break;
        const __mmask64 k = n - at >= 64 ? ~__mmask64{0} : (__mmask64{1} << (n - at)) - 1;
        _mm512_mask_storeu_epi8(y + at, k,
                                pack64<U8>(v[4 * q], v[4 * q + 1], v[4 * q + 2], v[4 * q + 3]));
      }
      return;
    }
    const __m512i zero = _mm512_setzero_si512();
    const __mmask64 row_mask = lanes == 64 ? ~__mmask64{0} : (__mmask64{1} << lanes) - 1;
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      if (r >= m)
        break;
      const __m512i bytes = pack64<U8>(acc[r][0], NB > 1 ? acc[r][NB > 1 ? 1 : 0] : zero,
                                       NB > 2 ? acc[r][NB > 2 ? 2 : 0] : zero,
                                       NB > 3 ? acc[r][NB > 3 ? 3 : 0] : zero);
      _mm512_mask_storeu_epi8(y + r * ld, row_mask, bytes);
    }
  }
};

// SiLU [+ int8 addend] and requantisation of a tile's scaled f32 rows into
// the int8 output, by the SiLU pass's own streaming loop over the buffered
// tile (one swish is a ~120-cycle chain around a division; written per
// 16-channel block inside the tile loop, even four side by side, it ran
// 1.5-2.3x slower per value; its 11-operation form straight from the
// registers as the clamp epilogue, a QuantizeStore with silu16_int8 before
// the addend, still 1-10 % slower on YOLOX's shapes, bench_qconv_1x1).
template <bool U8> struct SiluQuantizeTile {
  int64_t cout;
  int8_t *y;
  const SiluRequantize *e;

  QTUNE_VNNI void operator()(const Tile &tile, int64_t p0, int m, int64_t oc0, float *real) const {
    tile(Buffer{real});
    const int width = tile.nb * kLanes;
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

template <bool U8, bool Add, bool Pre, bool Lo> struct ClampQuantizeTile {
  int64_t cout;
  int8_t *y;
  const ClampRequantize *e;
  const ClampPlan *plan;

  QTUNE_VNNI void operator()(const Tile &tile, int64_t p0, int m, int64_t oc0, float *) const {
    const int64_t at = p0 * cout + oc0;
    const int lanes = static_cast<int>(std::min<int64_t>(tile.nb * kLanes, cout - oc0));
    const int8_t *a = Add ? static_cast<const int8_t *>(e->addend->data) + at : nullptr;
    using PreOp = std::conditional_t<Pre, Clamp16, Identity16>;
    PreOp pre{};
    if constexpr (Pre)
      pre = Clamp16{_mm512_set1_ps(plan->pre_lo), _mm512_set1_ps(plan->pre_hi)};
    tile(QuantizeStore<U8, PreOp, Add, Lo>{y + at, a, cout, m, lanes, pre, e->addend, e->inv_scale,
                                           e->zero_point, plan->q_lo, plan->q_hi});
  }
};

// The scaled f32 rows themselves (tests compare them with oneDNN's).
struct RealTile {
  int64_t cout;
  float *y;

  QTUNE_VNNI void operator()(const Tile &tile, int64_t p0, int m, int64_t oc0, float *real) const {
    tile(Buffer{real});
    const int nb = tile.nb;
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
                          __builtin_cpu_supports("avx512dq") &&
                          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512f");
  return has;
}

Conv1x1U8::Conv1x1U8(const int8_t *w, int64_t cout, int64_t cin, const std::vector<float> &bias,
                     const std::vector<float> &scale)
    : cin_(cin), cout_(cout), blocks_((cout + kLanes - 1) / kLanes) {
  const int64_t lanes = blocks_ * kLanes;
  const int64_t groups = (blocks_ + kGroupBlocks - 1) / kGroupBlocks;
  packed_.assign(static_cast<size_t>(groups * cin * kGroupLanes + 64), 0);
  packed_offset_ = to_64_byte_boundary(packed_.data());
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

// The next group's weights go into L2 while this group's tiles run, spread
// over this thread's tiles of the group at 16-64 bytes per step over four
// input channels (a cache line every 1-4 steps): wide convs on small maps
// (ResNet-50's 2048 x 512 at 7x7) otherwise wait on every group's first
// tile for weights from memory, as a model's convs evict each other's
// (bench_qconv_1x1 BM_qconv1x1_vnni_clip_cold). Faster prefetching stalls
// the tile's own loads behind it.
Conv1x1U8::Prefetch Conv1x1U8::prefetch_plan(int64_t g, int64_t tiles) const {
  const int64_t groups = (blocks_ + kGroupBlocks - 1) / kGroupBlocks;
  if (g + 1 >= groups)
    return {nullptr, 0, 0};
  const int64_t nb_next = std::min<int64_t>(kGroupBlocks, blocks_ - (g + 1) * kGroupBlocks);
  const int64_t bytes = cin_ * nb_next * kLanes, steps = cin_ / 4;
  int64_t step = 16;
  while (step < 64 && step * steps * tiles < bytes)
    step *= 2;
  return {packed_.data() + packed_offset_ + (g + 1) * cin_ * kGroupLanes, bytes, step};
}

template <typename Epilogue>
void Conv1x1U8::run(const uint8_t *x, int64_t pixels, Epilogue epi) const {
  const int64_t groups = (blocks_ + kGroupBlocks - 1) / kGroupBlocks;
  const int8_t *w = packed_.data() + packed_offset_;
  // A thread's pixels [first, last), group by group (so it keeps one group's
  // weights in L1), tile by tile (a partial tile, zero-padded, at the end of
  // the range).
  auto range = [&](int64_t first, int64_t last) {
    alignas(64) float real[kMaxRows * kGroupLanes]; // the tile, scaled
    std::vector<uint8_t> rest;                      // a partial tile, zero-padded
    for (int64_t g = 0; g < groups; ++g) {
      const int nb = static_cast<int>(std::min<int64_t>(kGroupBlocks, blocks_ - g * kGroupBlocks));
      const int mr = rows_for(nb);
      const int8_t *gw = w + g * cin_ * kGroupLanes;
      const Prefetch pf = prefetch_plan(g, (last - first + mr - 1) / mr);
      int64_t t = 0;
      for (int64_t p = first; p < last; p += mr, ++t) {
        const int m = static_cast<int>(std::min<int64_t>(mr, last - p));
        const uint8_t *src = x + p * cin_;
        if (m < mr) { // the tile reads mr rows
          rest.assign(static_cast<size_t>(mr * cin_), 0);
          std::memcpy(rest.data(), src, static_cast<size_t>(m * cin_));
          src = rest.data();
        }
        const int64_t at = t * pf.step * (cin_ / 4); // this tile's part of the next group
        const bool ahead = at < pf.bytes;
        const Tile tile{nb,
                        src,
                        cin_,
                        gw,
                        bias_.data() + g * kGroupLanes,
                        scale_.data() + g * kGroupLanes,
                        ahead ? pf.next + at : gw,
                        ahead ? pf.step : 0};
        epi(tile, p, m, g * kGroupLanes, real);
      }
    }
  };
  const int threads = omp_get_max_threads();
  if (threads == 1 || pixels * cin_ * cout_ < kParallelMacs || omp_in_parallel()) {
    range(0, pixels);
    return;
  }
  // Threads split the pixels, each writing whole output rows. Splitting
  // channel groups instead let two threads write the same rows (false
  // sharing: 96-byte rows straddle cache lines) and, with a narrower last
  // group (MobileNetV2's 96 channels: 4 + 2 blocks), gave one thread twice
  // the work. Boundaries at multiples of 48 pixels on large maps, of 6 on
  // small ones (13x13: 169 pixels) where whole 48s would leave a thread idle.
  const int64_t quantum = pixels >= 4 * kItemPixels * threads ? kItemPixels : 6;
  const auto boundary = [&](int64_t t, int64_t n) {
    return t >= n ? pixels : std::min(pixels, (pixels * t / n + quantum / 2) / quantum * quantum);
  };
#pragma omp parallel num_threads(threads)
  {
    const int64_t t = omp_get_thread_num(), n = omp_get_num_threads();
    range(boundary(t, n), boundary(t + 1, n));
  }
}

void Conv1x1U8::silu_quantize(const uint8_t *x, int64_t pixels, void *y,
                              const SiluQuantize &e) const {
  if (e.u8_out)
    run(x, pixels, SiluQuantizeTile<true>{cout_, static_cast<int8_t *>(y), &e});
  else
    run(x, pixels, SiluQuantizeTile<false>{cout_, static_cast<int8_t *>(y), &e});
}

// ClampPlan's flags become template arguments one at a time (u8 output,
// addend, first clamp, lower bound), then the tile loop runs.
template <bool... Flags>
void Conv1x1U8::clamp_quantize_as(const uint8_t *x, int64_t pixels, void *y,
                                  const ClampRequantize &e) const {
  const ClampPlan p = ClampPlan::of(e);
  constexpr size_t known = sizeof...(Flags);
  if constexpr (known == 4) {
    run(x, pixels, ClampQuantizeTile<Flags...>{cout_, static_cast<int8_t *>(y), &e, &p});
  } else {
    const bool next = known == 0 ? e.u8_out : known == 1 ? p.add : known == 2 ? p.pre : p.lo;
    if (next)
      clamp_quantize_as<Flags..., true>(x, pixels, y, e);
    else
      clamp_quantize_as<Flags..., false>(x, pixels, y, e);
  }
}

void Conv1x1U8::clamp_quantize(const uint8_t *x, int64_t pixels, void *y,
                               const ClampRequantize &e) const {
  clamp_quantize_as<>(x, pixels, y, e);
}

void Conv1x1U8::real(const uint8_t *x, int64_t pixels, float *y) const {
  run(x, pixels, RealTile{cout_, y});
}

} // namespace qtune::kernels

#pragma GCC diagnostic pop
