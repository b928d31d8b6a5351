// ONNX QLinearMatMul: integer matmul of the centered operands rescaled by
// a_scale * b_scale / y_scale (b_scale per tensor or per column), rounded half
// to even and saturated into y's type.
#include <fmt/format.h>

#include "qtune/error.h"
#include "runtime/kernel.h"
#include "runtime/kernels/int8_util.h"

namespace qtune {
namespace {

class QLinearMatMulKernel : public Kernel {
public:
  explicit QLinearMatMulKernel(const Node &n) : node_(n) {}

  // Inputs: a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point.
  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    if (in.size() != 8)
      throw InputError(fmt::format("{}: needs 8 inputs, got {}", node_.describe(), in.size()));
    return {{in[7].dtype(), int8::matmul_shape(node_, in[0].shape(), in[3].shape())}};
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    std::vector<int32_t> a = int8::centered(in[0], &in[2], in[0].rank() - 2);
    std::vector<int32_t> b = int8::centered(in[3], &in[5], in[3].rank() - 1);
    std::vector<int32_t> acc(static_cast<size_t>(out[0].numel()));
    int8::matmul_integer(in[0].shape(), a, in[3].shape(), b, out[0].shape(), acc.data());
    double as = in[1].get_f64(0), ys = in[6].get_f64(0);
    int64_t n = out[0].rank() ? out[0].dim(-1) : 1;
    std::vector<float> v(acc.size());
    for (size_t i = 0; i < acc.size(); ++i) {
      double bs = in[4].get_f64(in[4].numel() == 1 ? 0 : static_cast<int64_t>(i) % n);
      v[i] = static_cast<float>(acc[i] * (as * bs / ys));
    }
    int8::requantize(v.data(), out[0].numel(), static_cast<int32_t>(in[7].get_i64(0)), out[0]);
  }

private:
  Node node_;
};

} // namespace

void register_qlinear_matmul_kernels(KernelRegistry &r) {
  r.add("QLinearMatMul",
        [](const Node &n, const KernelEnv &) { return std::make_unique<QLinearMatMulKernel>(n); });
}

} // namespace qtune
