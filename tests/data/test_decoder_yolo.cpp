// YOLOv5 and YOLOv8 decoders on hand-built head outputs whose boxes are worked out
// by hand from the published formulas (no real v5/v8 model in ../shared/data):
// v5: xy = (2 * sigmoid(t) - 0.5 + cell) * stride, wh = (2 * sigmoid(t))^2 * anchor,
// score = objectness * class; v8: cx, cy, w, h already in input pixels + class scores.
#include <cmath>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "data/decoders.h"
#include "data_test_util.h"
#include "qtune/error.h"

using namespace qtune::data;
using qtune::Detection;
using qtune::Tensor;

namespace {

float logit(float p) {
  return std::log(p / (1 - p));
}

// One stride-8 level on a 16x8 input (1x2 cells), anchors (4, 6) and (10, 20), two
// classes: only anchor 1 at cell x = 1 is an object. Its values as probabilities:
// tx = ty = 0.5 -> centre ((2 * 0.5 - 0.5) + 1) * 8 = 12, (0.5 + 0) * 8 = 4;
// tw = 0.75 -> w = (1.5)^2 * 10 = 22.5; th = 0.5 -> h = 1 * 20 = 20;
// objectness 0.8, classes 0.2 and 0.9 -> scores 0.16 and 0.72.
float v5_value(int a, int c, int k, bool as_logits) {
  static const float obj[7] = {0.5f, 0.5f, 0.75f, 0.5f, 0.8f, 0.2f, 0.9f};
  float p = (a == 1 && c == 1) ? obj[k] : (k == 4 ? 1e-9f : 0.5f);
  return as_logits ? logit(p) : p;
}

Tensor v5_rank5(bool logits) { // [1, anchors, H, W, 5 + C]
  std::vector<float> v;
  for (int a = 0; a < 2; ++a)
    for (int c = 0; c < 2; ++c)
      for (int k = 0; k < 7; ++k)
        v.push_back(v5_value(a, c, k, logits));
  return Tensor::from_vector<float>({1, 2, 1, 2, 7}, v);
}

Tensor v5_conv(bool logits) { // the head conv's [1, anchors * (5 + C), H, W]
  std::vector<float> v;
  for (int a = 0; a < 2; ++a)
    for (int k = 0; k < 7; ++k)
      for (int c = 0; c < 2; ++c)
        v.push_back(v5_value(a, c, k, logits));
  return Tensor::from_vector<float>({1, 14, 1, 2}, v);
}

Geometry geo_16x8() {
  Geometry g; // image = input, but 100x100 so that only negative y clips
  g.input_width = 16;
  g.input_height = 8;
  g.orig_width = g.orig_height = 100;
  return g;
}

std::vector<Detection> run(const std::string &yaml, const Tensor &t, const Geometry &g) {
  std::vector<std::string> names = {"out"};
  return make_decoder(YAML::Load(yaml))->decode({&t, 1}, names, 0, 9, g);
}

const char *kV5 = "yolov5: {strides: [8], anchors: [[4, 6, 10, 20]], score_threshold: 0.1, "
                  "class_map: none";

void expect_v5_box(const std::vector<Detection> &d) {
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].category_id, 1);
  EXPECT_NEAR(d[0].score, 0.72, 1e-5);
  EXPECT_EQ(d[1].category_id, 0);
  EXPECT_NEAR(d[1].score, 0.16, 1e-5);
  EXPECT_NEAR(d[0].x, 12 - 11.25, 1e-4);
  EXPECT_NEAR(d[0].w, 22.5, 1e-4);
  EXPECT_NEAR(d[0].y, 0, 1e-4); // 4 - 10 = -6 clipped to the image
  EXPECT_NEAR(d[0].h, 14, 1e-4);
}

} // namespace

TEST(DecoderYolov5, GridFormulaOnRawHeadLayouts) {
  expect_v5_box(run(std::string(kV5) + "}", v5_rank5(true), geo_16x8()));
  expect_v5_box(run(std::string(kV5) + "}", v5_conv(true), geo_16x8()));
  // An export that applied sigmoid but not the grid.
  expect_v5_box(run(std::string(kV5) + ", sigmoid: false}", v5_rank5(false), geo_16x8()));
  // Best class only.
  auto one = run(std::string(kV5) + ", multi_label: false}", v5_conv(true), geo_16x8());
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].category_id, 1);
}

