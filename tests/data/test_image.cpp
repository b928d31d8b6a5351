// Image decoding and preprocessing, checked against tensors produced by other
// tools (the YOLOX reference input was made with OpenCV by the data provider).
#include <cmath>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <png.h>

#include "../test_util.h"
#include "data/image_decode.h"
#include "data/transforms.h"
#include "qtune/error.h"

using namespace qtune::data;
using qtune::test::shared_data;

namespace {

std::vector<float> read_f32(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  in.seekg(0, std::ios::end);
  std::vector<float> v(static_cast<size_t>(in.tellg()) / 4);
  in.seekg(0);
  in.read(reinterpret_cast<char *>(v.data()), static_cast<std::streamsize>(v.size() * 4));
  return v;
}

TransformList yolox_transforms() {
  TransformList t;
  // The reference was resized with PIL-style antialiased bilinear (OpenCV's
  // plain INTER_LINEAR differs by up to 60 levels on this downscale).
  t.push_back(make_letterbox(416, 416, 114.f, false, Interp::bilinear_antialias));
  t.push_back(make_channel_order(true));
  t.push_back(make_layout(true));
  return t;
}

} // namespace

TEST(ImagePipeline, YoloxLetterboxMatchesReferenceInput) {
  Sample s;
  s.name = shared_data("models/yolox_nano/dog.jpg");
  s.encoded = read_file_bytes(s.name);
  Frame f = preprocess(s, yolox_transforms());
  qtune::Tensor t = frame_to_tensor(f);
  ASSERT_EQ(t.shape(), (qtune::Shape{1, 3, 416, 416}));
  std::vector<float> ref = read_f32(shared_data("reference/yolox_nano_dog.input.f32"));
  ASSERT_EQ(ref.size(), static_cast<size_t>(t.numel()));
  double max_diff = 0, sum_diff = 0;
  int64_t off_by_more_than_one = 0;
  auto got = t.span<float>();
  for (size_t i = 0; i < ref.size(); ++i) {
    double d = std::fabs(got[i] - ref[i]);
    max_diff = std::max(max_diff, d);
    sum_diff += d;
    off_by_more_than_one += d > 1.0;
  }
  double mean_diff = sum_diff / ref.size();
  std::printf("YOLOX dog.jpg input vs reference: max abs diff %.3f, mean abs diff %.5f, "
              "%lld values off by more than 1\n",
              max_diff, mean_diff, static_cast<long long>(off_by_more_than_one));
  // The reference's fixed-point resize rounds differently from our float resize
  // by at most one 8-bit step; JPEG decoding (libjpeg islow) is identical.
  EXPECT_LE(max_diff, 1.0);
  EXPECT_LT(mean_diff, 0.15);
  EXPECT_EQ(off_by_more_than_one, 0);
  // Padding: rows below the resized 576*416/768 = 312 rows are exactly 114.
  EXPECT_EQ(got[415 * 416 + 10], 114.f);
  // Geometry maps model pixels back through the ratio r = 416/768.
  EXPECT_NEAR(f.geo.to_orig_x(416), 768, 1e-9);
  EXPECT_NEAR(f.geo.to_orig_y(312), 576, 1e-9);
}

TEST(ImagePipeline, PngDecodesExactPixels) {
  // PNG is lossless: pixels written by libpng's encoder come back unchanged.
  std::vector<uint8_t> pixels;
  for (int i = 0; i < 45; ++i)
    pixels.push_back(static_cast<uint8_t>(i * 5));
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  png.width = 5;
  png.height = 3;
  png.format = PNG_FORMAT_RGB;
  png_alloc_size_t size = 0;
  ASSERT_TRUE(png_image_write_to_memory(&png, nullptr, &size, 0, pixels.data(), 0, nullptr));
  std::string bytes(size, '\0');
  ASSERT_TRUE(png_image_write_to_memory(&png, bytes.data(), &size, 0, pixels.data(), 0, nullptr));
  Image img = decode_image(bytes, "mem.png");
  EXPECT_EQ(img.width, 5);
  EXPECT_EQ(img.height, 3);
  EXPECT_EQ(img.pixels, pixels);
  EXPECT_FALSE(is_jpeg("GIF89a"));
}

TEST(ImagePipeline, CorruptImageErrorNamesFile) {
  std::string bytes = read_file_bytes(shared_data("models/yolox_nano/dog.jpg"));
  std::string cut = bytes.substr(0, 200);
  try {
    decode_image(cut, "images/cut.jpg");
    FAIL() << "no error for a truncated JPEG";
  } catch (const qtune::InputError &e) {
    EXPECT_NE(std::string(e.what()).find("images/cut.jpg"), std::string::npos) << e.what();
  }
  try {
    decode_image("not an image", "images/text.jpg");
    FAIL() << "no error for text";
  } catch (const qtune::InputError &e) {
    EXPECT_NE(std::string(e.what()).find("images/text.jpg"), std::string::npos) << e.what();
  }
  EXPECT_THROW(load_image_file("/nonexistent/x.jpg"), qtune::InputError);
}

TEST(ImagePipeline, ResizeKnownValues) {
  // 2x1 -> 4x1 bilinear with half-pixel centres: 0, 0.25, 0.75, 1 of the way.
  Frame f;
  f.width = 2;
  f.height = 1;
  f.channels = 1;
  f.px = {0, 100};
  f.integral = false;
  Frame r = resize_frame(f, 4, 1, Interp::bilinear);
  EXPECT_FLOAT_EQ(r.px[0], 0);
  EXPECT_FLOAT_EQ(r.px[1], 25);
  EXPECT_FLOAT_EQ(r.px[2], 75);
  EXPECT_FLOAT_EQ(r.px[3], 100);
  // Area 4x1 -> 2x1 averages pairs; nearest picks floor(i*2).
  f.width = 4;
  f.px = {0, 10, 20, 40};
  r = resize_frame(f, 2, 1, Interp::area);
  EXPECT_FLOAT_EQ(r.px[0], 5);
  EXPECT_FLOAT_EQ(r.px[1], 30);
  r = resize_frame(f, 2, 1, Interp::nearest);
  EXPECT_FLOAT_EQ(r.px[0], 0);
  EXPECT_FLOAT_EQ(r.px[1], 20);
}

TEST(ImagePipeline, NormalizeCropCastLayout) {
  Frame f;
  f.width = 4;
  f.height = 4;
  f.channels = 3;
  for (int i = 0; i < 48; ++i)
    f.px.push_back(static_cast<float>(i));
  f.geo.orig_width = f.geo.orig_height = 4;
  TransformList t;
  t.push_back(make_center_crop(2, 2));
  t.push_back(make_normalize({1, 2, 3}, {2, 2, 2}));
  t.push_back(make_layout(true));
  for (auto &x : t)
    x->apply(f);
  ASSERT_EQ(f.width, 2);
  // Crop starts at (1,1): pixel index 5 -> values 15,16,17.
  EXPECT_FLOAT_EQ(f.px[0], (15 - 1) / 2.f);
  EXPECT_FLOAT_EQ(f.px[2], (17 - 3) / 2.f);
  EXPECT_NEAR(f.geo.to_orig_x(0), 1, 1e-12);
  qtune::Tensor tt = frame_to_tensor(f);
  EXPECT_EQ(tt.shape(), (qtune::Shape{1, 3, 2, 2}));
  EXPECT_FLOAT_EQ(tt.data<float>()[4], (16 - 2) / 2.f); // channel 1, first pixel
}
