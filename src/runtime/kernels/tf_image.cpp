// TF image ops on NHWC tensors of any real dtype: ResizeBilinear (float out),
// ResizeNearestNeighbor (input dtype out), both with align_corners and
// half_pixel_centers (TF1 default is neither: src = dst * in / out), and
// CropAndResize (normalized boxes, bilinear or nearest, extrapolation_value
// outside the image). Arithmetic is in float, as TensorFlow's CPU kernels do.
#include <cmath>
#include <type_traits>

#include "ir/tf_resize.h"
#include "runtime/kernels/tf_util.h"

namespace qtune {
namespace {

namespace tfk = kernels::tf;

// One output coordinate's bilinear source: rows/cols lo and hi, weight of hi.
using Lerp = TfLerp;

// Calls f(T{}) for the real dtypes TF image ops take (not bool).
template <typename F> void dispatch_real(const Node &node, DType t, F &&f) {
  if (t == DType::boolean)
    kernels::throw_dtype(node, t);
  kernels::dispatch_numeric(node, t, [&](auto tag) {
    if constexpr (!std::is_same_v<decltype(tag), bool>)
      f(tag);
  });
}

// One output pixel (C channels) from rows r0/r1 at columns c0/c1 with the
// weights tx of c1 and ty of r1: lerp along x, then along y.
template <typename T>
void blend(const T *r0, const T *r1, int64_t c0, int64_t c1, float tx, float ty, int64_t C,
           float *px) {
  for (int64_t ch = 0; ch < C; ++ch) {
    float tl = float(r0[c0 * C + ch]), tr = float(r0[c1 * C + ch]);
    float bl = float(r1[c0 * C + ch]), br = float(r1[c1 * C + ch]);
    float top = tl + (tr - tl) * tx, bottom = bl + (br - bl) * tx;
    px[ch] = top + (bottom - top) * ty;
  }
}

Shape nhwc_shape(const Node &node, const Tensor &image) {
  tfk::expect_rank(node, image, 4, "images");
  return image.shape();
}

// (h, w) from a 2-element int tensor (resize size, crop size); both positive.
std::pair<int64_t, int64_t> size_input(const Node &node, const Tensor &t, const char *what) {
  if (t.numel() != 2 || t.rank() != 1)
    throw InputError(fmt::format("{}: {} must have 2 elements, got shape {}", node.describe(), what,
                                 shape_str(t.shape())));
  int64_t h = t.get_i64(0), w = t.get_i64(1);
  if (h <= 0 || w <= 0)
    throw InputError(fmt::format("{}: {} {}x{} is not positive", node.describe(), what, h, w));
  return {h, w};
}

class TfResizeKernel : public Kernel {
public:
  TfResizeKernel(const Node &n, const KernelEnv &env, bool bilinear)
      : node_(n), bilinear_(bilinear), align_(n.attr_int("align_corners", 0) != 0),
        half_(n.attr_int("half_pixel_centers", 0) != 0),
        value_dependent_(!tfk::values_constant(n, env, {1})) {
    if (align_ && half_)
      throw InputError(n.describe() + ": half_pixel_centers needs align_corners false");
  }

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    Shape s = nhwc_shape(node_, in[0]);
    if (in.size() < 2)
      throw InputError(node_.describe() + ": needs images and size");
    auto [h, w] = size_input(node_, in[1], "size");
    s[1] = h;
    s[2] = w;
    if (!bilinear_)
      return {{in[0].dtype(), s}};
    dispatch_real(node_, in[0].dtype(), [](auto) {});
    return {{DType::f32, s}};
  }

