// TF Where (one input: the row-major coordinates of the true / non-zero
// elements as int64 [n, rank]; with three inputs it is Select), Select (v1:
// x and y of one shape; cond of that shape, a scalar, or a vector choosing
// whole rows of dim 0) and SelectV2 (numpy broadcasting, = ONNX Where).
#include <cstring>
#include <type_traits>

#include "runtime/kernels/tf_util.h"

namespace qtune {
namespace {

using kernels::tf::OnnxBacked;

class TfWhereKernel : public Kernel {
public:
  explicit TfWhereKernel(const Node &n) : node_(n) {}

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    const Tensor &x = in[0];
    coords_.clear();
    std::vector<int64_t> at(x.rank(), 0);
    kernels::dispatch_numeric(node_, x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T *p = x.data<T>();
      for (int64_t i = 0; i < x.numel(); ++i) {
        if (p[i] != T(0))
          coords_.insert(coords_.end(), at.begin(), at.end());
        advance(at, x.shape());
      }
    });
    int64_t rank = x.rank();
    int64_t n = rank ? static_cast<int64_t>(coords_.size()) / rank : count_scalar(x);
    return {{DType::i64, {n, rank}}};
  }

  void run(std::span<const Tensor>, std::span<Tensor> out) override {
    std::copy(coords_.begin(), coords_.end(), out[0].data<int64_t>());
  }
  bool value_dependent_shapes() const override { return true; }

private:
  // Next row-major coordinate.
  static void advance(std::vector<int64_t> &at, const Shape &s) {
    for (int d = static_cast<int>(s.size()) - 1; d >= 0; --d) {
      if (++at[d] < s[d])
        return;
      at[d] = 0;
    }
  }
  // A scalar has no coordinates: the output is [1,0] when it is true.
  static int64_t count_scalar(const Tensor &x) { return x.get_f64(0) != 0 ? 1 : 0; }

  Node node_;
  std::vector<int64_t> coords_;
};

// Select v1 and SelectV2 through the ONNX Where kernel; a v1 row-selecting
// vector is viewed as [n,1,...,1] so that broadcasting picks whole rows.
class TfSelectKernel : public OnnxBacked {
public:
  TfSelectKernel(const Node &n, const KernelEnv &env, bool v2)
      : OnnxBacked(n, env, false), v2_(v2) {}

protected:
  Node onnx_node(std::span<const Tensor> in) override {
    if (in.size() != 3)
      throw InputError(node_.describe() + ": needs condition, x and y");
    if (in[0].dtype() != DType::boolean)
      throw InputError(fmt::format("{}: condition must be bool, got {}", node_.describe(),
                                   dtype_name(in[0].dtype())));
    cond_shape_ = in[0].shape();
    if (!v2_) {
      const Shape &c = in[0].shape(), &x = in[1].shape();
      if (x != in[2].shape())
        throw InputError(fmt::format("{}: x {} and y {} differ in shape", node_.describe(),
                                     shape_str(x), shape_str(in[2].shape())));
      bool rows = c.size() == 1 && x.size() > 1 && c[0] == x[0];
      if (c != x && !c.empty() && !rows)
        throw InputError(fmt::format("{}: condition {} does not fit x {}", node_.describe(),
                                     shape_str(c), shape_str(x)));
      if (rows) {
        cond_shape_.assign(x.size(), 1);
        cond_shape_[0] = x[0];
      }
    }
    return make_onnx("Where");
  }

  std::vector<Tensor> onnx_inputs(std::span<const Tensor> in) override {
    return {in[0].reshaped(cond_shape_), in[1], in[2]};
  }

private:
  bool v2_;
  Shape cond_shape_;
};

} // namespace

void register_tf_select_kernels(KernelRegistry &r) {
  r.add(
      "Where",
      [](const Node &n, const KernelEnv &env) -> std::unique_ptr<Kernel> {
        if (n.num_inputs() == 3)
          return std::make_unique<TfSelectKernel>(n, env, false);
        return std::make_unique<TfWhereKernel>(n);
      },
      "tf");
  r.add("Select", kernels::tf::factory<TfSelectKernel>(false), "tf");
  r.add("SelectV2", kernels::tf::factory<TfSelectKernel>(true), "tf");
}

} // namespace qtune
