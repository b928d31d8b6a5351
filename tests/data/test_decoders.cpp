// Detection decoders. The YOLOX check decodes ONNX Runtime's output for dog.jpg
// (reference file, not produced by us) and expects the objects in the photo.
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <set>
#include <yaml-cpp/yaml.h>

#include "../test_util.h"
#include "data/decoders.h"
#include "data/image_decode.h"
#include "data/transforms.h"
#include "data_test_util.h"
#include "qtune/error.h"

using namespace qtune::data;
namespace fs = std::filesystem;
using qtune::Detection;
using qtune::Tensor;
using qtune::test::shared_data;

namespace {

Tensor read_f32(const std::string &path, qtune::Shape shape) {
  Tensor t(qtune::DType::f32, shape);
  std::ifstream in(path, std::ios::binary);
  in.read(static_cast<char *>(t.raw()), static_cast<std::streamsize>(t.nbytes()));
  EXPECT_TRUE(in) << path;
  return t;
}

Geometry yolox_geometry(int w, int h) {
  Frame f;
  f.width = w;
  f.height = h;
  f.channels = 3;
  f.px.assign(size_t(w) * h * 3, 0);
  f.geo.orig_width = f.geo.input_width = w;
  f.geo.orig_height = f.geo.input_height = h;
  make_letterbox(416, 416, 114, false, Interp::bilinear)->apply(f);
  return f.geo;
}

} // namespace

TEST(Decoders, Coco80Mapping) {
  EXPECT_EQ(coco80_to_coco91(0), 1);
  EXPECT_EQ(coco80_to_coco91(11), 13);
  EXPECT_EQ(coco80_to_coco91(16), 18); // dog
  EXPECT_EQ(coco80_to_coco91(79), 90);
  EXPECT_THROW(coco80_to_coco91(80), qtune::InputError);
}

TEST(Decoders, NmsPerClass) {
  std::vector<BoxCandidate> b = {
      {0, 0, 10, 10, 0.9f, 0},
      {1, 0, 11, 10, 0.8f, 0},  // IoU 9/11 = 0.818 with the first
      {5, 0, 15, 10, 0.7f, 0},  // IoU 5/15 = 0.333
      {0, 0, 10, 10, 0.95f, 1}, // other class: never suppressed
  };
  auto k = nms_per_class(b, 0.5f, 10);
  ASSERT_EQ(k.size(), 3u);
  EXPECT_FLOAT_EQ(k[0].score, 0.95f);
  EXPECT_FLOAT_EQ(k[1].score, 0.9f);
  EXPECT_FLOAT_EQ(k[2].score, 0.7f);
  EXPECT_EQ(nms_per_class(b, 0.85f, 10).size(), 4u);
  EXPECT_EQ(nms_per_class(b, 0.5f, 2).size(), 2u);
}

TEST(Decoders, YoloxOnOnnxRuntimeDogOutput) {
  Tensor out = read_f32(shared_data("reference/yolox_nano_dog.output.f32"), {1, 3549, 85});
  auto dec = make_decoder(YAML::Load(
      "yolox: {strides: [8, 16, 32], score_threshold: 0.01, nms_iou: 0.65, max_detections: 100}"));
  Image img = load_image_file(shared_data("models/yolox_nano/dog.jpg"));
  Geometry g = yolox_geometry(img.width, img.height);
  std::vector<std::string> names = {"output"};
  std::vector<Detection> d = dec->decode({&out, 1}, names, 0, 42, g);
  ASSERT_GE(d.size(), 3u);
  EXPECT_LE(d.size(), 100u);
  for (size_t i = 1; i < d.size(); ++i)
    EXPECT_GE(d[i - 1].score, d[i].score);
  // The photo shows a dog (COCO 18), a bicycle (2) and a pickup truck at the top
  // right, which YOLOX-Nano calls a car (3) first and a truck (8) second: those
  // are the confident detections, inside the 768x576 image, in their places.
  std::set<int64_t> top;
  for (const auto &x : d)
    if (x.score > 0.5) {
      top.insert(x.category_id);
      EXPECT_EQ(x.image_id, 42);
      EXPECT_GT(x.x, -20);
      EXPECT_LT(x.x + x.w, 768 + 20);
      EXPECT_LT(x.y + x.h, 576 + 20);
      double cx = x.x + x.w / 2, cy = x.y + x.h / 2;
      if (x.category_id == 18)
        EXPECT_TRUE(cx < 384 && cy > 288) << "dog at " << cx << "," << cy;
      if (x.category_id == 3)
        EXPECT_TRUE(cx > 500 && cy < 200) << "car at " << cx << "," << cy;
      if (x.category_id == 2)
        EXPECT_GT(x.w, 300) << "bicycle spans the middle";
    }
  EXPECT_EQ(top, (std::set<int64_t>{2, 3, 18}));
  bool truck = false;
  for (const auto &x : d)
    truck = truck || (x.category_id == 8 && x.score > 0.2);
  EXPECT_TRUE(truck);
}

