// ONNX QuantizeLinear, DequantizeLinear (per-tensor and per-axis) and
// DynamicQuantizeLinear. These sit at the int8 <-> fp32 boundaries of a
// quantized graph, so they are plain threaded loops over contiguous blocks.
#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <limits>

#include "qtune/error.h"
#include "runtime/kernel.h"

namespace qtune {
namespace {

// Shape [outer, channels, inner] view of a tensor quantized along `axis`; a
// scalar (or 1-element) scale means one channel covering everything.
struct AxisBlocks {
  int64_t outer = 1, channels = 1, inner = 1;
};

AxisBlocks axis_blocks(const Node &node, const Shape &shape, int64_t axis, int64_t scale_count) {
  AxisBlocks b;
  if (scale_count == 1) {
    b.inner = shape_numel(shape);
    return b;
  }
  int rank = static_cast<int>(shape.size());
  if (axis < 0)
    axis += rank;
  if (axis < 0 || axis >= rank || shape[axis] != scale_count)
    throw InputError(fmt::format("{}: scale has {} values but input {} has no axis {} of that size",
                                 node.describe(), scale_count, shape_str(shape), axis));
  for (int i = 0; i < axis; ++i)
    b.outer *= shape[i];
  b.channels = scale_count;
  for (int i = static_cast<int>(axis) + 1; i < rank; ++i)
    b.inner *= shape[i];
  return b;
}

// Round half to even, as std::nearbyint in the default rounding mode, but
// inline so the loop vectorizes (nearbyint is a libm call without SSE4.1, and
// quantizing activations sat at a third of an int8 YOLOX run). Adding and
// subtracting 1.5 * 2^23 leaves v rounded; valid for |v| < 2^22.
inline float round_half_even(float v) {
  constexpr float kMagic = 12582912.f;
  return (v + kMagic) - kMagic;
}

template <typename Q, typename X>
void quantize_blocks(const X *x, Q *y, const AxisBlocks &b, const float *scale, const Tensor *zp) {
  const float lo = std::numeric_limits<Q>::lowest(), hi = std::numeric_limits<Q>::max();
  int64_t rows = b.outer * b.channels;
#pragma omp parallel for if (rows * b.inner > 32768)
  for (int64_t r = 0; r < rows; ++r) {
    int64_t c = r % b.channels;
    float z = zp ? static_cast<float>(zp->get_i64(c)) : 0.f;
    const X *src = x + r * b.inner;
    Q *dst = y + r * b.inner;
    // Divide rather than multiply by the inverse: ONNX rounds x / scale exactly.
    // Clamping to the integer bounds before rounding gives the same result as
    // saturating after it, and keeps |v| small enough for round_half_even.
    const float vlo = lo - z, vhi = hi - z, s = scale[c];
    for (int64_t i = 0; i < b.inner; ++i)
      dst[i] =
          static_cast<Q>(round_half_even(std::clamp(static_cast<float>(src[i]) / s, vlo, vhi)) + z);
  }
}

class QuantizeLinearKernel : public Kernel {
public:
  explicit QuantizeLinearKernel(const Node &n) : node_(n), axis_(n.attr_int("axis", 1)) {}

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    DType t = in.size() > 2 && in[2].defined() ? in[2].dtype() : DType::u8;
    if (t != DType::u8 && t != DType::i8)
      throw UnsupportedError(
          fmt::format("{}: output type {} is not supported", node_.describe(), dtype_name(t)));
    return {{t, in[0].shape()}};
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    const Tensor &x = in[0];
    std::vector<float> scale = in[1].to_f32_vector();
    const Tensor *zp = in.size() > 2 && in[2].defined() ? &in[2] : nullptr;
    AxisBlocks b = axis_blocks(node_, x.shape(), axis_, static_cast<int64_t>(scale.size()));
    bool u8 = out[0].dtype() == DType::u8;
    if (x.dtype() == DType::f32) {
      if (u8)
        quantize_blocks(x.data<float>(), out[0].data<uint8_t>(), b, scale.data(), zp);
      else
        quantize_blocks(x.data<float>(), out[0].data<int8_t>(), b, scale.data(), zp);
    } else if (x.dtype() == DType::i32) {
      if (u8)
        quantize_blocks(x.data<int32_t>(), out[0].data<uint8_t>(), b, scale.data(), zp);
      else
        quantize_blocks(x.data<int32_t>(), out[0].data<int8_t>(), b, scale.data(), zp);
    } else {
      throw UnsupportedError(fmt::format("{}: input type {} is not supported", node_.describe(),
                                         dtype_name(x.dtype())));
    }
  }

private:
  Node node_;
  int64_t axis_;
};

template <typename Q>
void dequantize_blocks(const Q *x, float *y, const AxisBlocks &b, const float *scale,
                       const Tensor *zp) {
  int64_t rows = b.outer * b.channels;
#pragma omp parallel for if (rows * b.inner > 32768)
  for (int64_t r = 0; r < rows; ++r) {
    int64_t c = r % b.channels;
    int32_t z = zp ? static_cast<int32_t>(zp->get_i64(c)) : 0;
    float s = scale[c];
    const Q *src = x + r * b.inner;
    float *dst = y + r * b.inner;
    for (int64_t i = 0; i < b.inner; ++i)
      dst[i] = static_cast<float>(src[i] - z) * s;
  }
}

class DequantizeLinearKernel : public Kernel {
public:
  explicit DequantizeLinearKernel(const Node &n) : node_(n), axis_(n.attr_int("axis", 1)) {}

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    return {{DType::f32, in[0].shape()}};
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    const Tensor &x = in[0];
    std::vector<float> scale = in[1].to_f32_vector();
    const Tensor *zp = in.size() > 2 && in[2].defined() ? &in[2] : nullptr;
    AxisBlocks b = axis_blocks(node_, x.shape(), axis_, static_cast<int64_t>(scale.size()));
    float *y = out[0].data<float>();
    switch (x.dtype()) {
    case DType::u8:
      dequantize_blocks(x.data<uint8_t>(), y, b, scale.data(), zp);
      break;
    case DType::i8:
      dequantize_blocks(x.data<int8_t>(), y, b, scale.data(), zp);
      break;
    case DType::i32:
      dequantize_blocks(x.data<int32_t>(), y, b, scale.data(), zp);
      break;
    default:
      throw UnsupportedError(fmt::format("{}: input type {} is not supported", node_.describe(),
                                         dtype_name(x.dtype())));
    }
  }

private:
  Node node_;
  int64_t axis_;
};

