// Slice (opset 10+ input form: starts, ends, axes, steps), any dtype. The
// innermost sliced run is copied with memcpy when its step is 1.
#include <algorithm>
#include <cstring>
#include <limits>

#include "runtime/kernel.h"
#include "runtime/kernels/kernel_util.h"

namespace qtune {
namespace {

class SliceKernel : public Kernel {
public:
  explicit SliceKernel(const Node &n) : node_(n) {}

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    const Shape &s = in[0].shape();
    int rank = in[0].rank();
    if (!kernels::has_input(in, 2))
      throw InputError(node_.describe() + ": needs starts and ends");
    std::vector<int64_t> starts = in[1].to_i64_vector(), ends = in[2].to_i64_vector();
    std::vector<int64_t> axes, steps;
    if (kernels::has_input(in, 3))
      axes = in[3].to_i64_vector();
    else
      for (size_t i = 0; i < starts.size(); ++i)
        axes.push_back(static_cast<int64_t>(i));
    if (kernels::has_input(in, 4))
      steps = in[4].to_i64_vector();
    else
      steps.assign(starts.size(), 1);
    if (ends.size() != starts.size() || axes.size() != starts.size() ||
        steps.size() != starts.size())
      throw InputError(node_.describe() + ": starts, ends, axes and steps differ in length");
    start_.assign(rank, 0);
    step_.assign(rank, 1);
    Shape out = s;
    for (size_t i = 0; i < starts.size(); ++i) {
      int ax = kernels::normalize_axis(node_, axes[i], rank);
      int64_t dim = s[ax], step = steps[i];
      if (step == 0)
        throw InputError(node_.describe() + ": step is zero");
      int64_t b = starts[i], e = ends[i];
      if (b < 0)
        b += dim;
      if (e < 0 && e > std::numeric_limits<int64_t>::min() / 2)
        e += dim;
      if (step > 0) {
        b = std::clamp<int64_t>(b, 0, dim);
        e = std::clamp<int64_t>(e, 0, dim);
        out[ax] = e > b ? (e - b + step - 1) / step : 0;
      } else {
        b = std::clamp<int64_t>(b, 0, dim - 1);
        e = std::clamp<int64_t>(e, -1, dim - 1);
        out[ax] = b > e ? (b - e - step - 1) / -step : 0;
      }
      start_[ax] = b;
      step_[ax] = step;
    }
    return {{in[0].dtype(), out}};
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    if (out[0].numel() == 0)
      return;
    const Shape &s = in[0].shape();
    const Shape &os = out[0].shape();
    int rank = in[0].rank();
    if (rank == 0) {
      std::memcpy(out[0].raw(), in[0].raw(), in[0].nbytes());
      return;
    }
    std::vector<int64_t> stride(rank, 1);
    for (int i = rank - 1; i > 0; --i)
      stride[i - 1] = stride[i] * s[i];
    size_t es = dtype_size(in[0].dtype());
    int64_t inner = os[rank - 1], rows = out[0].numel() / inner;
    const auto *src = static_cast<const uint8_t *>(in[0].raw());
    auto *dst = static_cast<uint8_t *>(out[0].raw());
    const int64_t last_step = step_[rank - 1];
#pragma omp parallel for if (out[0].numel() > 32768)
    for (int64_t r = 0; r < rows; ++r) {
      int64_t off = start_[rank - 1], rem = r;
      for (int i = rank - 2; i >= 0; --i) {
        off += (start_[i] + (rem % os[i]) * step_[i]) * stride[i];
        rem /= os[i];
      }
      uint8_t *d = dst + r * inner * es;
      if (last_step == 1) {
        std::memcpy(d, src + off * es, inner * es);
      } else {
        for (int64_t j = 0; j < inner; ++j)
          std::memcpy(d + j * es, src + (off + j * last_step) * es, es);
      }
    }
  }

private:
  Node node_;
  std::vector<int64_t> start_, step_;
};

} // namespace

void register_slice_kernels(KernelRegistry &r) {
  r.add("Slice", [](const Node &n, const KernelEnv &) { return std::make_unique<SliceKernel>(n); });
}

} // namespace qtune
