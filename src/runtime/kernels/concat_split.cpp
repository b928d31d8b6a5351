// Concat and Split along one axis. Both are block copies: the tensor is viewed
// as [outer, axis * inner] and each input/output owns a contiguous column band
// (Concat also writes channels-last, see ConcatKernel).
#include <cstring>
#include <immintrin.h>

#include "runtime/dnnl_util.h"
#include "runtime/kernel.h"
#include "runtime/kernels/kernel_util.h"

namespace qtune {
namespace {

constexpr int64_t kParallelBytes = 1 << 16;
constexpr int64_t kChunkPixels = 256; // pixels per task of the NHWC concat

const bool kHasAvx512bw = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");

// `rows` runs of `run` bytes, contiguous in the source, to a destination
// with row pitch `pitch` (one input's channels of each NHWC pixel): inline
// 64-byte moves, the last one masked. A memcpy call per pixel cost more than
// the copy itself for YOLOX's 16-128-byte runs.
__attribute__((target("avx512f,avx512bw"))) void
copy_runs_avx512(const uint8_t *s, uint8_t *d, int64_t rows, int64_t run, int64_t pitch) {
  const int64_t full = run / 64 * 64;
  const __mmask64 tail = run % 64 ? ~0ULL >> (64 - run % 64) : 0;
  for (int64_t r = 0; r < rows; ++r, s += run, d += pitch) {
    for (int64_t o = 0; o < full; o += 64)
      _mm512_storeu_si512(d + o, _mm512_loadu_si512(s + o));
    if (tail)
      _mm512_mask_storeu_epi8(d + full, tail, _mm512_maskz_loadu_epi8(tail, s + full));
  }
}

void copy_runs(const uint8_t *s, uint8_t *d, int64_t rows, int64_t run, int64_t pitch) {
  if (kHasAvx512bw) {
    copy_runs_avx512(s, d, rows, run, pitch);
    return;
  }
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(d + r * pitch, s + r * run, static_cast<size_t>(run));
}

// Concat opts into oneDNN layouts so a channel concat of conv outputs (YOLOX's
// CSP blocks) needs no reorder to plain and back: when any input of a 4-D
// axis-1 concat is blocked, the output is written channels-last (nhwc, what
// oneDNN's brgconv reads and writes), nhwc inputs are copied as channel runs
// per pixel, plain ones are transposed into place, other blocked layouts are
// reordered to nhwc first. Any other concat of a blocked input reorders it to
// plain.
class ConcatKernel : public Kernel {
public:
  ConcatKernel(const Node &n, const KernelEnv &env)
      : node_(n), env_(env), axis_(n.attr_int("axis", 0)) {}

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    if (in.empty())
      throw InputError(node_.describe() + ": needs inputs");
    const Shape &s0 = in[0].shape();
    int axis = kernels::normalize_axis(node_, axis_, std::max(1, in[0].rank()));
    Shape out = s0;
    out[axis] = 0;
    for (const auto &t : in) {
      const Shape &s = t.shape();
      bool ok = t.dtype() == in[0].dtype() && s.size() == s0.size();
      for (size_t d = 0; ok && d < s.size(); ++d)
        ok = d == size_t(axis) || s[d] == s0[d];
      if (!ok)
        throw InputError(fmt::format("{}: input {} {} does not match {} {} along axis {}",
                                     node_.describe(), shape_str(s), dtype_name(t.dtype()),
                                     shape_str(s0), dtype_name(in[0].dtype()), axis));
      out[axis] += s[axis];
    }
    out_shape_ = out;
    return {{in[0].dtype(), out}};
  }

  bool accepts_dnnl_layouts() const override { return true; }
  void set_input_layouts(std::span<const dnnl_memory_desc_t *const> layouts) override {
    layouts_.assign(layouts.begin(), layouts.end());
  }
  const dnnl_memory_desc_t *output_layout(size_t) const override {
    return nhwc_ ? &out_desc_.data : nullptr;
  }

  void prepare(std::span<const Tensor> in) override {
    int axis = kernels::normalize_axis(node_, axis_, std::max(1, in[0].rank()));
    bool any_blocked = false;
    for (size_t i = 0; i < in.size(); ++i)
      any_blocked |= blocked(i);
    nhwc_ = any_blocked && in[0].rank() == 4 && axis == 1;
    if (nhwc_)
      out_desc_ = nhwc_desc(out_shape_, in[0].dtype());
    staged_.assign(in.size(), dnnl_util::Relayout{});
    for (size_t i = 0; i < in.size(); ++i)
      if (blocked(i)) // to what run_nhwc / run_plain read
        staged_[i].plan(
            env_, dnnl::memory::desc(*layouts_[i]),
            nhwc_ ? nhwc_desc(in[i].shape(), in[i].dtype())
                  : dnnl_util::plain_desc(in[i].shape(), dnnl_util::dtype(in[i].dtype())));
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    std::vector<const uint8_t *> src(in.size());
    for (size_t i = 0; i < in.size(); ++i)
      src[i] = static_cast<const uint8_t *>(i < staged_.size() ? staged_[i].run(env_, in[i].raw())
                                                               : in[i].raw());
    if (nhwc_)
      run_nhwc(in, src, out[0]);
    else
      run_plain(in, src, out[0]);
  }

private:
  bool blocked(size_t i) const { return i < layouts_.size() && layouts_[i]; }

  static dnnl::memory::desc nhwc_desc(const Shape &s, DType t) {
    return dnnl::memory::desc(dnnl_util::to_dims(s), dnnl_util::dtype(t),
                              dnnl::memory::format_tag::nhwc);
  }

