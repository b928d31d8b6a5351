// ONNX ConvInteger: int32 convolution of (x - x_zero_point) and
// (w - w_zero_point), w_zero_point per tensor or per output channel.
// Padding contributes zero after centering, i.e. pads with x_zero_point.
#include <fmt/format.h>

#include "qtune/error.h"
#include "runtime/kernel.h"
#include "runtime/kernels/int8_util.h"

namespace qtune {
namespace {

class ConvIntegerKernel : public Kernel {
public:
  explicit ConvIntegerKernel(const Node &n) : node_(n) {}

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    geo_ = int8::conv_geometry(node_, in[0].shape(), in[1].shape());
    return {{DType::i32, {geo_.n, geo_.oc, geo_.oh, geo_.ow}}};
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    auto input = [&](size_t i) { return i < in.size() && in[i].defined() ? &in[i] : nullptr; };
    std::vector<int32_t> x = int8::centered(in[0], input(2), 1);
    std::vector<int32_t> w = int8::centered(in[1], input(3), 0);
    int8::conv_integer(geo_, x, w, out[0].data<int32_t>());
  }

private:
  Node node_;
  int8::ConvGeometry geo_;
};

} // namespace

void register_conv_integer_kernels(KernelRegistry &r) {
  r.add("ConvInteger",
        [](const Node &n, const KernelEnv &) { return std::make_unique<ConvIntegerKernel>(n); });
}

} // namespace qtune
