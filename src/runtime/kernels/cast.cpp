// Cast and CastLike between numeric dtypes (f16/bf16 included), via Tensor::cast_to.
#include "runtime/kernel.h"
#include "runtime/kernels/kernel_util.h"

namespace qtune {
namespace {

// ONNX TensorProto.DataType codes -> DType (Cast's "to" attribute).
DType dtype_from_onnx_code(const Node &node, int64_t code) {
  switch (code) {
  case 1:
    return DType::f32;
  case 2:
    return DType::u8;
  case 3:
    return DType::i8;
  case 4:
    return DType::u16;
  case 5:
    return DType::i16;
  case 6:
    return DType::i32;
  case 7:
    return DType::i64;
  case 9:
    return DType::boolean;
  case 10:
    return DType::f16;
  case 11:
    return DType::f64;
  case 12:
    return DType::u32;
  case 13:
    return DType::u64;
  case 16:
    return DType::bf16;
  default:
    throw UnsupportedError(
        fmt::format("{}: cast to ONNX type {} is not supported", node.describe(), code));
  }
}

class CastKernel : public Kernel {
public:
  CastKernel(const Node &n, bool like) : node_(n), like_(like) {
    if (!like)
      to_ = dtype_from_onnx_code(n, n.attr_int("to", 0));
  }

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    if (like_)
      to_ = in[1].dtype();
    if (in[0].dtype() == DType::string || to_ == DType::string)
      kernels::throw_dtype(node_, DType::string);
    return {{to_, in[0].shape()}};
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    in[0].cast_to(out[0]); // written in place: no temporary per run
  }

private:
  Node node_;
  bool like_;
  DType to_ = DType::undefined;
};

} // namespace

void register_cast_kernels(KernelRegistry &r) {
  r.add("Cast",
        [](const Node &n, const KernelEnv &) { return std::make_unique<CastKernel>(n, false); });
  r.add("CastLike",
        [](const Node &n, const KernelEnv &) { return std::make_unique<CastKernel>(n, true); });
}

} // namespace qtune