TEST(Decoders, TfObjectDetectionMapsNormalizedBoxes) {
  Tensor boxes = Tensor::from_vector<float>({1, 2, 4}, {0.1f, 0.2f, 0.5f, 0.6f, 0, 0, 1, 1});
  Tensor classes = Tensor::from_vector<float>({1, 2}, {18, 3});
  Tensor scores = Tensor::from_vector<float>({1, 2}, {0.9f, 0.1f});
  Tensor num = Tensor::from_vector<float>({1}, {1});
  std::vector<Tensor> outs = {num, scores, boxes, classes};
  std::vector<std::string> names = {"num_detections", "detection_scores", "detection_boxes",
                                    "detection_classes"};
  Geometry g; // plain resize 200x100 -> 300x300
  g.sx = 1.5;
  g.sy = 3;
  g.input_width = g.input_height = 300;
  auto dec = make_decoder(YAML::Load("tf_object_detection: {}"));
  auto d = dec->decode(outs, names, 0, 7, g);
  ASSERT_EQ(d.size(), 1u); // num_detections = 1
  EXPECT_EQ(d[0].category_id, 18);
  EXPECT_NEAR(d[0].x, 0.2 * 200, 1e-4);
  EXPECT_NEAR(d[0].y, 0.1 * 100, 1e-4);
  EXPECT_NEAR(d[0].w, 0.4 * 200, 1e-4);
  EXPECT_NEAR(d[0].h, 0.4 * 100, 1e-4);
}

TEST(Decoders, BoxesScoresClassesLikeCenterNet) {
  Tensor out =
      Tensor::from_vector<float>({1, 2, 6}, {10, 20, 110, 220, 0.8f, 16, 0, 0, 5, 5, 0.001f, 0});
  Geometry g; // 1024x512 image resized to 512x512
  g.sx = 0.5;
  g.sy = 1;
  g.input_width = g.input_height = 512;
  auto dec = make_decoder(YAML::Load("boxes_scores_classes: {score_threshold: 0.01}"));
  std::vector<std::string> names = {"detections"};
  auto d = dec->decode({&out, 1}, names, 0, 1, g);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].category_id, 18);
  EXPECT_NEAR(d[0].x, 20, 1e-6);
  EXPECT_NEAR(d[0].w, 200, 1e-6);
  EXPECT_NEAR(d[0].h, 200, 1e-6);
}

TEST(Decoders, SsdPriorsAndDeltas) {
  // One 16x16 cell at stride 16 with one 16-pixel prior; delta moves it by
  // 0.1*16*1 = 1.6 px and scales width by exp(0.2*ln 2 / 0.2) = 2.
  Tensor deltas = Tensor::from_vector<float>({1, 1, 4}, {1, 0, std::log(2.f) / 0.2f, 0});
  Tensor scores = Tensor::from_vector<float>({1, 1, 2}, {0.1f, 0.9f});
  auto dec = make_decoder(
      YAML::Load("ssd: {priors: {strides: [16], min_sizes: [[16]]}, variances: [0.1, 0.2]}"));
  Geometry g;
  g.input_width = g.input_height = 16;
  std::vector<Tensor> outs = {scores, deltas};
  std::vector<std::string> names = {"scores", "boxes"};
  auto d = dec->decode(outs, names, 0, 1, g);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].category_id, 1);
  EXPECT_NEAR(d[0].x + d[0].w / 2, 8 + 1.6, 1e-4);
  EXPECT_NEAR(d[0].w, 32, 1e-3);
  EXPECT_NEAR(d[0].h, 16, 1e-4);
}

TEST(Decoders, YamlErrorsNameKeyPath) {
  auto msg = [](const std::string &y) {
    return qtune::test::input_error_of([&] { make_decoder(YAML::Load(y)); });
  };
  EXPECT_NE(msg("yolo: {}").find("evaluation.accuracy.postprocess.yolo"), std::string::npos);
  EXPECT_NE(msg("yolox: {nms: 0.5}").find("postprocess.yolox.nms"), std::string::npos);
  EXPECT_NE(msg("yolox: {strides: abc}").find("postprocess.yolox.strides"), std::string::npos);
  EXPECT_NE(msg("ssd: {}").find("postprocess.ssd.priors"), std::string::npos);
}

