// qtune:QAveragePool: AveragePool / GlobalAveragePool on u8/s8 values, made by
// the QDQ lowering from DQ(x) -> AveragePool|GlobalAveragePool -> Q.
//
// Input X (u8/i8 [N, C, spatial...], 1-3 spatial dims, plain layout).
// Attrs: AveragePool's (kernel_shape, strides, pads, auto_pad, ceil_mode,
// count_include_pad; ignored with global=1) plus QAveragePoolParams (qavgpool.h).
//
// The window sum of (x - x_zero_point) accumulates in int32 exactly; one
// multiply by x_scale / (y_scale * count) and a round half to even (as
// QuantizeLinear) give the output, so the only error is the final rounding.
// Padding is real 0, i.e. x_zero_point, so it adds nothing to the sum and
// only changes the divisor (count_include_pad).
#include <cmath>
#include <fmt/format.h>

#include "qtune/error.h"
#include "runtime/dnnl_util.h"
#include "runtime/kernel.h"
#include "runtime/kernels/qavgpool.h"

namespace qtune {

QAveragePoolParams QAveragePoolParams::from(const Node &n) {
  QAveragePoolParams p;
  p.global = n.attr_int("global", 0) != 0;
  p.x = int8::InputParams::from(n, "x");
  p.y = int8::OutputParams::from(n);
  return p;
}

void QAveragePoolParams::write(Node &n) const {
  n.attrs["global"] = int64_t{global ? 1 : 0};
  x.write(n, "x");
  y.write(n);
}

namespace {

// Spatial geometry padded to 3 dims (depth, height, width) with size-1 dims.
struct Pool3d {
  int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1};
  int64_t k[3] = {1, 1, 1}, s[3] = {1, 1, 1}, pb[3] = {0, 0, 0}, pe[3] = {0, 0, 0};
};

class QAveragePoolKernel : public Kernel {
public:
  explicit QAveragePoolKernel(const Node &n) : node_(n), p_(QAveragePoolParams::from(n)) {
    include_pad_ = n.attr_int("count_include_pad", 0) != 0;
    if (p_.y.dtype != DType::u8 && p_.y.dtype != DType::i8)
      throw UnsupportedError(
          fmt::format("{}: y_dtype {} is not supported", n.describe(), dtype_name(p_.y.dtype)));
    if (!p_.global && n.attr_ints("dilations").size() > 0)
      for (int64_t d : n.attr_ints("dilations"))
        if (d != 1)
          throw UnsupportedError(fmt::format("{}: dilations are not supported", n.describe()));
  }

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    if (in.empty() || !in[0].defined())
      throw InputError(fmt::format("{}: input X is missing", node_.describe()));
    const Tensor &x = in[0];
    if (x.dtype() != DType::u8 && x.dtype() != DType::i8)
      throw InputError(
          fmt::format("{}: input type {} is not int8", node_.describe(), dtype_name(x.dtype())));
    if (x.rank() < 3 || x.rank() > 5)
      throw InputError(fmt::format("{}: input {} is not [N,C,spatial...] with 1-3 spatial dims",
                                   node_.describe(), shape_str(x.shape())));
    size_t sp = x.rank() - 2, off = 3 - sp;
    geo_ = Pool3d{};
    Shape y = x.shape();
    std::vector<int64_t> spatial(x.shape().begin() + 2, x.shape().end());
    dnnl_util::Window win;
    if (!p_.global) {
      std::vector<int64_t> kernel = node_.attr_ints("kernel_shape");
      if (kernel.size() != sp)
        throw InputError(fmt::format("{}: kernel_shape {} does not fit input {}", node_.describe(),
                                     shape_str(kernel), shape_str(x.shape())));
      win =
          dnnl_util::resolve_window(node_, x.shape(), kernel, node_.attr_int("ceil_mode", 0) != 0);
    }
    for (size_t i = 0; i < sp; ++i) {
      geo_.in[off + i] = spatial[i];
      geo_.k[off + i] = p_.global ? spatial[i] : win.kernel[i];
      geo_.s[off + i] = p_.global ? 1 : win.strides[i];
      geo_.pb[off + i] = p_.global ? 0 : win.pad_begin[i];
      geo_.pe[off + i] = p_.global ? 0 : win.pad_end[i];
      geo_.out[off + i] = p_.global ? 1 : win.out[i];
      y[2 + i] = geo_.out[off + i];
    }
    return {{p_.y.dtype, y}};
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    if (in[0].dtype() == DType::u8)
      run_typed(in[0].data<uint8_t>(), in[0].dim(0) * in[0].dim(1), out[0]);
    else
      run_typed(in[0].data<int8_t>(), in[0].dim(0) * in[0].dim(1), out[0]);
  }

private:
  template <typename T> void run_typed(const T *x, int64_t planes, Tensor &y) {
    if (p_.y.dtype == DType::u8)
      pool(x, planes, y.data<uint8_t>());
    else
      pool(x, planes, y.data<int8_t>());
  }

