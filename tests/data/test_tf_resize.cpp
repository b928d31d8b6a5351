// TensorFlow 1.x resize conventions (Resize mode tf_legacy / align_corners) and
// uint8 model inputs: values worked out by hand for tiny images, and the AIY SSD
// reference input that TensorFlow.js was fed (dog.jpg resized to 256x256 with TF1
// ResizeBilinear, align_corners=False, half_pixel_centers=False, rounded).
#include <fstream>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "../test_util.h"
#include "data/dataloader_factory.h"
#include "data/image_decode.h"
#include "data/transforms.h"
#include "data_test_util.h"
#include "qtune/error.h"

using namespace qtune::data;
using qtune::DType;
using qtune::test::shared_data;

namespace {

Frame gray(int w, int h, std::vector<float> px, bool integral) {
  Frame f;
  f.width = w;
  f.height = h;
  f.channels = 1;
  f.px = std::move(px);
  f.integral = integral;
  f.geo.orig_width = f.geo.input_width = w;
  f.geo.orig_height = f.geo.input_height = h;
  return f;
}

void expect_px(const Frame &f, const std::vector<float> &want, float tol = 1e-4f) {
  ASSERT_EQ(f.px.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(f.px[i], want[i], tol) << "pixel " << i;
}

std::string read_bytes(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  return {std::istreambuf_iterator<char>(in), {}};
}

} // namespace

TEST(TfResize, LegacyBilinearByHand) {
  // Downscale 3 -> 2: source x = i * 1.5 -> 0 and 1.5 (half way between 30 and 90).
  // Half-pixel centres would sample 0.25 and 1.75 instead (7.5 and 75).
  Frame row = gray(3, 1, {0, 30, 90}, false);
  expect_px(resize_frame(row, 2, 1, Interp::bilinear, Coords::tf_legacy), {0, 60});
  expect_px(resize_frame(row, 2, 1, Interp::bilinear), {7.5f, 75});
  // Upscale 2 -> 4: x = 0, 0.5, 1, 1.5; the last column clamps to the edge pixel.
  expect_px(resize_frame(gray(2, 1, {0, 100}, false), 4, 1, Interp::bilinear, Coords::tf_legacy),
            {0, 50, 100, 100});
  // 2x2 -> 3x3: x, y = 0, 2/3, 4/3 (clamped to the last row/column).
  Frame sq = gray(2, 2, {0, 10, 20, 30}, false);
  Frame r = resize_frame(sq, 3, 3, Interp::bilinear, Coords::tf_legacy);
  expect_px(r, {0, 20 / 3.f, 10, 40 / 3.f, 20, 70 / 3.f, 20, 80 / 3.f, 30});
  // The same on an 8-bit image: rounded to integers (half up).
  r = resize_frame(gray(2, 2, {0, 10, 20, 30}, true), 3, 3, Interp::bilinear, Coords::tf_legacy);
  expect_px(r, {0, 7, 10, 13, 20, 23, 20, 27, 30}, 0);
  // Geometry: a plain scale from original to input pixels.
  EXPECT_DOUBLE_EQ(r.geo.sx, 1.5);
  EXPECT_EQ(r.geo.input_width, 3);
}

TEST(TfResize, AlignCornersAndNearest) {
  // align_corners 2 -> 3: x = 0, 0.5, 1.
  expect_px(
      resize_frame(gray(2, 1, {0, 100}, false), 3, 1, Interp::bilinear, Coords::align_corners),
      {0, 50, 100});
  // Nearest legacy 4 -> 3: floor(i * 4/3) = 0, 1, 2; align_corners rounds i * 1.5.
  Frame row = gray(4, 1, {5, 6, 7, 8}, false);
  expect_px(resize_frame(row, 3, 1, Interp::nearest, Coords::tf_legacy), {5, 6, 7});
  expect_px(resize_frame(row, 3, 1, Interp::nearest, Coords::align_corners), {5, 7, 8});
}

TEST(TfResize, YamlModeAndErrors) {
  TransformList t = make_transforms(
      YAML::Load("Resize: {size: [3, 3], interpolation: bilinear, mode: tf_legacy}"));
  ASSERT_EQ(t.size(), 1u);
  Frame f = gray(2, 2, {0, 10, 20, 30}, true);
  t[0]->apply(f);
  expect_px(f, {0, 7, 10, 13, 20, 23, 20, 27, 30}, 0);
  auto msg = [](const std::string &y) {
    return qtune::test::input_error_of([&] { make_transforms(YAML::Load(y)); });
  };
  EXPECT_NE(msg("Resize: {size: 4, mode: tf1}").find("dataloader.transform.Resize.mode"),
            std::string::npos);
  EXPECT_NE(msg("Resize: {size: 4, interpolation: area, mode: tf_legacy}").find("bilinear"),
            std::string::npos);
}

TEST(TfResize, Uint8ModelInput) {
  Frame f = gray(2, 1, {3, 250}, true);
  f.channels = 1;
  qtune::Tensor t = frame_to_tensor(f, DType::u8);
  EXPECT_EQ(t.dtype(), DType::u8);
  EXPECT_EQ(t.shape(), (qtune::Shape{1, 1, 2, 1}));
  EXPECT_EQ(t.data<uint8_t>()[0], 3);
  EXPECT_EQ(t.data<uint8_t>()[1], 250);
  make_normalize({127.5f}, {127.5f})->apply(f);
  EXPECT_THROW(frame_to_tensor(f, DType::u8), qtune::InputError);
  EXPECT_EQ(frame_to_tensor(f, DType::f32).dtype(), DType::f32);
}

// The reference input of the AIY SSD TensorFlow.js run: dog.jpg (768x576) resized
// to 256x256 with TF1 ResizeBilinear semantics and rounded to uint8.
TEST(TfResize, AiySsdDogInputMatchesReference) {
  std::string ref = read_bytes(shared_data("reference/aiy_ssd_dog.input.u8"));
  ASSERT_EQ(ref.size(), 256u * 256 * 3);
  Frame f = frame_from_image(load_image_file(shared_data("models/yolox_nano/dog.jpg")));
  ASSERT_EQ(f.width, 768);
  ASSERT_EQ(f.height, 576);
  make_resize(256, 256, Interp::bilinear, false, Coords::tf_legacy)->apply(f);
  qtune::Tensor t = frame_to_tensor(f, DType::u8);
  ASSERT_EQ(t.shape(), (qtune::Shape{1, 256, 256, 3}));
  int max_diff = 0;
  size_t differ = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    int d = std::abs(int(t.data<uint8_t>()[i]) - int(static_cast<uint8_t>(ref[i])));
    max_diff = std::max(max_diff, d);
    differ += d != 0;
  }
  EXPECT_LE(max_diff, 0) << differ << " of " << ref.size() << " values differ";
  // The half-pixel (OpenCV) resize is measurably different: the test can tell.
  Frame g = frame_from_image(load_image_file(shared_data("models/yolox_nano/dog.jpg")));
  make_resize(256, 256, Interp::bilinear, false)->apply(g);
  qtune::Tensor h = frame_to_tensor(g, DType::u8);
  size_t other = 0;
  for (size_t i = 0; i < ref.size(); ++i)
    other += h.data<uint8_t>()[i] != static_cast<uint8_t>(ref[i]);
  EXPECT_GT(other, ref.size() / 10);
}
