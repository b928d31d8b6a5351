// ONNX MatMulInteger: int32 matmul of (A - a_zero_point) and (B - b_zero_point);
// a_zero_point per tensor or per row of A, b_zero_point per tensor or per
// column of B.
#include "runtime/kernel.h"
#include "runtime/kernels/int8_util.h"

namespace qtune {
namespace {

class MatMulIntegerKernel : public Kernel {
public:
  explicit MatMulIntegerKernel(const Node &n) : node_(n) {}

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    return {{DType::i32, int8::matmul_shape(node_, in[0].shape(), in[1].shape())}};
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    auto input = [&](size_t i) { return i < in.size() && in[i].defined() ? &in[i] : nullptr; };
    std::vector<int32_t> a = int8::centered(in[0], input(2), in[0].rank() - 2);
    std::vector<int32_t> b = int8::centered(in[1], input(3), in[1].rank() - 1);
    int8::matmul_integer(in[0].shape(), a, in[1].shape(), b, out[0].shape(),
                         out[0].data<int32_t>());
  }

private:
  Node node_;
};

} // namespace

void register_matmul_integer_kernels(KernelRegistry &r) {
  r.add("MatMulInteger",
        [](const Node &n, const KernelEnv &) { return std::make_unique<MatMulIntegerKernel>(n); });
}

} // namespace qtune