  void prepare(std::span<const Tensor> in) override {
    const Shape &s = in[0].shape();
    const Shape out{s[0], in[1].get_i64(0), in[1].get_i64(1), s[3]};
    rows_ = bilinear_ ? lerps(s[1], out[1]) : std::vector<Lerp>{};
    cols_ = bilinear_ ? lerps(s[2], out[2]) : std::vector<Lerp>{};
    near_rows_ = bilinear_ ? std::vector<int64_t>{} : nearest(s[1], out[1]);
    near_cols_ = bilinear_ ? std::vector<int64_t>{} : nearest(s[2], out[2]);
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    if (!bilinear_) {
      run_nearest(in[0], out[0]);
      return;
    }
    dispatch_real(node_, in[0].dtype(), [&](auto tag) {
      using T = decltype(tag);
      run_bilinear(in[0].data<T>(), in[0].shape(), out[0]);
    });
  }

  bool value_dependent_shapes() const override { return value_dependent_; }

private:
  TfResizeMode mode() const { return {align_, half_}; }
  std::vector<Lerp> lerps(int64_t in, int64_t out) const {
    return tf_bilinear_axis(in, out, mode());
  }
  std::vector<int64_t> nearest(int64_t in, int64_t out) const {
    return tf_nearest_axis(in, out, mode());
  }

  template <typename T> void run_bilinear(const T *x, const Shape &s, Tensor &out) const {
    const int64_t H = s[1], W = s[2], C = s[3];
    const int64_t OH = out.dim(1), OW = out.dim(2);
    float *y = out.data<float>();
#pragma omp parallel for collapse(2) if (out.numel() > 32768)
    for (int64_t b = 0; b < s[0]; ++b)
      for (int64_t oy = 0; oy < OH; ++oy) {
        const Lerp &r = rows_[oy];
        const T *top = x + (b * H + r.lo) * W * C, *bottom = x + (b * H + r.hi) * W * C;
        float *o = y + ((b * OH + oy) * OW) * C;
        for (int64_t ox = 0; ox < OW; ++ox) {
          const Lerp &c = cols_[ox];
          blend(top, bottom, c.lo, c.hi, c.t, r.t, C, o + ox * C);
        }
      }
  }

  void run_nearest(const Tensor &x, Tensor &out) const {
    const Shape &s = x.shape();
    const int64_t OH = out.dim(1), OW = out.dim(2);
    const size_t pixel = s[3] * dtype_size(x.dtype());
    const auto *src = static_cast<const uint8_t *>(x.raw());
    auto *dst = static_cast<uint8_t *>(out.raw());
#pragma omp parallel for collapse(2) if (out.numel() > 32768)
    for (int64_t b = 0; b < s[0]; ++b)
      for (int64_t oy = 0; oy < OH; ++oy)
        for (int64_t ox = 0; ox < OW; ++ox)
          std::memcpy(dst + ((b * OH + oy) * OW + ox) * pixel,
                      src + ((b * s[1] + near_rows_[oy]) * s[2] + near_cols_[ox]) * pixel, pixel);
  }

