// ArgMax / ArgMin (keepdims, select_last_index) and TopK (largest, sorted; ties
// keep the lower index first, as ONNX specifies).
#include <algorithm>
#include <numeric>
#include <type_traits>

#include "runtime/kernel.h"
#include "runtime/kernels/kernel_util.h"

namespace qtune {
namespace {

class ArgKernel : public Kernel {
public:
  ArgKernel(const Node &n, bool is_max)
      : node_(n), is_max_(is_max), axis_(n.attr_int("axis", 0)),
        keepdims_(n.attr_int("keepdims", 1) != 0), last_(n.attr_int("select_last_index", 0) != 0) {}

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    Shape s = in[0].shape();
    int axis = kernels::normalize_axis(node_, axis_, in[0].rank());
    if (keepdims_)
      s[axis] = 1;
    else
      s.erase(s.begin() + axis);
    return {{DType::i64, s}};
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    const Shape &s = in[0].shape();
    int axis = kernels::normalize_axis(node_, axis_, in[0].rank());
    int64_t outer = kernels::numel_before(s, axis), n = s[axis],
            inner = kernels::numel_after(s, axis);
    kernels::dispatch_numeric(node_, in[0].dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T *x = in[0].data<T>();
      int64_t *y = out[0].data<int64_t>();
#pragma omp parallel for if (outer * inner * n > 32768)
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
          const T *p = x + o * n * inner + i;
          int64_t best = 0;
          for (int64_t k = 1; k < n; ++k) {
            T v = p[k * inner], b = p[best * inner];
            bool better = is_max_ ? (last_ ? v >= b : v > b) : (last_ ? v <= b : v < b);
            if (better)
              best = k;
          }
          y[o * inner + i] = best;
        }
    });
  }

private:
  Node node_;
  bool is_max_;
  int64_t axis_;
  bool keepdims_, last_;
};

class TopKKernel : public Kernel {
public:
  explicit TopKKernel(const Node &n)
      : node_(n), axis_(n.attr_int("axis", -1)), largest_(n.attr_int("largest", 1) != 0),
        sorted_(n.attr_int("sorted", 1) != 0) {}

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    if (!kernels::has_input(in, 1))
      throw InputError(node_.describe() + ": needs K");
    int64_t k = in[1].get_i64(0);
    Shape s = in[0].shape();
    int axis = kernels::normalize_axis(node_, axis_, in[0].rank());
    if (k < 0 || k > s[axis])
      throw InputError(fmt::format("{}: K = {} but axis {} has {} elements", node_.describe(), k,
                                   axis, s[axis]));
    s[axis] = k;
    return {{in[0].dtype(), s}, {DType::i64, s}};
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    const Shape &s = in[0].shape();
    int axis = kernels::normalize_axis(node_, axis_, in[0].rank());
    int64_t outer = kernels::numel_before(s, axis), n = s[axis],
            inner = kernels::numel_after(s, axis);
    int64_t k = in[1].get_i64(0);
    kernels::dispatch_numeric(node_, in[0].dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T *x = in[0].data<T>();
      T *vals = out[0].data<T>();
      int64_t *idx = out.size() > 1 && out[1].defined() ? out[1].data<int64_t>() : nullptr;
#pragma omp parallel for if (outer * inner * n > 32768)
      for (int64_t o = 0; o < outer; ++o) {
        std::vector<int64_t> order(n);
        for (int64_t i = 0; i < inner; ++i) {
          const T *p = x + o * n * inner + i;
          std::iota(order.begin(), order.end(), 0);
          // Ties: lower index first; the order is total, so partial sort is exact.
          auto before = [&](int64_t a, int64_t b) {
            T va = p[a * inner], vb = p[b * inner];
            if (va != vb)
              return largest_ ? va > vb : va < vb;
            return a < b;
          };
          std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
          if (!sorted_)
            std::sort(order.begin(), order.begin() + k);
          for (int64_t j = 0; j < k; ++j) {
            int64_t at = (o * k + j) * inner + i;
            vals[at] = p[order[j] * inner];
            if (idx)
              idx[at] = order[j];
          }
        }
      }
    });
  }

private:
  Node node_;
  int64_t axis_;
  bool largest_, sorted_;
};

} // namespace

void register_argmax_topk_kernels(KernelRegistry &r) {
  r.add("ArgMax",
        [](const Node &n, const KernelEnv &) { return std::make_unique<ArgKernel>(n, true); });
  r.add("ArgMin",
        [](const Node &n, const KernelEnv &) { return std::make_unique<ArgKernel>(n, false); });
  r.add("TopK", [](const Node &n, const KernelEnv &) { return std::make_unique<TopKKernel>(n); });
}

} // namespace qtune
