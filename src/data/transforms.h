#pragma once
// Image preprocessing as a list of transforms over a float working frame.
// Each transform also updates the frame's Geometry, the affine map from
// original-image pixels to model-input pixels, so detections can be mapped back.
//
// Transform names follow LPOT 1.x where LPOT has one (Resize, CenterCrop,
// Normalize, Rescale, Transpose, Cast); ours: Letterbox, ChannelOrder, Layout.
#include <memory>
#include <string>
#include <vector>

#include "data/sample.h"
#include "qtune/tensor.h"

namespace qtune::data {

// x_input = x_orig * sx + ox (same for y); original size kept for clamping.
struct Geometry {
  double sx = 1, sy = 1, ox = 0, oy = 0;
  int orig_width = 0, orig_height = 0;
  int input_width = 0, input_height = 0;
  double to_orig_x(double x) const { return (x - ox) / sx; }
  double to_orig_y(double y) const { return (y - oy) / sy; }
};

struct Frame {
  int width = 0, height = 0, channels = 0;
  std::vector<float> px; // HWC
  bool integral = true;  // values are still 0..255 integers (resizes round)
  bool bgr = false;      // channel order of 3-channel frames
  bool chw = false;      // output layout: NCHW instead of NHWC
  DType dtype = DType::f32;
  Geometry geo;
};

Frame frame_from_image(const Image &img);
// [1,H,W,C] or [1,C,H,W] in the frame's dtype, or in `want` when given (the
// model input's dtype): an 8-bit frame feeds a uint8 input (e.g. TensorFlow's
// `image_tensor`) as is; a frame already normalised cannot (InputError).
Tensor frame_to_tensor(const Frame &f, DType want = DType::undefined);
// Writes the frame's tensor data (without batch dim) at `dst` (dtype-sized).
void frame_write(const Frame &f, void *dst);

// pil_box: PIL's Image.BOX (input pixels whose centre falls in the output pixel's
// span, equally weighted), not the fractional-coverage average of `area`.
enum class Interp { bilinear, nearest, area, bilinear_antialias, pil_box };
Interp interp_from_name(const std::string &name, const std::string &where);

// Where output pixel i samples the input (scale = in / out):
// - half_pixel: (i + 0.5) * scale - 0.5, pixel centres (OpenCV, PIL, TF2 tf.image.resize);
// - tf_legacy: i * scale, TensorFlow 1.x ResizeBilinear / ResizeNearestNeighbor with
//   align_corners=False, half_pixel_centers=False (the Object Detection API's
//   fixed_shape_resizer): the last output rows/columns clamp to the input edge;
// - align_corners: i * (in - 1) / (out - 1) (TF1 align_corners=True).
// tf_legacy and align_corners apply to bilinear and nearest only.
enum class Coords { half_pixel, tf_legacy, align_corners };
Coords coords_from_name(const std::string &name, const std::string &where);

// Resamples to out_w x out_h. Frames still holding 8-bit values are rounded half up.
Frame resize_frame(const Frame &f, int out_w, int out_h, Interp interp,
                   Coords coords = Coords::half_pixel);

class Transform {
public:
  virtual ~Transform() = default;
  virtual void apply(Frame &f) const = 0;
  virtual std::string name() const = 0;
};

using TransformList = std::vector<std::unique_ptr<Transform>>;

std::unique_ptr<Transform> make_resize(int h, int w, Interp interp, bool keep_ratio,
                                       Coords coords = Coords::half_pixel);
std::unique_ptr<Transform> make_letterbox(int h, int w, float pad_value, bool centered,
                                          Interp interp);
std::unique_ptr<Transform> make_center_crop(int h, int w);
std::unique_ptr<Transform> make_normalize(std::vector<float> mean, std::vector<float> std);
std::unique_ptr<Transform> make_rescale(float scale);
std::unique_ptr<Transform> make_channel_order(bool bgr);
std::unique_ptr<Transform> make_layout(bool chw);
std::unique_ptr<Transform> make_cast(DType dtype);

// Decodes a sample's image (if encoded) and runs the transforms.
Frame preprocess(const Sample &s, const TransformList &transforms);

} // namespace qtune::data
