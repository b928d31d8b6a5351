// TF ops on shapes: Shape / Size (out_type, int32 by default) and Rank
// (int32), and the data-preserving reshapes Reshape (one -1 inferred, 0 is a
// real zero), ExpandDims (dim input, -1 - rank <= dim <= rank) and Squeeze
// (squeeze_dims attribute; none = every size-1 dim), the latter three through
// the ONNX Reshape / Unsqueeze / Squeeze kernels.
#include <cstring>

#include "runtime/kernels/tf_util.h"

namespace qtune {
namespace {

using kernels::tf::OnnxBacked;
namespace tfk = kernels::tf;

enum class ShapeOf { shape, size, rank };

class TfShapeKernel : public Kernel {
public:
  TfShapeKernel(const Node &n, const KernelEnv &, ShapeOf what)
      : node_(n), what_(what),
        out_(what == ShapeOf::rank ? DType::i32 : tfk::attr_dtype(n, "out_type", DType::i32)) {
    if (out_ != DType::i32 && out_ != DType::i64)
      throw UnsupportedError(
          fmt::format("{}: out_type {} is not supported", n.describe(), dtype_name(out_)));
  }

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    if (what_ == ShapeOf::shape)
      return {{out_, {in[0].rank()}}};
    return {{out_, {}}};
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    std::vector<int64_t> v;
    if (what_ == ShapeOf::shape)
      v = in[0].shape();
    else
      v = {what_ == ShapeOf::size ? in[0].numel() : in[0].rank()};
    if (out_ == DType::i32 && what_ != ShapeOf::rank)
      for (int64_t d : v)
        if (d > INT32_MAX)
          throw InputError(fmt::format("{}: {} does not fit out_type int32", node_.describe(), d));
    Tensor t = Tensor::from_vector<int64_t>(out[0].shape(), v).cast(out_);
    std::memcpy(out[0].raw(), t.raw(), t.nbytes());
  }

private:
  Node node_;
  ShapeOf what_;
  DType out_;
};

class TfReshapeKernel : public OnnxBacked {
public:
  TfReshapeKernel(const Node &n, const KernelEnv &env)
      : OnnxBacked(n, env, !tfk::values_constant(n, env, {1})) {}

protected:
  Node onnx_node(std::span<const Tensor> in) override {
    if (in.size() < 2)
      throw InputError(node_.describe() + ": needs tensor and shape");
    if (in[1].rank() > 1)
      throw InputError(fmt::format("{}: shape must be a vector, got shape {}", node_.describe(),
                                   shape_str(in[1].shape())));
    Node m = make_onnx("Reshape");
    m.attrs["allowzero"] = int64_t{1}; // TF's 0 is a zero-size dim
    return m;
  }
  std::vector<Tensor> onnx_inputs(std::span<const Tensor> in) override {
    return {in[0], in[1].reshaped({in[1].numel()})};
  }
};

class ExpandDimsKernel : public OnnxBacked {
public:
  ExpandDimsKernel(const Node &n, const KernelEnv &env)
      : OnnxBacked(n, env, !tfk::values_constant(n, env, {1})) {}

protected:
  Node onnx_node(std::span<const Tensor> in) override {
    if (in.size() < 2)
      throw InputError(node_.describe() + ": needs input and dim");
    tfk::scalar_i64(node_, in[1], "dim");
    return make_onnx("Unsqueeze");
  }
  std::vector<Tensor> onnx_inputs(std::span<const Tensor> in) override {
    return {in[0], in[1].reshaped({1})};
  }
};

class TfSqueezeKernel : public OnnxBacked {
public:
  TfSqueezeKernel(const Node &n, const KernelEnv &env) : OnnxBacked(n, env, false) {}

protected:
  Node onnx_node(std::span<const Tensor>) override {
    Node m = make_onnx("Squeeze");
    m.attrs["axes"] = node_.attr_ints("squeeze_dims");
    return m;
  }
  std::vector<Tensor> onnx_inputs(std::span<const Tensor> in) override { return {in[0]}; }
};

} // namespace

void register_tf_shape_kernels(KernelRegistry &r) {
  r.add("Shape", tfk::factory<TfShapeKernel>(ShapeOf::shape), "tf");
  r.add("Size", tfk::factory<TfShapeKernel>(ShapeOf::size), "tf");
  r.add("Rank", tfk::factory<TfShapeKernel>(ShapeOf::rank), "tf");
  r.add("Reshape", tfk::factory<TfReshapeKernel>(), "tf");
  r.add("ExpandDims", tfk::factory<ExpandDimsKernel>(), "tf");
  r.add("Squeeze", tfk::factory<TfSqueezeKernel>(), "tf");
}

} // namespace qtune
