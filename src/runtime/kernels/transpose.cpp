// Transpose with a permutation (default: reverse). Dims that stay adjacent and
// in order are merged first, so e.g. NCHW->NHWC is a 3D transpose of
// [N, C, H*W]; the innermost source-contiguous run is copied as a block.
// When the output's innermost dim is strided in the source but the one
// before it is contiguous there (a matrix transpose, e.g. YOLOX's head
// [1,85,3549] -> [1,3549,85]), 16 x 16 tiles are copied so that every
// source and destination cache line is touched once per tile instead of
// once per element (1 thread CPU ~1 ms -> ~0.1 ms for that head, load 13).
#include <algorithm>
#include <cstring>
#include <immintrin.h>
#include <numeric>

#include "runtime/dnnl_util.h"
#include "runtime/kernel.h"
#include "runtime/kernels/kernel_util.h"

namespace qtune {
namespace {

const bool kHasAvx512 = __builtin_cpu_supports("avx512f");

// GCC 12 warns about the self-initialised placeholder inside its own
// _mm512_undefined_ps() that the unmasked intrinsics pass through.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// A 16 x 16 tile of 4-byte elements in registers: out row c (stride ds)
// gets column c of the 16 in rows (stride ss). Three rounds of moves: 32-bit
// interleave of row pairs, 64-bit interleave of those pairs (each 128-bit
// lane then holds 4 rows of one column), then 128-bit lane shuffles gather the
// four lanes of each column. Bits are moved, never converted.
__attribute__((target("avx512f"))) void transpose16x16(const uint32_t *in, int64_t ss,
                                                       uint32_t *out, int64_t ds) {
  __m512 r[16], u[16];
  for (int i = 0; i < 16; ++i)
    r[i] = _mm512_castsi512_ps(_mm512_loadu_si512(in + i * ss));
  for (int i = 0; i < 16; i += 2) { // [a0 b0 a1 b1], [a2 b2 a3 b3] per lane
    u[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    u[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int g = 0; g < 4; ++g) { // r[4g + e], lane L: rows 4g..4g+3 of column 4L + e
    const __m512d lo_ab = _mm512_castps_pd(u[4 * g]), hi_ab = _mm512_castps_pd(u[4 * g + 1]);
    const __m512d lo_cd = _mm512_castps_pd(u[4 * g + 2]), hi_cd = _mm512_castps_pd(u[4 * g + 3]);
    r[4 * g] = _mm512_castpd_ps(_mm512_unpacklo_pd(lo_ab, lo_cd));
    r[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(lo_ab, lo_cd));
    r[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(hi_ab, hi_cd));
    r[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(hi_ab, hi_cd));
  }
  for (int e = 0; e < 4; ++e) {
    // Lanes 0, 2 and 1, 3 of row groups 0-1 and 2-3, then column 4L + e.
    const __m512 even01 = _mm512_shuffle_f32x4(r[e], r[4 + e], 0x88);
    const __m512 odd01 = _mm512_shuffle_f32x4(r[e], r[4 + e], 0xDD);
    const __m512 even23 = _mm512_shuffle_f32x4(r[8 + e], r[12 + e], 0x88);
    const __m512 odd23 = _mm512_shuffle_f32x4(r[8 + e], r[12 + e], 0xDD);
    _mm512_storeu_ps(out + (0 + e) * ds, _mm512_shuffle_f32x4(even01, even23, 0x88));
    _mm512_storeu_ps(out + (8 + e) * ds, _mm512_shuffle_f32x4(even01, even23, 0xDD));
    _mm512_storeu_ps(out + (4 + e) * ds, _mm512_shuffle_f32x4(odd01, odd23, 0x88));
    _mm512_storeu_ps(out + (12 + e) * ds, _mm512_shuffle_f32x4(odd01, odd23, 0xDD));
  }
}

#pragma GCC diagnostic pop

class TransposeKernel : public Kernel {
public:
  TransposeKernel(const Node &n, const KernelEnv &env)
      : node_(n), env_(env), perm_attr_(n.attr_ints("perm")) {}

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    const Shape &s = in[0].shape();
    perm_ = perm_attr_;
    if (perm_.empty()) {
      perm_.resize(s.size());
      std::iota(perm_.rbegin(), perm_.rend(), 0);
    }
    std::vector<bool> seen(s.size(), false);
    if (perm_.size() != s.size())
      throw InputError(fmt::format("{}: perm {} does not match input {}", node_.describe(),
                                   shape_str(perm_), shape_str(s)));
    Shape out(s.size());
    for (size_t i = 0; i < perm_.size(); ++i) {
      int p = kernels::normalize_axis(node_, perm_[i], static_cast<int>(s.size()));
      if (seen[p])
        throw InputError(node_.describe() + ": perm repeats an axis");
      seen[p] = true;
      perm_[i] = p;
      out[i] = s[p];
    }
    return {{in[0].dtype(), out}};
  }

  // oneDNN layouts (runtime/kernel.h): a channels-last input transposed to
  // channels-last, [0, 2, 3, 1] (the head rewrite of fold_head_transpose.cpp),
  // is its own bytes; any other layout is reordered to plain first.
  bool accepts_dnnl_layouts() const override { return true; }
  void set_input_layouts(std::span<const dnnl_memory_desc_t *const> layouts) override {
    layout_ = layouts.empty() ? nullptr : layouts[0];
  }

  void prepare(std::span<const Tensor> in) override {
    staged_.clear();
    same_bytes_ = false;
    if (layout_) {
      const dnnl::memory::desc given(*layout_);
      const auto dt = dnnl_util::dtype(in[0].dtype());
      same_bytes_ = in[0].rank() == 4 && perm_ == std::vector<int64_t>{0, 2, 3, 1} &&
                    given == dnnl::memory::desc(dnnl_util::to_dims(in[0].shape()), dt,
                                                dnnl::memory::format_tag::nhwc);
      if (!same_bytes_)
        staged_.plan(env_, given, dnnl_util::plain_desc(in[0].shape(), dt));
    }
    plan_strides(in);
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    if (in[0].numel() == 0)
      return;
    if (same_bytes_) {
      const auto bytes = static_cast<int64_t>(in[0].nbytes());
      kernels::copy_rows(out[0].raw(), bytes, in[0].raw(), bytes, 1, bytes);
      return;
    }
    const void *x = staged_.run(env_, in[0].raw());
    kernels::dispatch_by_size(node_, in[0].dtype(), [&](auto tag) {
      using T = decltype(tag);
      copy(static_cast<const T *>(x), out[0].data<T>());
    });
  }

  std::string implementation() const override {
    return same_bytes_ ? "channels-last input: its bytes copied" : "";
  }

private:
  void plan_strides(std::span<const Tensor> in) {
    // Drop size-1 dims, then merge output dims i, i+1 when perm[i+1] == perm[i] + 1.
    const Shape &s = in[0].shape();
    std::vector<int64_t> kept;
    for (int64_t p : perm_)
      if (s[p] != 1)
        kept.push_back(p);
    std::vector<int64_t> order = kept;
    std::sort(order.begin(), order.end());
    std::vector<std::vector<int64_t>> groups; // groups of source axes, in output order
    for (int64_t p : kept) {
      if (!groups.empty() && groups.back().back() + 1 == p) {
        // Only merge if no kept axis lies between (size-1 dims were removed).
        groups.back().push_back(p);
      } else {
        groups.push_back({p});
      }
    }
    // Source order of the groups gives the merged source shape.
    std::vector<size_t> by_src(groups.size());
    std::iota(by_src.begin(), by_src.end(), 0);
    std::sort(by_src.begin(), by_src.end(),
              [&](size_t a, size_t b) { return groups[a][0] < groups[b][0]; });
    size_t r = groups.size();
    std::vector<int64_t> src_dims(r);
    for (size_t k = 0; k < r; ++k) {
      int64_t d = 1;
      for (int64_t p : groups[by_src[k]])
        d *= s[p];
      src_dims[k] = d;
    }
    std::vector<int64_t> src_stride(r, 1);
    for (size_t k = r; k-- > 1;)
      src_stride[k - 1] = src_stride[k] * src_dims[k];
    dims_.assign(r, 1);
    strides_.assign(r, 1);
    for (size_t i = 0; i < r; ++i) {
      size_t k = std::find(by_src.begin(), by_src.end(), i) - by_src.begin();
      dims_[i] = src_dims[k];
      strides_[i] = src_stride[k];
    }
    if (dims_.empty()) {
      dims_ = {1};
      strides_ = {1};
    }
  }

  template <typename T> void copy(const T *src, T *dst) const {
    const int r = static_cast<int>(dims_.size());
    const int64_t inner = dims_[r - 1], inner_stride = strides_[r - 1];
    if (r >= 2 && inner_stride != 1 && strides_[r - 2] == 1) {
      copy_tiled(src, dst);
      return;
    }
    int64_t rows = 1;
    for (int i = 0; i + 1 < r; ++i)
      rows *= dims_[i];
#pragma omp parallel for if (rows * inner > 32768)
    for (int64_t row = 0; row < rows; ++row) {
      int64_t off = 0, rem = row;
      for (int i = r - 2; i >= 0; --i) {
        off += (rem % dims_[i]) * strides_[i];
        rem /= dims_[i];
      }
      T *d = dst + row * inner;
      const T *s = src + off;
      if (inner_stride == 1) {
        std::memcpy(d, s, inner * sizeof(T));
      } else {
        for (int64_t j = 0; j < inner; ++j)
          d[j] = s[j * inner_stride];
      }
    }
  }

  // Output [outer..., R, C] with source strides [..., 1, cs]: tiles of
  // 16 rows x 16 columns; inside a tile the source is read along rows
  // (contiguous) and the destination written along columns.
  template <typename T> void copy_tiled(const T *src, T *dst) const {
    constexpr int64_t kTile = 16;
    const int r = static_cast<int>(dims_.size());
    const int64_t R = dims_[r - 2], C = dims_[r - 1], cs = strides_[r - 1];
    int64_t outer = 1;
    for (int i = 0; i + 2 < r; ++i)
      outer *= dims_[i];
    const int64_t row_tiles = (R + kTile - 1) / kTile, col_tiles = (C + kTile - 1) / kTile;
#pragma omp parallel for collapse(2) if (outer * R * C > 32768)
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t t = 0; t < row_tiles * col_tiles; ++t) {
        int64_t off = 0, rem = o;
        for (int i = r - 3; i >= 0; --i) {
          off += (rem % dims_[i]) * strides_[i];
          rem /= dims_[i];
        }
        const int64_t i0 = (t / col_tiles) * kTile, j0 = (t % col_tiles) * kTile;
        const int64_t i1 = std::min(R, i0 + kTile), j1 = std::min(C, j0 + kTile);
        T *d = dst + o * R * C;
        const T *s = src + off;
        if constexpr (sizeof(T) == 4) {
          if (kHasAvx512 && i1 - i0 == kTile && j1 - j0 == kTile) {
            transpose16x16(reinterpret_cast<const uint32_t *>(s + i0 + j0 * cs), cs,
                           reinterpret_cast<uint32_t *>(d + i0 * C + j0), C);
            continue;
          }
        }
        for (int64_t j = j0; j < j1; ++j)
          for (int64_t i = i0; i < i1; ++i)
            d[i * C + j] = s[i + j * cs];
      }
  }

  Node node_;
  KernelEnv env_;
  const dnnl_memory_desc_t *layout_ = nullptr; // input 0's oneDNN layout, nullptr: plain
  bool same_bytes_ = false;
  dnnl_util::Relayout staged_; // another layout, reordered to plain
  std::vector<int64_t> perm_attr_, perm_;
  std::vector<int64_t> dims_, strides_; // merged output dims and their source strides
};

} // namespace

void register_transpose_kernels(KernelRegistry &r) {
  r.add("Transpose", [](const Node &n, const KernelEnv &env) {
    return std::make_unique<TransposeKernel>(n, env);
  });
}

} // namespace qtune
