// Expand (numpy broadcast to a shape) and Tile (repeat along each axis).
#include <cstring>

#include "runtime/kernel.h"
#include "runtime/kernels/kernel_util.h"

namespace qtune {
namespace {

class ExpandKernel : public Kernel {
public:
  explicit ExpandKernel(const Node &n) : node_(n) {}

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    Shape target = in[1].to_i64_vector();
    return {{in[0].dtype(), kernels::broadcast_shape(node_, {in[0].shape(), target})}};
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    kernels::Broadcast bc = kernels::make_broadcast(node_, {in[0].shape(), out[0].shape()});
    const int64_t inner = bc.inner(), rows = bc.rows(), step = bc.step[0].back();
    if (inner == 0 || rows == 0)
      return;
    kernels::dispatch_by_size(node_, in[0].dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T *x = in[0].data<T>();
      T *y = out[0].data<T>();
#pragma omp parallel for if (rows * inner > 32768)
      for (int64_t r = 0; r < rows; ++r) {
        int64_t off[2];
        bc.row_offsets(r, off);
        for (int64_t i = 0; i < inner; ++i)
          y[r * inner + i] = x[off[0] + i * step];
      }
    });
  }

private:
  Node node_;
};

class TileKernel : public Kernel {
public:
  explicit TileKernel(const Node &n) : node_(n) {}

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    std::vector<int64_t> reps = in[1].to_i64_vector();
    if (reps.size() != in[0].shape().size())
      throw InputError(fmt::format("{}: repeats {} do not match input {}", node_.describe(),
                                   shape_str(reps), shape_str(in[0].shape())));
    Shape out = in[0].shape();
    for (size_t i = 0; i < out.size(); ++i) {
      if (reps[i] < 0)
        throw InputError(node_.describe() + ": negative repeat");
      out[i] *= reps[i];
    }
    return {{in[0].dtype(), out}};
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    const Shape &s = in[0].shape();
    const Shape &os = out[0].shape();
    int rank = in[0].rank();
    if (out[0].numel() == 0)
      return;
    if (rank == 0) {
      std::memcpy(out[0].raw(), in[0].raw(), in[0].nbytes());
      return;
    }
    std::vector<int64_t> stride(rank, 1);
    for (int i = rank - 1; i > 0; --i)
      stride[i - 1] = stride[i] * s[i];
    size_t es = dtype_size(in[0].dtype());
    const auto *src = static_cast<const uint8_t *>(in[0].raw());
    auto *dst = static_cast<uint8_t *>(out[0].raw());
    int64_t inner = os[rank - 1], rows = out[0].numel() / inner, last = s[rank - 1];
    for (int64_t r = 0; r < rows; ++r) {
      int64_t off = 0, rem = r;
      for (int i = rank - 2; i >= 0; --i) {
        off += (rem % os[i]) % s[i] * stride[i];
        rem /= os[i];
      }
      for (int64_t j = 0; j < inner; j += last)
        std::memcpy(dst + (r * inner + j) * es, src + off * es, last * es);
    }
  }

private:
  Node node_;
};

} // namespace

void register_expand_tile_kernels(KernelRegistry &r) {
  r.add("Expand",
        [](const Node &n, const KernelEnv &) { return std::make_unique<ExpandKernel>(n); });
  r.add("Tile", [](const Node &n, const KernelEnv &) { return std::make_unique<TileKernel>(n); });
}

} // namespace qtune