  void run_plain(std::span<const Tensor> in, const std::vector<const uint8_t *> &src, Tensor &y) {
    int axis = kernels::normalize_axis(node_, axis_, std::max(1, in[0].rank()));
    const Shape &os = y.shape();
    size_t es = dtype_size(y.dtype());
    int64_t outer = kernels::numel_before(os, axis);
    int64_t inner_bytes = kernels::numel_after(os, axis) * es;
    int64_t out_row = os[axis] * inner_bytes;
    auto *dst = static_cast<uint8_t *>(y.raw());
    int64_t col = 0;
    for (size_t i = 0; i < in.size(); ++i) {
      int64_t band = in[i].shape()[axis] * inner_bytes;
      kernels::copy_rows(dst + col, out_row, src[i], band, outer, band);
      col += band;
    }
  }

  // y [N,H,W,C] channels-last; input i fills channels [off, off + C_i).
  void run_nhwc(std::span<const Tensor> in, const std::vector<const uint8_t *> &src, Tensor &y) {
    const Shape &os = y.shape();
    const int64_t es = static_cast<int64_t>(dtype_size(y.dtype()));
    const int64_t hw = os[2] * os[3], ct = os[1], pixels = os[0] * hw;
    auto *dst = static_cast<uint8_t *>(y.raw());
    const bool big = y.nbytes() > kParallelBytes;
    const int64_t chunks = (pixels + kChunkPixels - 1) / kChunkPixels;
#pragma omp parallel for if (big)
    for (int64_t k = 0; k < chunks; ++k) {
      const int64_t p0 = k * kChunkPixels, p1 = std::min(pixels, p0 + kChunkPixels);
      int64_t off = 0; // this input's first channel in the output
      for (size_t i = 0; i < in.size(); ++i) {
        const int64_t c = in[i].shape()[1];
        // NHWC, or plain with one channel (the same bytes: YOLOX's obj_preds
        // beside its reg / cls outputs): each pixel's c channels are one run.
        if (blocked(i) || c == 1) {
          copy_runs(src[i] + p0 * c * es, dst + (p0 * ct + off) * es, p1 - p0, c * es, ct * es);
        } else { // plain NCHW: channel j of pixel p is hw apart
          for (int64_t p = p0; p < p1; ++p) {
            const int64_t b = p / hw, q = p % hw;
            const uint8_t *s = src[i] + (b * c * hw + q) * es;
            uint8_t *d = dst + (p * ct + off) * es;
            for (int64_t j = 0; j < c; ++j)
              std::memcpy(d + j * es, s + j * hw * es, static_cast<size_t>(es));
          }
        }
        off += c;
      }
    }
  }

  Node node_;
  KernelEnv env_;
  int64_t axis_;
  Shape out_shape_;
  std::vector<const dnnl_memory_desc_t *> layouts_;
  std::vector<dnnl_util::Relayout> staged_; // a blocked input read as nhwc / plain
  bool nhwc_ = false;
  dnnl::memory::desc out_desc_;
};

class SplitKernel : public Kernel {
public:
  explicit SplitKernel(const Node &n) : node_(n), axis_(n.attr_int("axis", 0)) {}

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    const Shape &s = in[0].shape();
    int axis = kernels::normalize_axis(node_, axis_, in[0].rank());
    size_t n_out = node_.outputs.size();
    std::vector<int64_t> sizes;
    if (kernels::has_input(in, 1))
      sizes = in[1].to_i64_vector();
    else if (node_.has_attr("split"))
      sizes = node_.attr_ints("split");
    if (sizes.empty()) {
      // Equal parts; with num_outputs (opset 18) the last part may be smaller.
      int64_t part = (s[axis] + n_out - 1) / n_out;
      for (size_t i = 0; i < n_out; ++i)
        sizes.push_back(std::min(part, std::max<int64_t>(0, s[axis] - part * int64_t(i))));
    }
    int64_t total = 0;
    for (int64_t v : sizes)
      total += v;
    if (sizes.size() != n_out || total != s[axis])
      throw InputError(fmt::format("{}: split sizes {} do not fit axis {} of {} ({} outputs)",
                                   node_.describe(), shape_str(sizes), axis, shape_str(s), n_out));
    std::vector<TensorType> out;
    for (int64_t v : sizes) {
      Shape o = s;
      o[axis] = v;
      out.push_back({in[0].dtype(), o});
    }
    return out;
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    const Shape &s = in[0].shape();
    int axis = kernels::normalize_axis(node_, axis_, in[0].rank());
    size_t es = dtype_size(in[0].dtype());
    int64_t outer = kernels::numel_before(s, axis);
    int64_t inner_bytes = kernels::numel_after(s, axis) * es;
    int64_t in_row = s[axis] * inner_bytes;
    const auto *src = static_cast<const uint8_t *>(in[0].raw());
    int64_t col = 0;
    for (auto &t : out) {
      if (!t.defined())
        continue;
      int64_t band = t.shape()[axis] * inner_bytes;
      kernels::copy_rows(t.raw(), band, src + col, in_row, outer, band);
      col += band;
    }
  }

private:
  Node node_;
  int64_t axis_;
};

} // namespace

void register_concat_split_kernels(KernelRegistry &r) {
  r.add("Concat",
        [](const Node &n, const KernelEnv &env) { return std::make_unique<ConcatKernel>(n, env); });
  r.add("Split", [](const Node &n, const KernelEnv &) { return std::make_unique<SplitKernel>(n); });
}

} // namespace qtune