  Node node_;
  bool bilinear_, align_, half_, value_dependent_;
  std::vector<Lerp> rows_, cols_;
  std::vector<int64_t> near_rows_, near_cols_;
};

// CropAndResize(image [B,H,W,C], boxes [N,4] normalized (y1,x1,y2,x2),
// box_ind [N], crop_size [2]) -> float [N, crop_h, crop_w, C]. A box edge
// maps to the pixel centers 0 and H-1; a crop of size 1 samples the box
// center. Samples outside [0, H-1] x [0, W-1] get extrapolation_value.
class CropAndResizeKernel : public Kernel {
public:
  CropAndResizeKernel(const Node &n, const KernelEnv &env)
      : node_(n), extrapolation_(n.attr_float("extrapolation_value", 0.f)),
        value_dependent_(!tfk::values_constant(n, env, {3})) {
    std::string method = n.attr_string("method", "bilinear");
    if (method != "bilinear" && method != "nearest")
      throw UnsupportedError(fmt::format("{}: method '{}' is not supported", n.describe(), method));
    bilinear_ = method == "bilinear";
  }

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    if (in.size() < 4)
      throw InputError(node_.describe() + ": needs image, boxes, box_ind and crop_size");
    Shape s = nhwc_shape(node_, in[0]);
    const Tensor &boxes = in[1], &ind = in[2];
    if (boxes.rank() != 2 || boxes.dim(1) != 4 || ind.rank() != 1 || ind.dim(0) != boxes.dim(0))
      throw InputError(fmt::format("{}: boxes {} must be [n,4] and box_ind {} [n]",
                                   node_.describe(), shape_str(boxes.shape()),
                                   shape_str(ind.shape())));
    dispatch_real(node_, in[0].dtype(), [](auto) {});
    auto [h, w] = size_input(node_, in[3], "crop_size");
    return {{DType::f32, {boxes.dim(0), h, w, s[3]}}};
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    std::vector<float> boxes = in[1].to_f32_vector();
    std::vector<int64_t> ind = in[2].to_i64_vector();
    for (int64_t b : ind)
      if (b < 0 || b >= in[0].dim(0))
        throw InputError(fmt::format("{}: box_ind {} is outside the batch of {}", node_.describe(),
                                     b, in[0].dim(0)));
    dispatch_real(node_, in[0].dtype(), [&](auto tag) {
      using T = decltype(tag);
      crop(in[0].data<T>(), in[0].shape(), boxes, ind, out[0]);
    });
  }

  bool value_dependent_shapes() const override { return value_dependent_; }

private:
  // Source coordinate of crop index i along an axis of `in` pixels.
  static float source(float lo, float hi, int64_t i, int64_t crop, int64_t in) {
    if (crop == 1)
      return 0.5f * (lo + hi) * float(in - 1);
    float sc = (hi - lo) * float(in - 1) / float(crop - 1);
    return lo * float(in - 1) + float(i) * sc;
  }

  template <typename T>
  void crop(const T *x, const Shape &s, const std::vector<float> &boxes,
            const std::vector<int64_t> &ind, Tensor &out) const {
    const int64_t H = s[1], W = s[2], C = s[3];
    const int64_t N = out.dim(0), CH = out.dim(1), CW = out.dim(2);
    float *y = out.data<float>();
#pragma omp parallel for collapse(2) if (out.numel() > 32768)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t cy = 0; cy < CH; ++cy) {
        const float *bx = &boxes[4 * n];
        const T *img = x + ind[n] * H * W * C;
        float *o = y + ((n * CH + cy) * CW) * C;
        float sy = source(bx[0], bx[2], cy, CH, H);
        for (int64_t cx = 0; cx < CW; ++cx) {
          float sx = source(bx[1], bx[3], cx, CW, W);
          float *px = o + cx * C;
          if (sy < 0 || sy > float(H - 1) || sx < 0 || sx > float(W - 1)) {
            std::fill_n(px, C, extrapolation_);
          } else if (bilinear_) {
            int64_t y0 = int64_t(std::floor(sy)), x0 = int64_t(std::floor(sx));
            blend(img + y0 * W * C, img + int64_t(std::ceil(sy)) * W * C, x0,
                  int64_t(std::ceil(sx)), sx - float(x0), sy - float(y0), C, px);
          } else {
            const T *p = img + (int64_t(std::round(sy)) * W + int64_t(std::round(sx))) * C;
            for (int64_t ch = 0; ch < C; ++ch)
              px[ch] = float(p[ch]);
          }
        }
      }
  }

  Node node_;
  float extrapolation_;
  bool bilinear_ = true, value_dependent_;
};

} // namespace

void register_tf_image_kernels(KernelRegistry &r) {
  r.add("ResizeBilinear", tfk::factory<TfResizeKernel>(true), "tf");
  r.add("ResizeNearestNeighbor", tfk::factory<TfResizeKernel>(false), "tf");
  r.add("CropAndResize", tfk::factory<CropAndResizeKernel>(), "tf");
}

} // namespace qtune
