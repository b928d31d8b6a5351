// TF ops that make tensors: Fill(dims, value), Range(start, limit, delta) in
// the inputs' dtype (TF requires the sign of delta to lead from start to
// limit), ZerosLike and OnesLike.
#include <cstring>
#include <type_traits>

#include "runtime/kernels/tf_util.h"

namespace qtune {
namespace {

using kernels::tf::OnnxBacked;
namespace tfk = kernels::tf;

// Fill: the ONNX ConstantOfShape kernel with the value input as its attribute.
class FillKernel : public OnnxBacked {
public:
  FillKernel(const Node &n, const KernelEnv &env)
      : OnnxBacked(n, env, !tfk::values_constant(n, env, {0, 1})) {}

protected:
  Node onnx_node(std::span<const Tensor> in) override {
    if (in.size() < 2)
      throw InputError(node_.describe() + ": needs dims and value");
    tfk::expect_rank(node_, in[0], 1, "dims");
    if (in[1].numel() != 1 || in[1].rank() != 0)
      throw InputError(fmt::format("{}: value must be a scalar, got shape {}", node_.describe(),
                                   shape_str(in[1].shape())));
    Node m = make_onnx("ConstantOfShape");
    m.attrs["value"] = in[1].clone();
    return m;
  }
  std::vector<Tensor> onnx_inputs(std::span<const Tensor> in) override { return {in[0]}; }
};

// Range: the ONNX Range kernel (ceil((limit - start) / delta) elements, in the
// inputs' dtype) after TF's checks.
class TfRangeKernel : public OnnxBacked {
public:
  TfRangeKernel(const Node &n, const KernelEnv &env)
      : OnnxBacked(n, env, !tfk::values_constant(n, env, {0, 1, 2})) {}

protected:
  Node onnx_node(std::span<const Tensor> in) override {
    if (in.size() < 3)
      throw InputError(node_.describe() + ": needs start, limit and delta");
    double start = tfk::scalar_f64(node_, in[0], "start");
    double limit = tfk::scalar_f64(node_, in[1], "limit");
    double delta = tfk::scalar_f64(node_, in[2], "delta");
    if (in[1].dtype() != in[0].dtype() || in[2].dtype() != in[0].dtype())
      throw InputError(node_.describe() + ": start, limit and delta differ in dtype");
    if (delta == 0)
      throw InputError(node_.describe() + ": delta is zero");
    if ((delta > 0 && start > limit) || (delta < 0 && start < limit))
      throw InputError(fmt::format("{}: delta {} does not lead from start {} to limit {}",
                                   node_.describe(), delta, start, limit));
    return make_onnx("Range");
  }
};

// ZerosLike / OnesLike: x's shape and dtype, filled with 0 or 1.
class FillLikeKernel : public Kernel {
public:
  FillLikeKernel(const Node &n, int value) : node_(n), value_(value) {}

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    kernels::dispatch_numeric(node_, in[0].dtype(), [](auto) {});
    return {{in[0].dtype(), in[0].shape()}};
  }

  void run(std::span<const Tensor>, std::span<Tensor> out) override {
    kernels::dispatch_numeric(node_, out[0].dtype(), [&](auto tag) {
      using T = decltype(tag);
      std::fill_n(out[0].data<T>(), out[0].numel(), static_cast<T>(value_));
    });
  }

private:
  Node node_;
  int value_;
};

} // namespace

void register_tf_generate_kernels(KernelRegistry &r) {
  r.add("Fill", tfk::factory<FillKernel>(), "tf");
  r.add("Range", tfk::factory<TfRangeKernel>(), "tf");
  r.add(
      "ZerosLike",
      [](const Node &n, const KernelEnv &) { return std::make_unique<FillLikeKernel>(n, 0); },
      "tf");
  r.add(
      "OnesLike",
      [](const Node &n, const KernelEnv &) { return std::make_unique<FillLikeKernel>(n, 1); },
      "tf");
}

} // namespace qtune
