// Cast and CastLike between numeric dtypes (f16/bf16 included), via Tensor::cast.
#include <cstring>

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

// Integer -> float32 written straight into the output: the uint8 image a TF
// detection graph casts on entry is the hot case (Tensor::cast allocates a
// temporary and goes through a per-element type switch).
template <typename S> void ints_to_f32(const Tensor &in, Tensor &out) {
  const S *src = in.data<S>();
  float *dst = out.data<float>();
  const int64_t n = in.numel();
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i)
    dst[i] = static_cast<float>(src[i]);
}

bool cast_to_f32_fast(const Tensor &in, Tensor &out) {
  switch (in.dtype()) {
  case DType::u8:
    ints_to_f32<uint8_t>(in, out);
    return true;
  case DType::i8:
    ints_to_f32<int8_t>(in, out);
    return true;
  case DType::i32:
    ints_to_f32<int32_t>(in, out);
    return true;
  default:
    return false;
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
    if (to_ == DType::f32 && cast_to_f32_fast(in[0], out[0]))
      return;
    Tensor converted = in[0].cast(to_);
    std::memcpy(out[0].raw(), converted.raw(), converted.nbytes());
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
