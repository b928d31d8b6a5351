// qtune:QuantSwitch: the per-op switch of the cheap sensitivity ranking
// (quant/switch_graph.h). Inputs: x (f32), selector (i64 scalar, a graph input),
// then either scale (f32 scalar) + zero_point (u8 or i8 scalar), or alt (f32,
// the shape of x). Attribute `id`. When selector == id (or -2, "all on") the
// output is x fake-quantized (QuantizeLinear then DequantizeLinear, rounding
// half to even) or alt (a pre-quantized weight); otherwise x unchanged. One
// graph and one executor thus measure every op quantized alone.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <oneapi/dnnl/dnnl.h>

#include "qtune/error.h"
#include "runtime/kernel.h"

namespace qtune {
namespace {

class QuantSwitchKernel : public Kernel {
public:
  explicit QuantSwitchKernel(const Node &n) : node_(n), id_(n.attr_int("id", -1)) {
    if (n.inputs.size() != 3 && n.inputs.size() != 4)
      throw InputError(fmt::format("{}: QuantSwitch takes 3 or 4 inputs, got {}", n.describe(),
                                   n.inputs.size()));
  }

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    if (in[0].dtype() != DType::f32 || in[1].numel() != 1)
      throw InputError(node_.describe() + ": QuantSwitch needs an f32 input and a scalar selector");
    if (in.size() == 3 && in[2].shape() != in[0].shape())
      throw InputError(node_.describe() + ": QuantSwitch alternative has another shape");
    return {{DType::f32, in[0].shape()}};
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    const int64_t selector = in[1].get_i64(0);
    const bool on = selector == id_ || selector == kAllOn;
    const float *x = in[0].data<float>();
    float *y = out[0].data<float>();
    // A blocked (oneDNN) input is processed as its whole buffer, padding
    // included: fake quantization is elementwise and keeps a zero a zero.
    const int64_t n =
        blocked_ ? static_cast<int64_t>(dnnl_memory_desc_get_size(&layout_) / sizeof(float))
                 : in[0].numel();
    if (!on) {
      if (y != x)
        std::memcpy(y, x, n * sizeof(float));
      return;
    }
    if (in.size() == 3) {
      std::memcpy(y, in[2].data<float>(), n * sizeof(float));
      return;
    }
    const float scale = in[2].data<float>()[0];
    const bool is_unsigned = in[3].dtype() == DType::u8;
    const float zp = static_cast<float>(in[3].get_i64(0));
    const float lo = is_unsigned ? 0.0f : -128.0f, hi = is_unsigned ? 255.0f : 127.0f;
#pragma omp parallel for if (n > 32768)
    for (int64_t i = 0; i < n; ++i) {
      float q = std::clamp(std::nearbyint(x[i] / scale) + zp, lo, hi);
      y[i] = (q - zp) * scale;
    }
  }

  static constexpr int64_t kAllOn = -2;

  // Keeps whatever layout x arrives in (a conv's blocked output stays blocked
  // for the next conv), so the switches cost a copy, not two reorders.
  bool accepts_dnnl_layouts() const override {
    return true;
  }
  void set_input_layouts(std::span<const dnnl_memory_desc_t *const> layouts) override {
    blocked_ = !layouts.empty() && layouts[0] != nullptr;
    if (blocked_)
      layout_ = *layouts[0];
  }
  const dnnl_memory_desc_t *output_layout(size_t) const override {
    return blocked_ ? &layout_ : nullptr;
  }

private:
  bool blocked_ = false;
  dnnl_memory_desc_t layout_{};
  Node node_;
  int64_t id_;
};

} // namespace

void register_quant_switch_kernels(KernelRegistry &r) {
  r.add(
      "QuantSwitch",
      [](const Node &n, const KernelEnv &) { return std::make_unique<QuantSwitchKernel>(n); },
      "qtune");
}

} // namespace qtune
