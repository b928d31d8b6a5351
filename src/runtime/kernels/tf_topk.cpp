// TF TopKV2 (k input, last axis, lower index first on ties, int32 indices)
// and ArgMax / ArgMin (axis input, output_type int32 or int64, the first
// extreme wins), computed by the ONNX TopK / ArgMax / ArgMin kernels.
#include "runtime/kernels/tf_util.h"

namespace qtune {
namespace {

using kernels::tf::OnnxBacked;
namespace tfk = kernels::tf;

class TopKV2Kernel : public OnnxBacked {
public:
  TopKV2Kernel(const Node &n, const KernelEnv &env)
      : OnnxBacked(n, env, !tfk::values_constant(n, env, {1})), sorted_(n.attr_int("sorted", 1)) {}

protected:
  Node onnx_node(std::span<const Tensor> in) override {
    if (in.size() < 2)
      throw InputError(node_.describe() + ": needs input and k");
    if (in[0].rank() < 1)
      throw InputError(node_.describe() + ": input must have rank >= 1");
    int64_t k = tfk::scalar_i64(node_, in[1], "k");
    if (k < 0 || k > in[0].dim(-1))
      throw InputError(fmt::format("{}: k = {} but the last dim of {} has {} elements",
                                   node_.describe(), k, shape_str(in[0].shape()), in[0].dim(-1)));
    k_ = Tensor::from_vector<int64_t>({1}, {k});
    Node m = make_onnx("TopK");
    m.attrs["axis"] = int64_t{-1};
    m.attrs["sorted"] = sorted_;
    return m;
  }
  std::vector<Tensor> onnx_inputs(std::span<const Tensor> in) override { return {in[0], k_}; }
  std::vector<TensorType> tf_types(std::span<const Tensor>, std::vector<TensorType> onnx) override {
    onnx.at(1).dtype = DType::i32;
    return onnx;
  }

private:
  int64_t sorted_;
  Tensor k_;
};

class TfArgKernel : public OnnxBacked {
public:
  TfArgKernel(const Node &n, const KernelEnv &env, std::string op)
      : OnnxBacked(n, env, !tfk::values_constant(n, env, {1})), op_(std::move(op)),
        out_type_(tfk::attr_dtype(n, "output_type", DType::i64)) {
    if (out_type_ != DType::i32 && out_type_ != DType::i64)
      throw UnsupportedError(
          fmt::format("{}: output_type {} is not supported", n.describe(), dtype_name(out_type_)));
  }

protected:
  Node onnx_node(std::span<const Tensor> in) override {
    if (in.size() < 2)
      throw InputError(node_.describe() + ": needs input and dimension");
    int64_t axis = tfk::scalar_i64(node_, in[1], "dimension");
    if (in[0].rank() > 0 && in[0].dim(kernels::normalize_axis(node_, axis, in[0].rank())) == 0)
      throw InputError(node_.describe() + ": reduces an empty dimension");
    Node m = make_onnx(op_);
    m.attrs["axis"] = axis;
    m.attrs["keepdims"] = int64_t{0};
    return m;
  }
  std::vector<Tensor> onnx_inputs(std::span<const Tensor> in) override { return {in[0]}; }
  std::vector<TensorType> tf_types(std::span<const Tensor>, std::vector<TensorType> onnx) override {
    onnx.at(0).dtype = out_type_;
    return onnx;
  }

private:
  std::string op_;
  DType out_type_;
};

} // namespace

void register_tf_topk_kernels(KernelRegistry &r) {
  r.add("TopKV2", tfk::factory<TopKV2Kernel>(), "tf");
  r.add("ArgMax", tfk::factory<TfArgKernel>(std::string("ArgMax")), "tf");
  r.add("ArgMin", tfk::factory<TfArgKernel>(std::string("ArgMin")), "tf");
}

} // namespace qtune