// y = saturate(round(x / scale) + zp) with scale and zp from the range of x
// widened to include 0, as the ONNX spec defines it.
class DynamicQuantizeLinearKernel : public Kernel {
public:
  explicit DynamicQuantizeLinearKernel(const Node &n) : node_(n) {}

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    if (in[0].dtype() != DType::f32)
      throw UnsupportedError(fmt::format("{}: input type {} is not supported", node_.describe(),
                                         dtype_name(in[0].dtype())));
    return {{DType::u8, in[0].shape()}, {DType::f32, {}}, {DType::u8, {}}};
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    std::span<const float> x = in[0].span<float>();
    float lo = 0, hi = 0;
    for (float v : x) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    float scale = (hi - lo) / 255.f;
    float zp = scale > 0 ? std::clamp(std::nearbyint(-lo / scale), 0.f, 255.f) : 0.f;
    uint8_t *y = out[0].data<uint8_t>();
    int64_t n = static_cast<int64_t>(x.size());
#pragma omp parallel for if (n > 32768)
    for (int64_t i = 0; i < n; ++i)
      y[i] = scale > 0
                 ? static_cast<uint8_t>(std::clamp(std::nearbyint(x[i] / scale) + zp, 0.f, 255.f))
                 : 0;
    out[1].data<float>()[0] = scale;
    out[2].data<uint8_t>()[0] = static_cast<uint8_t>(zp);
  }

private:
  Node node_;
};

} // namespace

void register_quantize_linear_kernels(KernelRegistry &r) {
  r.add("QuantizeLinear",
        [](const Node &n, const KernelEnv &) { return std::make_unique<QuantizeLinearKernel>(n); });
  r.add("DequantizeLinear", [](const Node &n, const KernelEnv &) {
    return std::make_unique<DequantizeLinearKernel>(n);
  });
  r.add("DynamicQuantizeLinear", [](const Node &n, const KernelEnv &) {
    return std::make_unique<DynamicQuantizeLinearKernel>(n);
  });
}

} // namespace qtune
