// TF.js graph models: the real CenterNet model (float16 weights). Expected values
// come from the model's architecture and signature (hard-swish constants 3 and
// 1/6, 100 detections, 80 classes, 128x128 maps) and from decoding centernet.bin
// with Python's struct module (an independent float16 decoder).
#include <filesystem>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "frontends/tensorflow/tf_source.h"
#include "qtune/dtype.h"
#include "tf_test_util.h"

using namespace qtune;
using test::input_error;
namespace fs = std::filesystem;

namespace {

std::string centernet_dir() {
  return test::shared_data("models/centernet_tfjs");
}

const tensorflow::NodeDef *find_node(const tensorflow::GraphDef &g, const std::string &name) {
  for (const auto &n : g.node())
    if (n.name() == name)
      return &n;
  return nullptr;
}

const Tensor &var(const tf::ModelSource &src, const std::string &name) {
  auto it = src.variables.find(name);
  if (it == src.variables.end())
    throw std::runtime_error("no weight " + name);
  return it->second;
}

} // namespace

TEST(TfJs, CenterNetTopologyWeightsAndSignature) {
  std::string file = centernet_dir() + "/centernet.json";
  tf::ModelSource src = tf::read_tfjs(file);
  EXPECT_EQ(src.graph.node_size(), 544);
  EXPECT_EQ(src.inputs, std::vector<std::string>{"tower_0/images"});
  EXPECT_EQ(src.outputs,
            (std::vector<std::string>{"tower_0/detections", "tower_0/keypoints", "tower_0/wh"}));

  // Every manifest weight is there with its shape; float16-stored ones are f32.
  auto manifest = nlohmann::json::parse(test::read_bytes(file))["weightsManifest"];
  ASSERT_EQ(manifest.size(), 1u);
  const auto &weights = manifest[0]["weights"];
  ASSERT_EQ(weights.size(), 267u);
  EXPECT_EQ(src.variables.size(), 267u);
  int f16 = 0;
  for (const auto &w : weights) {
    const Tensor &t = var(src, w["name"]);
    EXPECT_EQ(t.shape(), w["shape"].get<Shape>()) << w["name"];
    EXPECT_EQ(t.dtype(), w["dtype"] == "float32" ? DType::f32 : DType::i32) << w["name"];
    f16 += w.contains("quantization");
    const auto *node = find_node(src.graph, w["name"]);
    ASSERT_NE(node, nullptr) << w["name"];
    EXPECT_EQ(node->op(), "Const");
    EXPECT_FALSE(node->attr().contains("value")) << "placeholder value left on " << node->name();
  }
  EXPECT_EQ(f16, 227);

  // Hard-swish x * relu6(x + 3) / 6: its constants, 1/6 rounded to float16.
  const float sixth_f16 = f16_to_f32(f32_to_f16(1.f / 6.f));
  EXPECT_EQ(sixth_f16, 0.1666259765625f);
  int hard_swish = 0;
  for (const auto &[name, t] : src.variables) {
    if (name.find("hard_swish/add/y") != std::string::npos) {
      EXPECT_EQ(t.data<float>()[0], 3.f) << name;
      ++hard_swish;
    }
    if (name.find("hard_swish/mul_1/y") != std::string::npos) {
      EXPECT_EQ(t.data<float>()[0], sixth_f16) << name;
      ++hard_swish;
    }
  }
  EXPECT_GT(hard_swish, 20);
  EXPECT_EQ(var(src, "tower_0/TopKV2/k").get_i64(0), 100);       // detections [1,100,6]
  EXPECT_EQ(var(src, "tower_0/strided_slice_7").get_i64(0), 80); // keypoints [..,80]
  EXPECT_EQ(var(src, "tower_0/BatchGather/concat").to_i64_vector(),
            (std::vector<int64_t>{128 * 128, 4})); // wh [1,128,128,4]

  // A float16 depthwise filter, against Python struct's '<e' decoding of centernet.bin.
  const Tensor &dw = var(src, "CenternetHead/centernet_cls_output/depthwise_weights");
  ASSERT_EQ(dw.shape(), (Shape{3, 3, 128, 1}));
  std::vector<float> v = dw.to_f32_vector();
  EXPECT_EQ(std::vector<float>(v.begin(), v.begin() + 6),
            (std::vector<float>{0.1126708984375f, -0.222412109375f, -0.05767822265625f,
                                -0.3017578125f, -0.14501953125f, -0.041046142578125f}));
  EXPECT_EQ(v.back(), -0.07135009765625f);
  double sum = 0;
  for (float x : v)
    sum += x;
  EXPECT_NEAR(sum, 4.872406780719757, 1e-9);

  // TF.js attr JSON maps onto AttrValue: list(i), s (base64 in JSON), shape, type.
  const tensorflow::NodeDef *conv = nullptr;
  for (const auto &n : src.graph.node())
    if (n.op() == "_FusedConv2D" && n.attr().at("strides").list().i(1) == 2)
      conv = &n;
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(conv->attr().at("data_format").s(), "NHWC");
  EXPECT_EQ(conv->attr().at("strides").list().i_size(), 4);
  const auto *images = find_node(src.graph, "tower_0/images");
  ASSERT_NE(images, nullptr);
  EXPECT_EQ(images->attr().at("dtype").type(), tensorflow::DT_FLOAT);
  EXPECT_EQ(images->attr().at("shape").shape().dim(1).size(), 512);
}