// AIY SSD style: 1-based classes person/cat/dog mapped to COCO 1/17/18, batch of
// two, num_detections per image, boxes normalised to the 256x256 model input of
// an image resized from 640x480.
TEST(Decoders, TfObjectDetectionLabelMapAndBatch) {
  Tensor boxes = Tensor::from_vector<float>(
      {2, 3, 4}, {0.5f, 0.25f, 1,    0.75f, 0, 0, 0.5f, 0.5f, 0, 0, 1, 1,   // image 0
                  0.1f, 0.1f,  0.2f, 0.2f,  0, 0, 0,    0,    0, 0, 0, 0}); // image 1
  Tensor classes = Tensor::from_vector<float>({2, 3}, {2, 3, 4, 1, 0, 0});
  Tensor scores = Tensor::from_vector<float>({2, 3}, {0.9f, 0.8f, 0.7f, 0.6f, 0, 0});
  Tensor num = Tensor::from_vector<float>({2}, {3, 1});
  std::vector<Tensor> outs = {num, boxes, scores, classes};
  std::vector<std::string> names = {"num_detections", "detection_boxes", "detection_scores",
                                    "detection_classes"};
  Geometry g; // 640x480 -> 256x256
  g.sx = 256.0 / 640;
  g.sy = 256.0 / 480;
  g.input_width = g.input_height = 256;
  auto dec = make_decoder(YAML::Load("tf_object_detection: {label_map: {1: 1, 2: 17, 3: 18}}"));
  auto d = dec->decode(outs, names, 0, 5, g);
  ASSERT_EQ(d.size(), 2u); // class 4 is not in the label map: dropped
  EXPECT_EQ(d[0].category_id, 17);
  EXPECT_EQ(d[1].category_id, 18);
  EXPECT_NEAR(d[0].x, 0.25 * 640, 1e-3);
  EXPECT_NEAR(d[0].y, 0.5 * 480, 1e-3);
  EXPECT_NEAR(d[0].w, 0.5 * 640, 1e-3);
  EXPECT_NEAR(d[0].h, 0.5 * 480, 1e-3);
  auto d1 = dec->decode(outs, names, 1, 6, g);
  ASSERT_EQ(d1.size(), 1u); // num_detections = 1
  EXPECT_EQ(d1[0].category_id, 1);
  EXPECT_EQ(d1[0].image_id, 6);
  EXPECT_NEAR(d1[0].x, 64, 1e-3);
  // Default (90-class COCO models): the class is the COCO id.
  auto plain = make_decoder(YAML::Load("tf_object_detection: {}"))->decode(outs, names, 0, 5, g);
  ASSERT_EQ(plain.size(), 3u);
  EXPECT_EQ(plain[2].category_id, 4);
}

TEST(Decoders, TfObjectDetectionLabelMapFileAndErrors) {
  fs::path file = fs::temp_directory_path() / "qtune_label_map_test.yaml";
  {
    std::ofstream out(file);
    out << "{\"1\": 1, \"2\": 17, \"3\": 18}\n"; // JSON is YAML too
  }
  Tensor boxes = Tensor::from_vector<float>({1, 1, 4}, {0, 0, 1, 1});
  Tensor classes = Tensor::from_vector<float>({1, 1}, {3});
  Tensor scores = Tensor::from_vector<float>({1, 1}, {0.5f});
  Tensor num = Tensor::from_vector<float>({1}, {1});
  std::vector<Tensor> outs = {boxes, classes, scores, num};
  std::vector<std::string> names = {"detection_boxes", "detection_classes", "detection_scores",
                                    "num_detections"};
  Geometry g;
  g.input_width = g.input_height = 10;
  auto d = make_decoder(YAML::Load("tf_object_detection: {label_map: " + file.string() + "}"))
               ->decode(outs, names, 0, 1, g);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].category_id, 18);
  auto msg = [](const std::string &y) {
    return qtune::test::input_error_of([&] { make_decoder(YAML::Load(y)); });
  };
  EXPECT_NE(msg("tf_object_detection: {label_map: /nonexistent/map.yaml}").find("not found"),
            std::string::npos);
  EXPECT_NE(msg("tf_object_detection: {label_map: {person: 1}}").find("label_map"),
            std::string::npos);
  EXPECT_NE(msg("tf_object_detection: {label_map: {1: 1}, label_offset: 1}").find("not both"),
            std::string::npos);
}
