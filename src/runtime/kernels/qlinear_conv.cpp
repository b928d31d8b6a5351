// ONNX QLinearConv: int32 convolution of the centered operands plus the int32
// bias, rescaled by x_scale * w_scale[o] / y_scale, rounded half to even and
// saturated into y's type. (The lowered qtune:QConv is the fast path; this is
// the operator as ONNX defines it, for imported QOperator models.)
#include <fmt/format.h>

#include "qtune/error.h"
#include "runtime/kernel.h"
#include "runtime/kernels/int8_util.h"

namespace qtune {
namespace {

class QLinearConvKernel : public Kernel {
public:
  explicit QLinearConvKernel(const Node &n) : node_(n) {}

  // Inputs: x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale,
  // y_zero_point, B (optional int32).
  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    if (in.size() < 8)
      throw InputError(fmt::format("{}: needs 8 or 9 inputs, got {}", node_.describe(), in.size()));
    geo_ = int8::conv_geometry(node_, in[0].shape(), in[3].shape());
    return {{in[7].dtype(), {geo_.n, geo_.oc, geo_.oh, geo_.ow}}};
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    std::vector<int32_t> x = int8::centered(in[0], &in[2], 1);
    std::vector<int32_t> w = int8::centered(in[3], &in[5], 0);
    std::vector<int32_t> acc(static_cast<size_t>(out[0].numel()));
    int8::conv_integer(geo_, x, w, acc.data());
    double xs = in[1].get_f64(0), ys = in[6].get_f64(0);
    int64_t plane = geo_.oh * geo_.ow;
    std::vector<float> v(acc.size());
    for (int64_t i = 0; i < static_cast<int64_t>(acc.size()); ++i) {
      int64_t o = (i / plane) % geo_.oc;
      double ws = in[4].get_f64(in[4].numel() == 1 ? 0 : o);
      int64_t b = in.size() > 8 && in[8].defined() ? in[8].get_i64(o) : 0;
      v[i] = static_cast<float>((acc[i] + b) * (xs * ws / ys));
    }
    int8::requantize(v.data(), out[0].numel(), static_cast<int32_t>(in[7].get_i64(0)), out[0]);
  }

private:
  Node node_;
  int8::ConvGeometry geo_;
};

} // namespace

void register_qlinear_conv_kernels(KernelRegistry &r) {
  r.add("QLinearConv",
        [](const Node &n, const KernelEnv &) { return std::make_unique<QLinearConvKernel>(n); });
}

} // namespace qtune
