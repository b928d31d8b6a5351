// Resize (opset 11+ inputs X, roi, scales, sizes; Upsample arrives here too):
// nearest (all nearest_mode values), linear and cubic, every
// coordinate_transformation_mode. Interpolation is separable, so the output is
// built one axis at a time, innermost axis first (the order the ONNX reference
// recurses in, which matters for tf_crop_and_resize extrapolation). Each axis
// gets a precomputed tap table: output position -> source indices and weights.
// A channels-last nearest resize in H and W stays channels-last
// (kernels/resize_layout.h).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "runtime/kernel.h"
#include "runtime/kernels/kernel_util.h"
#include "runtime/kernels/resize_coords.h"
#include "runtime/kernels/resize_layout.h"

namespace qtune {
namespace {

enum class Interp { nearest, linear, cubic };

struct Taps {
  int n = 1;                  // taps per output position
  std::vector<int64_t> index; // [out * n]
  std::vector<float> weight;  // [out * n]
  std::vector<bool> outside;  // [out]: tf_crop_and_resize extrapolation
};

class ResizeKernel : public Kernel {
public:
  ResizeKernel(const Node &n, const KernelEnv &env)
      : node_(n), env_(env), coord_(n.attr_string("coordinate_transformation_mode", "half_pixel")),
        nearest_mode_(n.attr_string("nearest_mode", "round_prefer_floor")),
        cubic_a_(n.attr_float("cubic_coeff_a", -0.75f)),
        exclude_outside_(n.attr_int("exclude_outside", 0) != 0),
        extrapolation_(n.attr_float("extrapolation_value", 0.f)) {
    std::string mode = n.attr_string("mode", "nearest");
    if (mode == "nearest")
      interp_ = Interp::nearest;
    else if (mode == "linear" || mode == "bilinear")
      interp_ = Interp::linear;
    else if (mode == "cubic")
      interp_ = Interp::cubic;
    else
      throw UnsupportedError(fmt::format("{}: mode '{}' is not supported", n.describe(), mode));
    const char *coords[] = {"half_pixel",          "pytorch_half_pixel", "align_corners",
                            "asymmetric",          "tf_crop_and_resize", "half_pixel_symmetric",
                            "tf_half_pixel_for_nn"};
    if (std::find(std::begin(coords), std::end(coords), coord_) == std::end(coords))
      throw UnsupportedError(fmt::format("{}: coordinate_transformation_mode '{}' is not supported",
                                         n.describe(), coord_));
    if (n.has_attr("axes") || n.attr_string("keep_aspect_ratio_policy", "stretch") != "stretch")
      throw UnsupportedError(n.describe() + ": axes / keep_aspect_ratio_policy are not supported");
  }

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    const Shape &s = in[0].shape();
    size_t rank = s.size();
    if (in[0].dtype() != DType::f32)
      kernels::throw_dtype(node_, in[0].dtype());
    Shape out = kernels::resize_output_shape(node_, in, scales_);
    roi_.assign(2 * rank, 0.0);
    for (size_t i = 0; i < rank; ++i)
      roi_[rank + i] = 1.0;
    if (kernels::has_input(in, 1) && in[1].numel() == static_cast<int64_t>(2 * rank))
      for (size_t i = 0; i < 2 * rank; ++i)
        roi_[i] = in[1].get_f64(i);
    plan_layout(in[0], out);
    return {{in[0].dtype(), out}};
  }

  void prepare(std::span<const Tensor> in) override { taps_.assign(in[0].rank(), Taps{}); }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    if (layout_.active()) {
      layout_.run(in[0].raw(), out[0], hw_taps_[0].index.data(), hw_taps_[1].index.data());
      return;
    }
    const Shape &os = out[0].shape();
    int rank = in[0].rank();
    Tensor cur = in[0];
    if (const void *plain = layout_.plain_input(env_, in[0]); plain != in[0].raw()) {
      cur = Tensor(DType::f32, in[0].shape());
      std::memcpy(cur.raw(), plain, cur.nbytes());
    }
    for (int d = rank - 1; d >= 0; --d) {
      if (!axis_changes(cur.shape()[d], os[d], d))
        continue;
      if (taps_[d].index.empty() || int64_t(taps_[d].outside.size()) != os[d])
        taps_[d] = make_taps(cur.shape()[d], os[d], d);
      Shape next_shape = cur.shape();
      next_shape[d] = os[d];
      bool last = true;
      for (int e = d - 1; e >= 0; --e)
        if (axis_changes(cur.shape()[e], os[e], e))
          last = false;
      Tensor next = last ? out[0] : Tensor(DType::f32, next_shape);
      resize_axis(cur, next, d, taps_[d]);
      if (last)
        return;
      cur = next;
    }
    std::memcpy(out[0].raw(), cur.raw(), cur.nbytes()); // nothing changed
  }

  // oneDNN layout opt-in (runtime/kernel.h): channels-last in, channels-last out.
  bool accepts_dnnl_layouts() const override { return true; }
  void set_input_layouts(std::span<const dnnl_memory_desc_t *const> layouts) override {
    layout_.set_input_layout(layouts.empty() ? nullptr : layouts[0]);
  }
  const dnnl_memory_desc_t *output_layout(size_t) const override { return layout_.output_layout(); }

private:
  // Nearest in H and W of a 4-D tensor, N and C untouched: the channels-last
  // path, with the H and W source tables.
  void plan_layout(const Tensor &x, const Shape &out) {
    const Shape &s = x.shape();
    bool hw_only = interp_ == Interp::nearest && coord_ != "tf_crop_and_resize" && s.size() == 4 &&
                   !axis_changes(s[0], out[0], 0) && !axis_changes(s[1], out[1], 1);
    if (hw_only)
      hw_taps_ = {make_taps(s[2], out[2], 2), make_taps(s[3], out[3], 3)};
    layout_.plan(env_, x, out, hw_only);
  }

