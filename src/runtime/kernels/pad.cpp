// Pad (opset 11+ input form: pads [x1_begin, x2_begin, ..., x1_end, ...],
// optional constant value, optional axes) with constant, reflect, edge and wrap
// modes, plus "symmetric" (TF MirrorPad: the mirror includes the edge) for the
// TF kernels.
// Negative pads crop. Each output element maps back to one source coordinate.
#include <algorithm>
#include <cstring>

#include "runtime/kernel.h"
#include "runtime/kernels/kernel_util.h"

namespace qtune {
namespace {

enum class PadMode { constant, reflect, edge, wrap, symmetric };

class PadKernel : public Kernel {
public:
  explicit PadKernel(const Node &n) : node_(n) {
    std::string m = n.attr_string("mode", "constant");
    if (m == "constant")
      mode_ = PadMode::constant;
    else if (m == "reflect")
      mode_ = PadMode::reflect;
    else if (m == "edge")
      mode_ = PadMode::edge;
    else if (m == "wrap")
      mode_ = PadMode::wrap;
    else if (m == "symmetric")
      mode_ = PadMode::symmetric;
    else
      throw UnsupportedError(fmt::format("{}: pad mode '{}' is not supported", n.describe(), m));
  }

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    int rank = in[0].rank();
    std::vector<int64_t> pads =
        kernels::has_input(in, 1) ? in[1].to_i64_vector() : node_.attr_ints("pads");
    std::vector<int64_t> axes;
    if (kernels::has_input(in, 3))
      axes = in[3].to_i64_vector();
    else
      for (int i = 0; i < rank; ++i)
        axes.push_back(i);
    if (pads.size() != 2 * axes.size())
      throw InputError(
          fmt::format("{}: {} pads for {} axes", node_.describe(), pads.size(), axes.size()));
    begin_.assign(rank, 0);
    Shape out = in[0].shape();
    for (size_t i = 0; i < axes.size(); ++i) {
      int ax = kernels::normalize_axis(node_, axes[i], rank);
      begin_[ax] = pads[i];
      out[ax] += pads[i] + pads[i + axes.size()];
      if (out[ax] < 0)
        throw InputError(node_.describe() + ": pads crop below zero");
    }
    return {{in[0].dtype(), out}};
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    kernels::dispatch_by_size(node_, in[0].dtype(), [&](auto tag) {
      using T = decltype(tag);
      T fill{};
      if (kernels::has_input(in, 2) && in[2].numel() > 0)
        std::memcpy(&fill, in[2].raw(), sizeof(T));
      else if constexpr (sizeof(T) == sizeof(float)) {
        if (node_.has_attr("value") && in[0].dtype() == DType::f32) {
          float v = node_.attr_float("value", 0);
          std::memcpy(&fill, &v, sizeof(T));
        }
      }
      pad(in[0], out[0], fill);
    });
  }

private:
  // Source coordinate for output coordinate o along a dim of size n; -1 = fill.
  int64_t source(int64_t o, int64_t begin, int64_t n) const {
    int64_t i = o - begin;
    if (i >= 0 && i < n)
      return i;
    switch (mode_) {
    case PadMode::constant:
      return -1;
    case PadMode::edge:
      return std::clamp<int64_t>(i, 0, n - 1);
    case PadMode::wrap:
      return ((i % n) + n) % n;
    case PadMode::reflect: {
      if (n == 1)
        return 0;
      int64_t period = 2 * (n - 1);
      i = ((i % period) + period) % period;
      return i < n ? i : period - i;
    }
    case PadMode::symmetric: {
      int64_t period = 2 * n;
      i = ((i % period) + period) % period;
      return i < n ? i : period - 1 - i;
    }
    }
    return -1;
  }

  template <typename T> void pad(const Tensor &x, Tensor &y, T fill) const {
    const Shape &s = x.shape();
    const Shape &os = y.shape();
    int rank = x.rank();
    if (y.numel() == 0)
      return;
    if (x.numel() == 0 && mode_ != PadMode::constant)
      throw InputError(node_.describe() + ": cannot pad an empty tensor in this mode");
    std::vector<int64_t> stride(rank, 1);
    for (int i = rank - 1; i > 0; --i)
      stride[i - 1] = stride[i] * s[i];
    const T *src = x.data<T>();
    T *dst = y.data<T>();
    int64_t inner = rank ? os[rank - 1] : 1, rows = y.numel() / inner;
#pragma omp parallel for if (y.numel() > 32768)
    for (int64_t r = 0; r < rows; ++r) {
      int64_t off = 0, rem = r;
      bool filled = false;
      for (int i = rank - 2; i >= 0; --i) {
        int64_t c = source(rem % os[i], begin_[i], s[i]);
        rem /= os[i];
        if (c < 0)
          filled = true;
        else
          off += c * stride[i];
      }
      T *d = dst + r * inner;
      if (filled) {
        std::fill(d, d + inner, fill);
        continue;
      }
      if (rank == 0) {
        d[0] = src[0];
        continue;
      }
      for (int64_t j = 0; j < inner; ++j) {
        int64_t c = source(j, begin_[rank - 1], s[rank - 1]);
        d[j] = c < 0 ? fill : src[off + c];
      }
    }
  }

  Node node_;
  PadMode mode_ = PadMode::constant;
  std::vector<int64_t> begin_;
};

} // namespace

void register_pad_kernels(KernelRegistry &r) {
  r.add("Pad", [](const Node &n, const KernelEnv &) { return std::make_unique<PadKernel>(n); });
}

} // namespace qtune