  template <typename T, typename Y> void pool(const T *x, int64_t planes, Y *y) const {
    if (p_.global)
      return pool_global(x, planes, y);
    const Pool3d g = geo_;
    const int64_t in_plane = g.in[0] * g.in[1] * g.in[2];
    const int64_t out_plane = g.out[0] * g.out[1] * g.out[2];
    const float lo = p_.y.dtype == DType::u8 ? 0.f : -128.f,
                hi = p_.y.dtype == DType::u8 ? 255.f : 127.f;
    const float ratio = p_.x.scale / p_.y.scale;
    const int32_t zp = p_.x.zero_point;
#pragma omp parallel for if (planes * in_plane > 16384)
    for (int64_t p = 0; p < planes; ++p) {
      const T *xp = x + p * in_plane;
      Y *yp = y + p * out_plane;
      for (int64_t od = 0; od < g.out[0]; ++od)
        for (int64_t oh = 0; oh < g.out[1]; ++oh)
          for (int64_t ow = 0; ow < g.out[2]; ++ow) {
            int64_t b[3], e[3], count = 1;
            int64_t o[3] = {od, oh, ow};
            for (int i = 0; i < 3; ++i) {
              int64_t start = o[i] * g.s[i] - g.pb[i], end = start + g.k[i];
              // count_include_pad counts the window clipped to the padded extent.
              int64_t padded_end = std::min(end, g.in[i] + g.pe[i]);
              b[i] = std::max<int64_t>(start, 0);
              e[i] = std::min(end, g.in[i]);
              count *= include_pad_ ? padded_end - start : e[i] - b[i];
            }
            int32_t acc = 0, valid = 0;
            for (int64_t d = b[0]; d < e[0]; ++d)
              for (int64_t h = b[1]; h < e[1]; ++h) {
                const T *row = xp + (d * g.in[1] + h) * g.in[2];
                for (int64_t w = b[2]; w < e[2]; ++w)
                  acc += row[w];
                valid += static_cast<int32_t>(e[2] - b[2]);
              }
            acc -= valid * zp;
            float v =
                count > 0 ? std::nearbyint(acc * ratio / count) + p_.y.zero_point : p_.y.zero_point;
            yp[(od * g.out[1] + oh) * g.out[2] + ow] = static_cast<Y>(std::clamp(v, lo, hi));
          }
    }
  }

  // One contiguous sum per plane: the loop the compiler vectorises.
  template <typename T, typename Y> void pool_global(const T *x, int64_t planes, Y *y) const {
    const int64_t n = geo_.in[0] * geo_.in[1] * geo_.in[2];
    const float lo = p_.y.dtype == DType::u8 ? 0.f : -128.f,
                hi = p_.y.dtype == DType::u8 ? 255.f : 127.f;
    const float ratio = p_.x.scale / (p_.y.scale * static_cast<float>(n));
#pragma omp parallel for if (planes * n > 65536)
    for (int64_t p = 0; p < planes; ++p) {
      const T *xp = x + p * n;
      int32_t acc = 0;
      for (int64_t i = 0; i < n; ++i)
        acc += xp[i];
      acc -= static_cast<int32_t>(n) * p_.x.zero_point;
      float v = std::nearbyint(acc * ratio) + p_.y.zero_point;
      y[p] = static_cast<Y>(std::clamp(v, lo, hi));
    }
  }

  Node node_;
  QAveragePoolParams p_;
  bool include_pad_ = false;
  Pool3d geo_;
};

} // namespace

void register_qavgpool_kernels(KernelRegistry &r) {
  r.add(
      "QAveragePool",
      [](const Node &n, const KernelEnv &) { return std::make_unique<QAveragePoolKernel>(n); },
      "qtune");
}

} // namespace qtune
