#include "data/transforms.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "data/image_decode.h"
#include "ir/tf_resize.h"
#include "qtune/error.h"

namespace qtune::data {

// Everything but the pixels (which callers fill), to avoid copying them.
static Frame frame_like(const Frame &f) {
  Frame out;
  out.width = f.width;
  out.height = f.height;
  out.channels = f.channels;
  out.integral = f.integral;
  out.bgr = f.bgr;
  out.chw = f.chw;
  out.dtype = f.dtype;
  out.geo = f.geo;
  return out;
}

Frame frame_from_image(const Image &img) {
  Frame f;
  f.width = img.width;
  f.height = img.height;
  f.channels = img.channels;
  f.px.assign(img.pixels.begin(), img.pixels.end());
  f.geo.orig_width = f.geo.input_width = img.width;
  f.geo.orig_height = f.geo.input_height = img.height;
  return f;
}

namespace {

void write_as(const Frame &f, DType dtype, void *dst) {
  const int hw = f.width * f.height, c = f.channels;
  auto idx = [&](int p, int ch) { return f.chw ? size_t(ch) * hw + p : size_t(p) * c + ch; };
  if (dtype == DType::f32) {
    auto *out = static_cast<float *>(dst);
    if (!f.chw) {
      std::memcpy(out, f.px.data(), f.px.size() * sizeof(float));
      return;
    }
    for (int ch = 0; ch < c; ++ch) { // contiguous writes, strided reads
      float *o = out + size_t(ch) * hw;
      const float *in = f.px.data() + ch;
      for (int p = 0; p < hw; ++p)
        o[p] = in[size_t(p) * c];
    }
  } else if (dtype == DType::u8) {
    auto *out = static_cast<uint8_t *>(dst);
    for (int p = 0; p < hw; ++p)
      for (int ch = 0; ch < c; ++ch)
        out[idx(p, ch)] =
            static_cast<uint8_t>(std::clamp(std::nearbyint(f.px[size_t(p) * c + ch]), 0.f, 255.f));
  } else {
    throw UnsupportedError("preprocess: output dtype " + std::string(dtype_name(dtype)) +
                           " (images feed float32 or uint8 inputs)");
  }
}

} // namespace

void frame_write(const Frame &f, void *dst) {
  write_as(f, f.dtype, dst);
}

Tensor frame_to_tensor(const Frame &f, DType want) {
  // Images feed float32 or uint8 inputs; any other input dtype keeps the frame's
  // (the executor reports the mismatch with the input's name).
  DType dtype = want == DType::u8 || want == DType::f32 ? want : f.dtype;
  if (dtype == DType::u8 && f.dtype != DType::u8 && !f.integral)
    throw InputError("preprocess: the model input is uint8 but the transforms leave "
                     "non-integer values (Normalize/Rescale); drop them for a uint8 input");
  Shape shape =
      f.chw ? Shape{1, f.channels, f.height, f.width} : Shape{1, f.height, f.width, f.channels};
  Tensor t(dtype, shape);
  write_as(f, dtype, t.raw());
  return t;
}

Interp interp_from_name(const std::string &name, const std::string &where) {
  if (name == "bilinear" || name == "linear")
    return Interp::bilinear;
  if (name == "nearest")
    return Interp::nearest;
  if (name == "area")
    return Interp::area;
  if (name == "bilinear_antialias" || name == "pil_bilinear")
    return Interp::bilinear_antialias;
  if (name == "pil_box")
    return Interp::pil_box;
  throw InputError(where + ": unknown interpolation '" + name +
                   "' (expected bilinear, bilinear_antialias, nearest, area or pil_box)");
}

Coords coords_from_name(const std::string &name, const std::string &where) {
  if (name == "half_pixel")
    return Coords::half_pixel;
  if (name == "tf_legacy")
    return Coords::tf_legacy;
  if (name == "align_corners")
    return Coords::align_corners;
  throw InputError(where + ": unknown mode '" + name +
                   "' (expected half_pixel, tf_legacy or align_corners)");
}

namespace {

// For one axis: each output index reads `taps` consecutive inputs from `first`.
struct AxisWeights {
  std::vector<int> first, taps;
  std::vector<float> w; // taps weights per output, at offset off[i]
  std::vector<int> off;
};

// OpenCV INTER_LINEAR: half-pixel centres, clamped at the borders, no antialias.
AxisWeights linear_weights(int in, int out) {
  AxisWeights a;
  double scale = double(in) / out;
  for (int i = 0; i < out; ++i) {
    double fx = (i + 0.5) * scale - 0.5;
    int x0 = static_cast<int>(std::floor(fx));
    double t = fx - x0;
    if (x0 < 0)
      x0 = 0, t = 0;
    if (x0 >= in - 1)
      x0 = in - 1, t = 0;
    a.first.push_back(x0);
    a.off.push_back(static_cast<int>(a.w.size()));
    if (t == 0) {
      a.taps.push_back(1);
      a.w.push_back(1.f);
    } else {
      a.taps.push_back(2);
      a.w.push_back(static_cast<float>(1 - t));
      a.w.push_back(static_cast<float>(t));
    }
  }
  return a;
}

// OpenCV INTER_NEAREST: floor(i * scale).
AxisWeights nearest_weights(int in, int out) {
  AxisWeights a;
  double scale = double(in) / out;
  for (int i = 0; i < out; ++i) {
    a.first.push_back(std::min(static_cast<int>(std::floor(i * scale)), in - 1));
    a.off.push_back(i);
    a.taps.push_back(1);
    a.w.push_back(1.f);
  }
  return a;
}

// Box filter: each output averages the input span it covers (fractional edges).
// Used when shrinking; enlarging falls back to bilinear as OpenCV's INTER_AREA does.
AxisWeights area_weights(int in, int out) {
  if (out >= in)
    return linear_weights(in, out);
  AxisWeights a;
  double scale = double(in) / out;
  for (int i = 0; i < out; ++i) {
    double s0 = i * scale, s1 = std::min((i + 1) * scale, double(in));
    int x0 = static_cast<int>(std::floor(s0));
    int x1 = std::min(static_cast<int>(std::ceil(s1)), in);
    a.first.push_back(x0);
    a.off.push_back(static_cast<int>(a.w.size()));
    a.taps.push_back(x1 - x0);
    for (int x = x0; x < x1; ++x) {
      double cover = std::min(s1, double(x + 1)) - std::max(s0, double(x));
      a.w.push_back(static_cast<float>(cover / scale));
    }
  }
  return a;
}

// PIL's resampling: the filter is stretched by the scale factor when shrinking
// (every input pixel contributes) and sampled at input pixel centres.
template <typename Filter> AxisWeights pil_weights(int in, int out, double radius, Filter filter) {
  AxisWeights a;
  double scale = double(in) / out;
  double stretch = scale > 1 ? scale : 1.0, support = radius * stretch;
  for (int i = 0; i < out; ++i) {
    double center = (i + 0.5) * scale;
    int x0 = std::max(0, static_cast<int>(std::floor(center - support + 0.5)));
    int x1 = std::min(in, static_cast<int>(std::floor(center + support + 0.5)));
    a.first.push_back(x0);
    a.off.push_back(static_cast<int>(a.w.size()));
    a.taps.push_back(x1 - x0);
    double total = 0;
    std::vector<double> w;
    for (int x = x0; x < x1; ++x) {
      w.push_back(filter((x + 0.5 - center) / stretch));
      total += w.back();
    }
    for (double v : w)
      a.w.push_back(static_cast<float>(total > 0 ? v / total : 0));
  }
  return a;
}

// PIL BILINEAR: a triangle filter (plain bilinear when enlarging).
AxisWeights triangle_weights(int in, int out) {
  return pil_weights(in, out, 1.0,
                     [](double d) { return std::fabs(d) < 1 ? 1 - std::fabs(d) : 0; });
}

// PIL BOX: unlike area averaging, an input pixel counts fully when its centre
// is inside the output pixel's span and not at all otherwise.
AxisWeights box_weights(int in, int out) {
  return pil_weights(in, out, 0.5, [](double d) { return d > -0.5 && d <= 0.5 ? 1.0 : 0.0; });
}

AxisWeights axis_weights(int in, int out, Interp interp) {
  if (interp == Interp::bilinear_antialias)
    return triangle_weights(in, out);
  if (interp == Interp::pil_box)
    return box_weights(in, out);
  switch (interp) {
  case Interp::nearest:
    return nearest_weights(in, out);
  case Interp::area:
    return area_weights(in, out);
  default:
    return linear_weights(in, out);
  }
}

// TensorFlow 1.x resize coordinates for one axis (ir/tf_resize.h, shared with
// the runtime's tf: resize kernels).
std::vector<TfLerp> tf_axis(int in, int out, Coords coords) {
  return tf_bilinear_axis(in, out, {.align_corners = coords == Coords::align_corners});
}

// TF1 ResizeBilinear: top = tl + (tr - tl) * xl, bottom likewise, out = top +
// (bottom - top) * yl, in float; the horizontal lerps are shared per source row.
std::vector<float> tf_bilinear(const Frame &f, int out_w, int out_h, Coords coords) {
  const int c = f.channels;
  const auto ax = tf_axis(f.width, out_w, coords), ay = tf_axis(f.height, out_h, coords);
  const size_t row = size_t(out_w) * c;
  std::vector<float> rows(size_t(f.height) * row);
  std::vector<char> done(f.height, 0);
  auto horizontal = [&](int y) {
    if (done[y])
      return;
    const float *src = f.px.data() + size_t(y) * f.width * c;
    float *dst = rows.data() + size_t(y) * row;
    for (int x = 0; x < out_w; ++x) {
      const float *l = src + size_t(ax[x].lo) * c, *r = src + size_t(ax[x].hi) * c;
      for (int ch = 0; ch < c; ++ch)
        dst[size_t(x) * c + ch] = l[ch] + (r[ch] - l[ch]) * ax[x].t;
    }
    done[y] = 1;
  };
  std::vector<float> out(size_t(out_h) * row);
  for (int y = 0; y < out_h; ++y) {
    horizontal(int(ay[y].lo));
    horizontal(int(ay[y].hi));
    const float *top = rows.data() + size_t(ay[y].lo) * row;
    const float *bottom = rows.data() + size_t(ay[y].hi) * row;
    float *dst = out.data() + size_t(y) * row;
    for (size_t i = 0; i < row; ++i)
      dst[i] = top[i] + (bottom[i] - top[i]) * ay[y].t;
  }
  return out;
}

// TF1 ResizeNearestNeighbor: floor(i * scale) (legacy) or round (align_corners).
std::vector<float> tf_nearest(const Frame &f, int out_w, int out_h, Coords coords) {
  const int c = f.channels;
  const TfResizeMode mode{.align_corners = coords == Coords::align_corners};
  const auto ax = tf_nearest_axis(f.width, out_w, mode),
             ay = tf_nearest_axis(f.height, out_h, mode);
  std::vector<float> out(size_t(out_h) * out_w * c);
  for (int y = 0; y < out_h; ++y)
    for (int x = 0; x < out_w; ++x) {
      const float *s = f.px.data() + (size_t(ay[y]) * f.width + ax[x]) * c;
      std::copy(s, s + c, out.data() + (size_t(y) * out_w + x) * c);
    }
  return out;
}

// TF coordinates exist for bilinear and nearest only.
void check_tf_interp(Interp interp) {
  if (interp != Interp::bilinear && interp != Interp::nearest)
    throw InputError("Resize: mode tf_legacy / align_corners needs interpolation bilinear or "
                     "nearest");
}

// The TF-convention resize (coords != half_pixel).
std::vector<float> tf_resize(const Frame &f, int out_w, int out_h, Interp interp, Coords coords) {
  if (interp == Interp::bilinear)
    return tf_bilinear(f, out_w, out_h, coords);
  check_tf_interp(interp);
  return tf_nearest(f, out_w, out_h, coords);
}

void round_to_8bit(std::vector<float> &px) {
  for (float &v : px) // round half up, as an 8-bit image stays 8-bit
    v = static_cast<float>(static_cast<int>(std::clamp(v, 0.f, 255.f) + 0.5f));
}

} // namespace

namespace {

void scale_geometry(const Frame &f, Frame &out) {
  out.geo.sx *= double(out.width) / f.width;
  out.geo.ox *= double(out.width) / f.width;
  out.geo.sy *= double(out.height) / f.height;
  out.geo.oy *= double(out.height) / f.height;
  out.geo.input_width = out.width;
  out.geo.input_height = out.height;
}

} // namespace

Frame resize_frame(const Frame &f, int out_w, int out_h, Interp interp, Coords coords) {
  if (out_w <= 0 || out_h <= 0)
    throw InputError("Resize: output size " + std::to_string(out_w) + "x" + std::to_string(out_h) +
                     " is empty");
  if (coords != Coords::half_pixel) {
    Frame out = frame_like(f);
    out.width = out_w;
    out.height = out_h;
    out.px = tf_resize(f, out_w, out_h, interp, coords);
    if (f.integral)
      round_to_8bit(out.px);
    scale_geometry(f, out);
    return out;
  }
  const int c = f.channels;
  AxisWeights ax = axis_weights(f.width, out_w, interp);
  AxisWeights ay = axis_weights(f.height, out_h, interp);
  // Horizontal pass over only the source rows the vertical pass will read.
  std::vector<char> row_needed(f.height, 0);
  for (int y = 0; y < out_h; ++y)
    for (int k = 0; k < ay.taps[y]; ++k)
      row_needed[ay.first[y] + k] = 1;
  std::vector<float> tmp(size_t(f.height) * out_w * c);
  for (int y = 0; y < f.height; ++y) {
    if (!row_needed[y])
      continue;
    const float *src = f.px.data() + size_t(y) * f.width * c;
    float *dst = tmp.data() + size_t(y) * out_w * c;
    if (c == 3) { // the common case, unrolled over channels
      for (int x = 0; x < out_w; ++x) {
        const float *w = ax.w.data() + ax.off[x];
        const float *s = src + size_t(ax.first[x]) * 3;
        float a0 = 0, a1 = 0, a2 = 0;
        for (int k = 0; k < ax.taps[x]; ++k) {
          a0 += w[k] * s[3 * k];
          a1 += w[k] * s[3 * k + 1];
          a2 += w[k] * s[3 * k + 2];
        }
        dst[3 * x] = a0;
        dst[3 * x + 1] = a1;
        dst[3 * x + 2] = a2;
      }
      continue;
    }
    for (int x = 0; x < out_w; ++x) {
      const float *w = ax.w.data() + ax.off[x];
      const float *s = src + size_t(ax.first[x]) * c;
      for (int ch = 0; ch < c; ++ch) {
        float acc = 0;
        for (int k = 0; k < ax.taps[x]; ++k)
          acc += w[k] * s[size_t(k) * c + ch];
        dst[size_t(x) * c + ch] = acc;
      }
    }
  }
  Frame out = frame_like(f);
  out.width = out_w;
  out.height = out_h;
  out.px.resize(size_t(out_w) * out_h * c);
  const size_t row = size_t(out_w) * c;
  for (int y = 0; y < out_h; ++y) {
    const float *w = ay.w.data() + ay.off[y];
    float *dst = out.px.data() + size_t(y) * row;
    const float *s0 = tmp.data() + size_t(ay.first[y]) * row;
    for (size_t i = 0; i < row; ++i)
      dst[i] = w[0] * s0[i];
    for (int k = 1; k < ay.taps[y]; ++k) {
      const float *s = s0 + size_t(k) * row;
      const float wk = w[k];
      for (size_t i = 0; i < row; ++i)
        dst[i] += wk * s[i];
    }
  }
  // An 8-bit image resized stays 8-bit (as in OpenCV and PIL): round half up.
  if (f.integral)
    round_to_8bit(out.px);
  scale_geometry(f, out);
  return out;
}

namespace {

class Resize : public Transform {
public:
  Resize(int h, int w, Interp interp, bool keep_ratio, Coords coords)
      : h_(h), w_(w), interp_(interp), keep_ratio_(keep_ratio), coords_(coords) {}
  void apply(Frame &f) const override {
    int w = w_, h = h_;
    if (keep_ratio_) {
      double r = std::min(double(h_) / f.height, double(w_) / f.width);
      w = std::max(1, static_cast<int>(std::lround(f.width * r)));
      h = std::max(1, static_cast<int>(std::lround(f.height * r)));
    }
    f = resize_frame(f, w, h, interp_, coords_);
  }
  std::string name() const override { return "Resize"; }

private:
  int h_, w_;
  Interp interp_;
  bool keep_ratio_;
  Coords coords_;
};

// Pastes `src` into a new canvas of size w x h filled with `fill`, at (left, top)
// (negative offsets crop).
Frame paste(const Frame &src, int w, int h, int left, int top, float fill) {
  Frame out = frame_like(src);
  out.width = w;
  out.height = h;
  const int c = src.channels;
  out.px.assign(size_t(w) * h * c, fill);
  int x0 = std::max(0, left), x1 = std::min(w, left + src.width);
  for (int y = std::max(0, top); y < std::min(h, top + src.height); ++y) {
    if (x1 <= x0)
      break;
    const float *s = src.px.data() + (size_t(y - top) * src.width + (x0 - left)) * c;
    std::copy(s, s + size_t(x1 - x0) * c, out.px.data() + (size_t(y) * w + x0) * c);
  }
  out.geo.ox += left;
  out.geo.oy += top;
  out.geo.input_width = w;
  out.geo.input_height = h;
  return out;
}

// YOLOX-style: scale by r = min(h/H, w/W) to (int(W*r), int(H*r)), then pad.
class Letterbox : public Transform {
public:
  Letterbox(int h, int w, float pad, bool centered, Interp interp)
      : h_(h), w_(w), pad_(pad), centered_(centered), interp_(interp) {}
  void apply(Frame &f) const override {
    double r = std::min(double(h_) / f.height, double(w_) / f.width);
    int nw = std::max(1, static_cast<int>(f.width * r));
    int nh = std::max(1, static_cast<int>(f.height * r));
    Geometry g = f.geo;
    Frame resized = resize_frame(f, nw, nh, interp_);
    int left = centered_ ? (w_ - nw) / 2 : 0, top = centered_ ? (h_ - nh) / 2 : 0;
    f = paste(resized, w_, h_, left, top, pad_);
    // Map back with the exact ratio r (as YOLOX does), not the rounded size ratio.
    f.geo.sx = g.sx * r;
    f.geo.sy = g.sy * r;
    f.geo.ox = g.ox * r + left;
    f.geo.oy = g.oy * r + top;
  }
  std::string name() const override { return "Letterbox"; }

private:
  int h_, w_;
  float pad_;
  bool centered_;
  Interp interp_;
};

class CenterCrop : public Transform {
public:
  CenterCrop(int h, int w) : h_(h), w_(w) {}
  void apply(Frame &f) const override {
    // Images smaller than the crop are padded with zeros (as torchvision does).
    f = paste(f, w_, h_, -((f.width - w_) / 2), -((f.height - h_) / 2), 0.f);
  }
  std::string name() const override { return "CenterCrop"; }

private:
  int h_, w_;
};

class Normalize : public Transform {
public:
  Normalize(std::vector<float> mean, std::vector<float> std)
      : mean_(std::move(mean)), std_(std::move(std)) {}
  void apply(Frame &f) const override {
    const int c = f.channels;
    for (const auto *v : {&mean_, &std_})
      if (v->size() != 1 && static_cast<int>(v->size()) != c)
        throw InputError("Normalize: mean/std have " + std::to_string(v->size()) +
                         " values but the image has " + std::to_string(c) + " channels");
    std::vector<float> m(c), inv(c);
    for (int ch = 0; ch < c; ++ch) {
      m[ch] = mean_.size() == 1 ? mean_[0] : mean_[ch];
      inv[ch] = 1.f / (std_.size() == 1 ? std_[0] : std_[ch]);
    }
    for (size_t i = 0; i < f.px.size(); ++i)
      f.px[i] = (f.px[i] - m[i % c]) * inv[i % c];
    f.integral = false;
  }
  std::string name() const override { return "Normalize"; }

private:
  std::vector<float> mean_, std_;
};

class Rescale : public Transform {
public:
  explicit Rescale(float s) : s_(s) {}
  void apply(Frame &f) const override {
    for (float &v : f.px)
      v *= s_;
    f.integral = false;
  }
  std::string name() const override { return "Rescale"; }

private:
  float s_;
};

class ChannelOrder : public Transform {
public:
  explicit ChannelOrder(bool bgr) : bgr_(bgr) {}
  void apply(Frame &f) const override {
    if (f.channels != 3 || f.bgr == bgr_)
      return;
    for (size_t i = 0; i < f.px.size(); i += 3)
      std::swap(f.px[i], f.px[i + 2]);
    f.bgr = bgr_;
  }
  std::string name() const override { return "ChannelOrder"; }

private:
  bool bgr_;
};

class Layout : public Transform {
public:
  explicit Layout(bool chw) : chw_(chw) {}
  void apply(Frame &f) const override { f.chw = chw_; }
  std::string name() const override { return "Layout"; }

private:
  bool chw_;
};

class Cast : public Transform {
public:
  explicit Cast(DType t) : t_(t) {}
  void apply(Frame &f) const override { f.dtype = t_; }
  std::string name() const override { return "Cast"; }

private:
  DType t_;
};

} // namespace

std::unique_ptr<Transform> make_resize(int h, int w, Interp interp, bool keep_ratio,
                                       Coords coords) {
  if (coords != Coords::half_pixel)
    check_tf_interp(interp);
  return std::make_unique<Resize>(h, w, interp, keep_ratio, coords);
}
std::unique_ptr<Transform> make_letterbox(int h, int w, float pad, bool centered, Interp interp) {
  return std::make_unique<Letterbox>(h, w, pad, centered, interp);
}
std::unique_ptr<Transform> make_center_crop(int h, int w) {
  return std::make_unique<CenterCrop>(h, w);
}
std::unique_ptr<Transform> make_normalize(std::vector<float> mean, std::vector<float> std) {
  return std::make_unique<Normalize>(std::move(mean), std::move(std));
}
std::unique_ptr<Transform> make_rescale(float scale) {
  return std::make_unique<Rescale>(scale);
}
std::unique_ptr<Transform> make_channel_order(bool bgr) {
  return std::make_unique<ChannelOrder>(bgr);
}
std::unique_ptr<Transform> make_layout(bool chw) {
  return std::make_unique<Layout>(chw);
}
std::unique_ptr<Transform> make_cast(DType dtype) {
  if (dtype != DType::f32 && dtype != DType::u8)
    throw UnsupportedError("Cast: only float32 and uint8 inputs are supported");
  return std::make_unique<Cast>(dtype);
}

Frame preprocess(const Sample &s, const TransformList &transforms) {
  Frame f =
      s.image ? frame_from_image(*s.image) : frame_from_image(decode_image(s.encoded, s.name));
  if (s.height > 0 && (f.height != s.height || f.width != s.width))
    throw InputError(s.name + ": image is " + std::to_string(f.width) + "x" +
                     std::to_string(f.height) + " but the dataset says " + std::to_string(s.width) +
                     "x" + std::to_string(s.height));
  for (const auto &t : transforms)
    t->apply(f);
  return f;
}

} // namespace qtune::data