  // An axis with the same size and an identity mapping needs no pass.
  bool axis_changes(int64_t in, int64_t out, int d) const {
    return in != out || scales_[d] != 1.0 || coord_ == "tf_crop_and_resize";
  }

  double source_coord(int64_t x, int64_t in, int64_t out, int d) const {
    if (coord_ != "tf_crop_and_resize")
      return kernels::resize_source_coord(coord_, x, in, out, scales_[d]);
    // tf_crop_and_resize: the roi gives start and end per axis
    int rank = static_cast<int>(scales_.size());
    double start = roi_[d], end = roi_[rank + d];
    if (out > 1)
      return start * (in - 1) + x * (end - start) * (in - 1) / double(out - 1);
    return 0.5 * (start + end) * (in - 1);
  }

  void cubic_coeffs(double r, double *c) const {
    double a = cubic_a_;
    c[0] = ((a * (r + 1) - 5 * a) * (r + 1) + 8 * a) * (r + 1) - 4 * a;
    c[1] = ((a + 2) * r - (a + 3)) * r * r + 1;
    c[2] = ((a + 2) * (1 - r) - (a + 3)) * (1 - r) * (1 - r) + 1;
    c[3] = ((a * (2 - r) - 5 * a) * (2 - r) + 8 * a) * (2 - r) - 4 * a;
  }

  Taps make_taps(int64_t in, int64_t out, int d) const {
    Taps t;
    t.n = interp_ == Interp::nearest ? 1 : interp_ == Interp::linear ? 2 : 4;
    t.index.resize(out * t.n);
    t.weight.resize(out * t.n);
    t.outside.assign(out, false);
    for (int64_t x = 0; x < out; ++x) {
      double xo = source_coord(x, in, out, d);
      if (coord_ == "tf_crop_and_resize" && (xo < 0 || xo > double(in - 1))) {
        t.outside[x] = true;
        continue;
      }
      // The reference picks neighbours floor(x), floor(x)+1 with ratio in (0, 1]:
      // an integer coordinate counts as ratio 1 from the left neighbour.
      double x0 = std::floor(xo), r = xo - x0;
      if (r == 0) {
        x0 -= 1;
        r = 1;
      }
      int64_t i0 = static_cast<int64_t>(x0);
      auto clampi = [&](int64_t i) { return std::clamp<int64_t>(i, 0, in - 1); };
      int64_t *idx = &t.index[x * t.n];
      float *w = &t.weight[x * t.n];
      if (interp_ == Interp::nearest) {
        bool up = r == 1 || (nearest_mode_ == "round_prefer_floor" && r > 0.5) ||
                  (nearest_mode_ == "round_prefer_ceil" && r >= 0.5) || nearest_mode_ == "ceil";
        idx[0] = clampi(up ? i0 + 1 : i0);
        w[0] = 1;
        continue;
      }
      double c[4];
      int64_t first;
      if (interp_ == Interp::linear) {
        c[0] = 1 - r;
        c[1] = r;
        first = i0;
      } else {
        cubic_coeffs(r, c);
        first = i0 - 1;
      }
      double sum = 0;
      for (int k = 0; k < t.n; ++k) {
        int64_t i = first + k;
        if (exclude_outside_ && (i < 0 || i >= in))
          c[k] = 0;
        sum += c[k];
      }
      for (int k = 0; k < t.n; ++k) {
        idx[k] = clampi(first + k);
        w[k] = static_cast<float>(exclude_outside_ && sum != 0 ? c[k] / sum : c[k]);
      }
    }
    return t;
  }

  // y[o, j, i] = sum_k w[j,k] * x[o, idx[j,k], i] along axis d.
  void resize_axis(const Tensor &x, Tensor &y, int d, const Taps &t) const {
    const Shape &s = x.shape();
    int64_t outer = kernels::numel_before(s, d), in_d = s[d], inner = kernels::numel_after(s, d);
    int64_t out_d = y.shape()[d];
    const float *src = x.data<float>();
    float *dst = y.data<float>();
    const float extra = extrapolation_;
#pragma omp parallel for if (outer * out_d * inner > 16384)
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < out_d; ++j) {
        float *yo = dst + (o * out_d + j) * inner;
        if (t.outside[j]) {
          std::fill(yo, yo + inner, extra);
          continue;
        }
        const int64_t *idx = &t.index[j * t.n];
        const float *w = &t.weight[j * t.n];
        const float *xo = src + o * in_d * inner;
        if (t.n == 1 && inner == 1) {
          yo[0] = xo[idx[0]];
          continue;
        }
        if (t.n == 1) {
          std::memcpy(yo, xo + idx[0] * inner, inner * sizeof(float));
          continue;
        }
        for (int64_t i = 0; i < inner; ++i) {
          float acc = 0;
          for (int k = 0; k < t.n; ++k)
            acc += w[k] * xo[idx[k] * inner + i];
          yo[i] = acc;
        }
      }
  }

  Node node_;
  KernelEnv env_;
  kernels::NhwcNearestResize layout_;
  std::vector<Taps> hw_taps_; // H and W tables of the channels-last path
  Interp interp_ = Interp::nearest;
  std::string coord_, nearest_mode_;
  float cubic_a_;
  bool exclude_outside_;
  float extrapolation_;
  std::vector<double> scales_, roi_;
  std::vector<Taps> taps_;
};

} // namespace

void register_resize_kernels(KernelRegistry &r) {
  r.add("Resize",
        [](const Node &n, const KernelEnv &env) { return std::make_unique<ResizeKernel>(n, env); });
}

} // namespace qtune
