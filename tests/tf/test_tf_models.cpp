// Real TensorFlow models through load_model (what `qtune` does): the small
// SavedModel / checkpoint goldens, CenterNet (TF.js) and the AIY SSD (frozen
// OD-API graph with while loops) against TensorFlow.js's outputs.
#include <cmath>
#include <gtest/gtest.h>

#include "data/image_decode.h"
#include "data/transforms.h"
#include "frontends/model_loader.h"
#include "tf_run_util.h"

namespace qtune {
namespace {

using test::shared_data;

Tensor f32_file(const std::string &path, Shape shape) {
  std::string bytes = test::read_bytes(path);
  Tensor t(DType::f32, std::move(shape));
  EXPECT_EQ(bytes.size(), t.nbytes()) << path;
  std::memcpy(t.raw(), bytes.data(), std::min(bytes.size(), t.nbytes()));
  return t;
}

// TensorFlow Serving's half_plus_two: y = 0.5 x + 2 (serving_default: x -> y).
TEST(TfModels, HalfPlusTwoSavedModel) {
  std::string dir = shared_data("tf/small/half_plus_two_savedmodel/00000123");
  EXPECT_EQ(model_kind(dir), "tensorflow-savedmodel");
  Graph g = load_model(dir);
  ASSERT_EQ(g.inputs.size(), 1u);
  EXPECT_EQ(g.inputs[0].name, "x");
  ASSERT_EQ(g.outputs.size(), 1u);
  EXPECT_EQ(g.outputs[0].name, "y");
  auto out = test::run_graph(g, {{"x", Tensor::from_vector<float>({4}, {0, 1, -3, 10.5f})}});
  EXPECT_EQ(out[0].to_f32_vector(), (std::vector<float>{2, 2.5f, 0.5f, 7.25f}));
}

// tf2onnx's regression model saved three ways gives the same predictions, and
// they are W x + b with the checkpoint's W and b.
TEST(TfModels, RegressionCheckpointFrozenSavedModelAgree) {
  std::string root = shared_data("tf/small/regression_ckpt_frozen_savedmodel/");
  LoadOptions ckpt_opts;
  ckpt_opts.inputs = {"X"};
  ckpt_opts.outputs = {"pred"};
  EXPECT_EQ(model_kind(root + "checkpoint"), "tensorflow-checkpoint");
  EXPECT_EQ(model_kind(root + "checkpoint/model"), "tensorflow-checkpoint");
  Graph forms[] = {load_model(root + "checkpoint/model", ckpt_opts),
                   load_model(root + "graphdef/frozen.pb"), load_model(root + "saved_model"),
                   load_model(root + "checkpoint", ckpt_opts)};
  auto vars = tf::read_checkpoint(root + "checkpoint/model").variables;
  float w = vars.at("W").get_f64(0), b = vars.at("b").get_f64(0);
  Tensor x = Tensor::scalar_f32(3.5f);
  std::vector<float> preds;
  for (auto &g : forms) {
    ASSERT_EQ(g.inputs.size(), 1u);
    auto out = test::run_graph(g, {{g.inputs[0].name, x}});
    preds.push_back(out[0].to_f32_vector().at(0));
  }
  for (float p : preds)
    EXPECT_EQ(p, preds[0]);
  EXPECT_NEAR(preds[0], w * 3.5f + b, 1e-6);
  EXPECT_NE(w, 0.f);

  // Without model.outputs, the training checkpoint's sinks minus the gradient
  // and saver scopes: the loss, which reads both placeholders.
  Graph loss = load_model(root + "checkpoint");
  ASSERT_EQ(loss.outputs.size(), 1u);
  EXPECT_EQ(loss.outputs[0].name, "truediv");
  EXPECT_EQ(loss.inputs.size(), 2u);
}

// CenterNet MobileNetV3 (TF.js graph model, _FusedConv2D / fused depthwise,
// TopK, FloorDiv/FloorMod, ResizeBilinear) on dog.jpg: [1,100,6] detections
// x1,y1,x2,y2 (512-pixel input coordinates), score, class 0..79; the best is
// the dog (COCO class index 16) in the left half of the picture, scores sorted.
TEST(TfModels, CenterNetTfjsFindsTheDog) {
  std::string json = shared_data("models/centernet_tfjs/centernet.json");
  EXPECT_EQ(model_kind(json), "tensorflow-tfjs");
  LoadOptions o;
  o.outputs = {"tower_0/detections"};
  Graph g = load_model(json, o);
  ASSERT_EQ(g.inputs.size(), 1u);
  data::Frame f =
      data::frame_from_image(data::load_image_file(shared_data("models/yolox_nano/dog.jpg")));
  f = data::resize_frame(f, 512, 512, data::Interp::bilinear);
  Tensor x = data::frame_to_tensor(f).reshaped({1, 512, 512, 3});
  ASSERT_EQ(x.dtype(), DType::f32);
  auto out = test::run_optimized(g, {{g.inputs[0].name, x}});
  ASSERT_EQ(out[0].shape(), (Shape{1, 100, 6}));
  const float *d = out[0].data<float>();
  for (int i = 1; i < 100; ++i)
    EXPECT_GE(d[(i - 1) * 6 + 4], d[i * 6 + 4]) << "scores not sorted at " << i;
  bool dog = false;
  for (int i = 0; i < 3; ++i) {
    const float *r = d + i * 6;
    if (r[5] == 16 && r[4] > 0.4f && (r[0] + r[2]) / 2 < 256 && (r[1] + r[3]) / 2 > 200)
      dog = true;
  }
  EXPECT_TRUE(dog) << "top: class " << d[5] << " score " << d[4] << " box " << d[0] << "," << d[1]
                   << "," << d[2] << "," << d[3];
}

// The AIY SSD (a real OD-API SSD with its weights: preprocessing, FusedBatchNorm
// / Relu6 MobileNet, box predictor, while-loop post-processing with NMS) on the
// reference input: the four outputs match TensorFlow.js 4.22's.
TEST(TfModels, AiySsdMatchesTensorFlowJs) {
  std::string pb = shared_data(
      "tf/od_api_weights/aiy_ssd_mobilenet_v1_256_person_cat_dog/frozen_inference_graph.pb");
  LoadOptions o;
  o.inputs = {"image_tensor"};
  o.outputs = {"num_detections", "detection_boxes", "detection_scores", "detection_classes"};
  Graph g = load_model(pb, o);
  std::string bytes = test::read_bytes(shared_data("reference/aiy_ssd_dog.input.u8"));
  Tensor x(DType::u8, {1, 256, 256, 3});
  ASSERT_EQ(bytes.size(), x.nbytes());
  std::memcpy(x.raw(), bytes.data(), bytes.size());
  auto out = test::run_graph(g, {{"image_tensor", x}});
  std::string ref = shared_data("reference/aiy_ssd_dog.");
  Tensor num = f32_file(ref + "num_detections.f32", {1});
  Tensor boxes = f32_file(ref + "detection_boxes.f32", {1, 100, 4});
  Tensor scores = f32_file(ref + "detection_scores.f32", {1, 100});
  Tensor classes = f32_file(ref + "detection_classes.f32", {1, 100});
  ASSERT_EQ(out[0].numel(), 1);
  EXPECT_EQ(out[0].get_f64(0), num.get_f64(0));
  ASSERT_EQ(out[1].shape(), boxes.shape());
  ASSERT_EQ(out[2].shape(), scores.shape());
  ASSERT_EQ(out[3].shape(), classes.shape());
  auto s = out[2].to_f32_vector(), b = out[1].to_f32_vector(), c = out[3].to_f32_vector();
  int mismatched_classes = 0;
  for (int i = 0; i < 100; ++i) {
    EXPECT_NEAR(s[i], scores.data<float>()[i], 1e-3) << "score " << i;
    // Boxes of near-equal scores may swap places: compare where the score
    // order is unambiguous.
    bool clear = (i == 0 || scores.data<float>()[i - 1] - scores.data<float>()[i] > 1e-4) &&
                 (i == 99 || scores.data<float>()[i] - scores.data<float>()[i + 1] > 1e-4);
    if (!clear)
      continue;
    mismatched_classes += c[i] != classes.data<float>()[i];
    for (int k = 0; k < 4; ++k)
      EXPECT_NEAR(b[i * 4 + k], boxes.data<float>()[i * 4 + k], 1e-3) << "box " << i;
  }
  EXPECT_EQ(mismatched_classes, 0);
  EXPECT_EQ(c[0], 3.f); // the dog
}

} // namespace
} // namespace qtune
