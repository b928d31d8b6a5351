// Concat and Split along one axis. Both are block copies: the tensor is viewed
// as [outer, axis * inner] and each input/output owns a contiguous column band.
#include <cstring>

#include "runtime/kernel.h"
#include "runtime/kernels/kernel_util.h"

namespace qtune {
namespace {

constexpr int64_t kParallelBytes = 1 << 16;

class ConcatKernel : public Kernel {
public:
  explicit ConcatKernel(const Node &n) : node_(n), axis_(n.attr_int("axis", 0)) {}

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
    return {{in[0].dtype(), out}};
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    int axis = kernels::normalize_axis(node_, axis_, std::max(1, in[0].rank()));
    const Shape &os = out[0].shape();
    size_t es = dtype_size(out[0].dtype());
    int64_t outer = kernels::numel_before(os, axis);
    int64_t inner_bytes = kernels::numel_after(os, axis) * es;
    int64_t out_row = os[axis] * inner_bytes;
    auto *dst = static_cast<uint8_t *>(out[0].raw());
    int64_t col = 0;
    for (const auto &t : in) {
      int64_t band = t.shape()[axis] * inner_bytes;
      const auto *src = static_cast<const uint8_t *>(t.raw());
#pragma omp parallel for if (outer * band > kParallelBytes)
      for (int64_t o = 0; o < outer; ++o)
        std::memcpy(dst + o * out_row + col, src + o * band, band);
      col += band;
    }
  }

private:
  Node node_;
  int64_t axis_;
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
      auto *dst = static_cast<uint8_t *>(t.raw());
#pragma omp parallel for if (outer * band > kParallelBytes)
      for (int64_t o = 0; o < outer; ++o)
        std::memcpy(dst + o * band, src + o * in_row + col, band);
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
        [](const Node &n, const KernelEnv &) { return std::make_unique<ConcatKernel>(n); });
  r.add("Split", [](const Node &n, const KernelEnv &) { return std::make_unique<SplitKernel>(n); });
}

} // namespace qtune