// uint8 / uint16 affine quantization, string weights and a group split over two
// files, in a small model.json written from TF.js's documented format.
TEST(TfJs, QuantizedAndStringWeights) {
  fs::path dir = test::temp_dir("tfjs_quant");
  nlohmann::json model = {
      {"format", "graph-model"},
      {"modelTopology",
       {{"node",
         {{{"name", "q8"}, {"op", "Const"}, {"attr", {{"dtype", {{"type", "DT_FLOAT"}}}}}},
          {{"name", "q16"}, {"op", "Const"}, {"attr", {{"dtype", {{"type", "DT_INT32"}}}}}},
          {{"name", "s"}, {"op", "Const"}, {"attr", {{"dtype", {{"type", "DT_STRING"}}}}}}}}}},
      {"weightsManifest",
       {{{"paths", {"a.bin", "b.bin"}},
         {"weights",
          {{{"name", "q8"},
            {"shape", {3}},
            {"dtype", "float32"},
            {"quantization", {{"dtype", "uint8"}, {"scale", 0.5}, {"min", -1.0}}}},
           {{"name", "q16"},
            {"shape", {2}},
            {"dtype", "int32"},
            {"quantization",
             {{"dtype", "uint16"}, {"scale", 0.25}, {"min", 10.0}, {"original_dtype", "int32"}}}},
           {{"name", "s"}, {"shape", {2}}, {"dtype", "string"}}}}}}}};
  test::write_bytes((dir / "model.json").string(), model.dump());
  // q8: 0, 3, 255 -> -1, 0.5, 126.5. q16 (little-endian 4, 6) -> 11, 11.5, rounded
  // to int32 as TF.js does (Math.round) -> 11, 12. s: "hi", "".
  std::string a = std::string("\x00\x03\xff", 3) + std::string("\x04\x00", 2);
  std::string b = std::string("\x06\x00", 2) + std::string("\x02\x00\x00\x00hi", 6) +
                  std::string("\x00\x00\x00\x00", 4);
  test::write_bytes((dir / "a.bin").string(), a);
  test::write_bytes((dir / "b.bin").string(), b);
  tf::ModelSource src = tf::read_tfjs((dir / "model.json").string());
  EXPECT_EQ(var(src, "q8").to_f32_vector(), (std::vector<float>{-1.f, 0.5f, 126.5f}));
  EXPECT_EQ(var(src, "q16").dtype(), DType::i32);
  EXPECT_EQ(var(src, "q16").to_i64_vector(), (std::vector<int64_t>{11, 12}));
  EXPECT_EQ(var(src, "s").strings, (std::vector<std::string>{"hi", ""}));
  fs::remove_all(dir);
}

TEST(TfJs, BadFilesAreOneLineInputErrors) {
  fs::path dir = test::temp_dir("tfjs_bad");
  std::string json = test::read_bytes(centernet_dir() + "/centernet.json");
  std::string bin = test::read_bytes(centernet_dir() + "/centernet.bin");
  std::string model = (dir / "centernet.json").string(), weights = (dir / "centernet.bin").string();

  test::write_bytes(model, json.substr(0, json.size() / 2)); // truncated JSON
  std::string msg = input_error([&] { tf::read_tfjs(model); });
  EXPECT_NE(msg.find(model), std::string::npos) << msg;
  EXPECT_NE(msg.find("byte offset"), std::string::npos) << msg;

  test::write_bytes(model, json); // no centernet.bin beside it
  msg = input_error([&] { tf::read_tfjs(model); });
  EXPECT_NE(msg.find(weights), std::string::npos) << msg;
  EXPECT_NE(msg.find("not found"), std::string::npos) << msg;

  test::write_bytes(weights, bin.substr(0, bin.size() - 2)); // one float16 short
  msg = input_error([&] { tf::read_tfjs(model); });
  EXPECT_NE(msg.find("weightsManifest[0].weights[266]"), std::string::npos) << msg;
  EXPECT_NE(msg.find(std::to_string(bin.size() - 2) + " bytes"), std::string::npos) << msg;

  test::write_bytes(weights, bin + "xxxx"); // bytes no weight accounts for
  msg = input_error([&] { tf::read_tfjs(model); });
  EXPECT_NE(msg.find(std::to_string(bin.size() + 4) + " bytes but the weights use " +
                     std::to_string(bin.size())),
            std::string::npos)
      << msg;

  test::write_bytes(model, "{\"format\": \"graph-model\", \"modelTopology\": {\"node\": 5}}");
  msg = input_error([&] { tf::read_tfjs(model); });
  EXPECT_NE(msg.find("modelTopology"), std::string::npos) << msg;
  fs::remove_all(dir);
}