TEST(DecoderYolov5, AlreadyDecodedExport) {
  // [1, 4, 7]: rows cx, cy, w, h (input pixels), objectness, 2 class probabilities.
  std::vector<float> rows = {12, 4, 22.5f, 20, 0.8f,  0.2f, 0.9f, 3, 3, 5, 5, 0.0f, 1, 1,
                             8,  4, 4,     4,  0.05f, 1,    1,    0, 0, 1, 1, 0.0f, 0, 0};
  Tensor t = Tensor::from_vector<float>({1, 4, 7}, rows);
  // Objectness 0.05 <= 0.1 drops row 2 even though its classes are 1.
  expect_v5_box(run(std::string(kV5) + ", decoded: true}", t, geo_16x8()));
}

TEST(DecoderYolov5, LocatedErrors) {
  auto msg = [](const std::string &y) {
    return qtune::test::input_error_of([&] { make_decoder(YAML::Load(y)); });
  };
  EXPECT_NE(msg("yolov5: {strides: [8, 16], anchors: [[1, 2]]}").find("postprocess.yolov5.anchors"),
            std::string::npos);
  EXPECT_NE(msg("yolov5: {anchors: [[1, 2, 3]], strides: [8]}").find("w, h pairs"),
            std::string::npos);
  EXPECT_NE(msg("yolov5: {score_threshold: -1}").find("postprocess.yolov5.score_threshold"),
            std::string::npos);
  // A 16x16 input has a 2x2 grid at stride 8: the 1x2 output does not fit.
  Geometry g = geo_16x8();
  g.input_height = 16;
  std::string e =
      qtune::test::input_error_of([&] { run(std::string(kV5) + "}", v5_rank5(true), g); });
  EXPECT_NE(e.find("2x2 grid for stride 8"), std::string::npos) << e;
}

// Three anchor points, two classes, [1, 4 + 2, 3]: box 0 (cx 50, cy 40, 20x10)
// scores 0.9 / 0.3; box 1 is box 0 moved 2 px (IoU 180 / 220 = 0.82 > 0.7, class 0
// 0.8: suppressed); box 2 scores below 0.001. Geometry: input = image * 0.5 with a
// 10 px top pad, so box 0 maps to x 80, y (35 - 10) * 2 = 50, 40x20.
TEST(DecoderYolov8, ChannelsFirstAnchorFree) {
  std::vector<float> cols = {50, 52, 10, 40,   40,   10,      20,   20,   4,
                             10, 10, 4,  0.9f, 0.8f, 0.0005f, 0.3f, 0.0f, 0.0f};
  Tensor t = Tensor::from_vector<float>({1, 6, 3}, cols);
  Geometry g;
  g.sx = g.sy = 0.5;
  g.oy = 10;
  g.input_width = g.input_height = 100;
  g.orig_width = 200;
  g.orig_height = 180;
  auto d = run("yolov8: {}", t, g);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].category_id, 1); // coco80: index 0 -> person (1)
  EXPECT_NEAR(d[0].score, 0.9, 1e-6);
  EXPECT_NEAR(d[0].x, 80, 1e-4);
  EXPECT_NEAR(d[0].y, 50, 1e-4);
  EXPECT_NEAR(d[0].w, 40, 1e-4);
  EXPECT_NEAR(d[0].h, 20, 1e-4);
  EXPECT_EQ(d[1].category_id, 2); // bicycle, same box
  EXPECT_NEAR(d[1].score, 0.3, 1e-6);
  EXPECT_EQ(run("yolov8: {multi_label: false}", t, g).size(), 1u);
  EXPECT_EQ(run("yolov8: {nms_iou: 0.9}", t, g).size(), 3u);
  // The same boxes as [1, N, 4 + C].
  std::vector<float> rows;
  for (int i = 0; i < 3; ++i)
    for (int k = 0; k < 6; ++k)
      rows.push_back(cols[k * 3 + i]);
  auto r = run("yolov8: {layout: channels_last}", Tensor::from_vector<float>({1, 3, 6}, rows), g);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_NEAR(r[0].x, 80, 1e-4);
  EXPECT_NEAR(r[1].score, 0.3, 1e-6);
  EXPECT_NE(qtune::test::input_error_of([] {
              make_decoder(YAML::Load("yolov8: {layout: nhwc}"));
            }).find("postprocess.yolov8.layout"),
            std::string::npos);
}
