// ReduceMean/Max/Min/Sum/Prod/L1/L2/LogSum/LogSumExp/SumSquare over a set of
// axes (attribute, or input 1 as in ReduceSum-13 and all reductions from
// opset 18), with keepdims and noop_with_empty_axes; Min/Max also on bool. Every output element
// reduces the same pattern of source offsets: offsets are precomputed once.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "runtime/kernel.h"
#include "runtime/kernels/kernel_util.h"

namespace qtune {
namespace {

enum class Red { mean, max, min, sum, prod, l1, l2, log_sum, log_sum_exp, sum_square };

class ReduceKernel : public Kernel {
public:
  ReduceKernel(const Node &n, Red red)
      : node_(n), red_(red), keepdims_(n.attr_int("keepdims", 1) != 0),
        noop_empty_(n.attr_int("noop_with_empty_axes", 0) != 0) {}

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    const Shape &s = in[0].shape();
    int rank = in[0].rank();
    std::vector<int64_t> axes =
        kernels::has_input(in, 1) ? in[1].to_i64_vector() : node_.attr_ints("axes");
    reduced_.assign(rank, false);
    noop_ = axes.empty() && noop_empty_;
    if (axes.empty() && !noop_empty_)
      reduced_.assign(rank, true);
    for (int64_t a : axes)
      reduced_[kernels::normalize_axis(node_, a, rank)] = true;
    Shape out;
    for (int i = 0; i < rank; ++i) {
      if (!reduced_[i])
        out.push_back(s[i]);
      else if (keepdims_)
        out.push_back(1);
    }
    DType t = in[0].dtype();
    // bool Min/Max are TF's All/Any.
    bool logical = red_ == Red::min || red_ == Red::max;
    if ((t == DType::boolean && !logical) || t == DType::string || t == DType::f16 ||
        t == DType::bf16)
      kernels::throw_dtype(node_, t);
    return {{t, noop_ ? s : out}};
  }

  void prepare(std::span<const Tensor> in) override {
    const Shape &s = in[0].shape();
    int rank = in[0].rank();
    std::vector<int64_t> stride(rank, 1);
    for (int i = rank - 1; i > 0; --i)
      stride[i - 1] = stride[i] * s[i];
    // Offsets of the reduced sub-space and of each kept-coordinate base.
    red_off_ = {0};
    base_off_ = {0};
    for (int i = 0; i < rank; ++i) {
      auto &v = reduced_[i] && !noop_ ? red_off_ : base_off_;
      std::vector<int64_t> next;
      next.reserve(v.size() * s[i]);
      for (int64_t o : v)
        for (int64_t k = 0; k < s[i]; ++k)
          next.push_back(o + k * stride[i]);
      v = std::move(next);
    }
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    kernels::dispatch_numeric(node_, in[0].dtype(), [&](auto tag) {
      using T = decltype(tag);
      reduce(in[0].data<T>(), out[0].data<T>());
    });
  }

private:
  template <typename T> void reduce(const T *x, T *y) const {
    const int64_t n_out = static_cast<int64_t>(base_off_.size());
    const int64_t n_red = static_cast<int64_t>(red_off_.size());
#pragma omp parallel for if (n_out * n_red > 32768)
    for (int64_t o = 0; o < n_out; ++o) {
      const T *p = x + base_off_[o];
      y[o] = static_cast<T>(reduce_one(p, n_red));
    }
  }

  template <typename T> double reduce_one(const T *p, int64_t n) const {
    const auto &off = red_off_;
    switch (red_) {
    case Red::max: {
      double m = n ? double(p[off[0]]) : -std::numeric_limits<double>::infinity();
      if constexpr (!std::is_floating_point_v<T>)
        if (!n)
          m = double(std::numeric_limits<T>::lowest());
      for (int64_t k = 1; k < n; ++k)
        m = std::max(m, double(p[off[k]]));
      return m;
    }
    case Red::min: {
      double m = n ? double(p[off[0]]) : std::numeric_limits<double>::infinity();
      if constexpr (!std::is_floating_point_v<T>)
        if (!n)
          m = double(std::numeric_limits<T>::max());
      for (int64_t k = 1; k < n; ++k)
        m = std::min(m, double(p[off[k]]));
      return m;
    }
    case Red::prod: {
      double a = 1;
      for (int64_t k = 0; k < n; ++k)
        a *= double(p[off[k]]);
      return a;
    }
    case Red::log_sum_exp: {
      if (!n)
        return -std::numeric_limits<double>::infinity();
      double m = double(p[off[0]]);
      for (int64_t k = 1; k < n; ++k)
        m = std::max(m, double(p[off[k]]));
      double a = 0;
      for (int64_t k = 0; k < n; ++k)
        a += std::exp(double(p[off[k]]) - m);
      return m + std::log(a);
    }
    default:
      break;
    }
    double a = 0;
    for (int64_t k = 0; k < n; ++k) {
      double v = double(p[off[k]]);
      a += red_ == Red::l1 ? std::abs(v) : (red_ == Red::l2 || red_ == Red::sum_square) ? v * v : v;
    }
    switch (red_) {
    case Red::mean:
      return n ? a / double(n) : std::numeric_limits<double>::quiet_NaN();
    case Red::l2:
      return std::sqrt(a);
    case Red::log_sum:
      return std::log(a);
    default:
      return a;
    }
  }

  Node node_;
  Red red_;
  bool keepdims_, noop_empty_;
  bool noop_ = false;
  std::vector<bool> reduced_;
  std::vector<int64_t> red_off_, base_off_;
};

} // namespace

void register_reduce_kernels(KernelRegistry &r) {
  const std::pair<const char *, Red> ops[] = {
      {"ReduceMean", Red::mean},
      {"ReduceMax", Red::max},
      {"ReduceMin", Red::min},
      {"ReduceSum", Red::sum},
      {"ReduceProd", Red::prod},
      {"ReduceL1", Red::l1},
      {"ReduceL2", Red::l2},
      {"ReduceLogSum", Red::log_sum},
      {"ReduceLogSumExp", Red::log_sum_exp},
      {"ReduceSumSquare", Red::sum_square},
  };
  for (const auto &[name, red] : ops)
    r.add(name, [red = red](const Node &n, const KernelEnv &) {
      return std::make_unique<ReduceKernel>(n, red);
    });
}

} // namespace qtune
