// Gather (rows picked along an axis by an index tensor) and GatherElements
// (index tensor of the output's shape). Negative indices count from the end.
#include <cstring>

#include "runtime/kernel.h"
#include "runtime/kernels/kernel_util.h"

namespace qtune {
namespace {

int64_t checked_index(const Node &node, int64_t idx, int64_t dim) {
  if (idx < -dim || idx >= dim)
    throw InputError(
        fmt::format("{}: index {} out of range [-{}, {})", node.describe(), idx, dim, dim));
  return idx < 0 ? idx + dim : idx;
}

class GatherKernel : public Kernel {
public:
  explicit GatherKernel(const Node &n) : node_(n), axis_(n.attr_int("axis", 0)) {}

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    const Shape &s = in[0].shape();
    int axis = kernels::normalize_axis(node_, axis_, in[0].rank());
    Shape out(s.begin(), s.begin() + axis);
    out.insert(out.end(), in[1].shape().begin(), in[1].shape().end());
    out.insert(out.end(), s.begin() + axis + 1, s.end());
    return {{in[0].dtype(), out}};
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    const Shape &s = in[0].shape();
    int axis = kernels::normalize_axis(node_, axis_, in[0].rank());
    int64_t outer = kernels::numel_before(s, axis), dim = s[axis];
    int64_t block = kernels::numel_after(s, axis) * dtype_size(in[0].dtype());
    int64_t n_idx = in[1].numel();
    std::vector<int64_t> idx(n_idx);
    for (int64_t i = 0; i < n_idx; ++i)
      idx[i] = checked_index(node_, in[1].get_i64(i), dim);
    const auto *src = static_cast<const uint8_t *>(in[0].raw());
    auto *dst = static_cast<uint8_t *>(out[0].raw());
#pragma omp parallel for if (outer * n_idx * block > (1 << 16))
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < n_idx; ++i)
        std::memcpy(dst + (o * n_idx + i) * block, src + (o * dim + idx[i]) * block, block);
  }

private:
  Node node_;
  int64_t axis_;
};

class GatherElementsKernel : public Kernel {
public:
  explicit GatherElementsKernel(const Node &n) : node_(n), axis_(n.attr_int("axis", 0)) {}

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    if (in[1].rank() != in[0].rank())
      throw InputError(node_.describe() + ": indices rank differs from data rank");
    return {{in[0].dtype(), in[1].shape()}};
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    const Shape &s = in[0].shape();
    const Shape &is = in[1].shape();
    int rank = in[0].rank();
    int axis = kernels::normalize_axis(node_, axis_, rank);
    std::vector<int64_t> stride(rank, 1);
    for (int i = rank - 1; i > 0; --i)
      stride[i - 1] = stride[i] * s[i];
    size_t es = dtype_size(in[0].dtype());
    const auto *src = static_cast<const uint8_t *>(in[0].raw());
    auto *dst = static_cast<uint8_t *>(out[0].raw());
    for (int64_t e = 0; e < in[1].numel(); ++e) {
      int64_t off = 0, rem = e;
      for (int d = rank - 1; d >= 0; --d) {
        int64_t c = rem % is[d];
        rem /= is[d];
        if (d == axis)
          c = checked_index(node_, in[1].get_i64(e), s[d]);
        off += c * stride[d];
      }
      std::memcpy(dst + e * es, src + off * es, es);
    }
  }

private:
  Node node_;
  int64_t axis_;
};

} // namespace

void register_gather_kernels(KernelRegistry &r) {
  r.add("Gather",
        [](const Node &n, const KernelEnv &) { return std::make_unique<GatherKernel>(n); });
  r.add("GatherElements",
        [](const Node &n, const KernelEnv &) { return std::make_unique<GatherElementsKernel>(n); });
}

} // namespace qtune
