// Quantizing imported TensorFlow graphs as ONNX ones: op_wise names are TF node
// names (quant/op_names.h), calibration and QDQ insertion on the imported graph,
// int8 lowering, and a QDQ file that reloads to the same results.
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>

#include "checkpoint_writer.h"
#include "data/image_decode.h"
#include "data/transforms.h"
#include "frontends/model_loader.h"
#include "frontends/onnx/onnx_import.h"
#include "quant/calibrate.h"
#include "quant/inference_graph.h"
#include "quant/op_names.h"
#include "quant/quantize_graph.h"
#include "tf_run_util.h"
#include "tune/config.h"
#include "tune/model_backend.h"

namespace qtune {
namespace {

namespace fs = std::filesystem;
using test::shared_data;

const char *kAiy =
    "tf/od_api_weights/aiy_ssd_mobilenet_v1_256_person_cat_dog/frozen_inference_graph.pb";

LoadOptions od_api_options() {
  LoadOptions o;
  o.inputs = {"image_tensor"};
  o.outputs = {"num_detections", "detection_boxes", "detection_scores", "detection_classes"};
  return o;
}

const Graph &aiy_graph() {
  static const Graph g = *tune::load_model_file(shared_data(kAiy), od_api_options());
  return g;
}

std::string conv_scope(int k) {
  return "FeatureExtractor/MobilenetV1/MobilenetV1/Conv2d_" + std::to_string(k);
}

// The TF names of one conv layer (its conv, folded batch norm and Relu6) all
// mean the one imported Conv, not the NHWC Transpose that took the conv's name.
TEST(TfOpNames, ConvBatchNormAndRelu6NamesMeanTheConv) {
  quant::OpNameResolver r(aiy_graph());
  for (int k : {0, 3}) {
    const std::string s = conv_scope(k) + (k ? "_pointwise" : "");
    quant::OpNameMatch conv = r.match(s + "/convolution"); // this graph's Conv2D names
    ASSERT_EQ(conv.nodes.size(), 1u) << s;
    // The import names the Conv after the TF node ("exact") or `<TF name>/Conv_<k>`.
    EXPECT_TRUE(conv.rule == "exact" || conv.rule == "imported from") << conv.rule;
    const Node *n = nullptr;
    for (const auto &node : aiy_graph().nodes)
      if (node.name == conv.nodes[0])
        n = &node;
    ASSERT_NE(n, nullptr);
    EXPECT_EQ(n->op_type, "Conv");
    EXPECT_EQ(quant::imported_origin(*n), s + "/convolution");
    quant::OpNameMatch relu6 = r.match(s + "/Relu6");
    EXPECT_EQ(relu6.nodes, conv.nodes);
    EXPECT_EQ(relu6.rule, "value");
    quant::OpNameMatch bn = r.match(s + "/BatchNorm/FusedBatchNorm");
    EXPECT_EQ(bn.nodes, conv.nodes);
    EXPECT_EQ(bn.rule, "scope");
  }
  // A depthwise conv is a Conv too, distinct from the pointwise one.
  quant::OpNameMatch dw = r.match(conv_scope(3) + "_depthwise/depthwise");
  ASSERT_EQ(dw.nodes.size(), 1u);
  EXPECT_NE(dw.nodes, r.match(conv_scope(3) + "_pointwise/convolution").nodes);
  // Scope is for folded nodes only: a wrong conv name is no match.
  EXPECT_TRUE(r.match(conv_scope(3) + "_pointwise/Conv2D").nodes.empty());
}

// A name this graph does not have matches nothing and the warning lists the
// intended node; an ONNX-style exact name of an Add matches itself.
TEST(TfOpNames, UnknownNameWarnsWithCloseMatches) {
  quant::Plan plan;
  plan.op_wise[conv_scope(13) + "_pointwise/Conv2D"] = {}; // this graph says 'convolution'
  plan.op_wise["FeatureExtractor/resnet_v1_50/fpn/bottom_up_block5/Conv2D"] = {};
  plan.op_wise[conv_scope(0) + "/convolution"] = {};
  std::vector<std::string> names;
  for (const auto &[k, v] : plan.op_wise)
    names.push_back(k);
  quant::ResolvedNames r = quant::resolve_op_names(aiy_graph(), names, "x.yaml: op_wise");
  EXPECT_EQ(r.nodes.at(conv_scope(0) + "/convolution").size(), 1u);
  ASSERT_LE(r.messages.size(), 3u); // two warnings (and a note if not matched exactly)
  int warnings = 0;
  for (const auto &m : r.messages) {
    if (m.rfind("warning: x.yaml: op_wise: '", 0) != 0)
      continue;
    ++warnings;
    EXPECT_NE(m.find("matches no quantizable node"), std::string::npos) << m;
    if (m.find("Conv2d_13_pointwise/Conv2D'") != std::string::npos)
      EXPECT_NE(m.find("close: " + conv_scope(13) + "_pointwise/convolution"), std::string::npos)
          << m;
  }
  EXPECT_EQ(warnings, 2);
  auto rekeyed = quant::rekey_op_wise(plan.op_wise, r);
  EXPECT_EQ(rekeyed.size(), 1u);
}

// The seed's YAML (lpot_ssd_resnet50_v1_example.md), read as the user has it.
tune::Config seed_config() {
  std::ifstream f(shared_data("../seed/lpot_ssd_resnet50_v1_example.md"));
  std::stringstream ss;
  ss << f.rdbuf();
  std::string md = ss.str();
  auto start = md.find("```yaml\n");
  auto end = md.find("```", start + 8);
  EXPECT_NE(start, std::string::npos);
  return tune::parse_config(md.substr(start + 8, end - start - 8), "seed.yaml");
}

// The plan `qtune quantize` makes of the seed's op_wise entries (fp32 for each).
quant::Plan seed_plan(const tune::Config &c, const Graph &g, std::vector<std::string> &messages) {
  quant::Plan plan;
  std::vector<std::string> names;
  for (const auto &[name, o] : c.quantization.op_wise) {
    EXPECT_EQ(o.activation.dtype, std::vector<std::string>{"fp32"});
    plan.op_wise[name].precision = quant::Precision::fp32;
    names.push_back(name);
  }
  quant::ResolvedNames r = quant::resolve_op_names(g, names, "seed.yaml: quantization.op_wise");
  messages = r.messages;
  plan.op_wise = quant::rekey_op_wise(plan.op_wise, r);
  return plan;
}

// dog.jpg at its own size as a uint8 [1,H,W,3] image_tensor.
Tensor dog_image() {
  data::Frame f =
      data::frame_from_image(data::load_image_file(shared_data("models/yolox_nano/dog.jpg")));
  return data::frame_to_tensor(f, DType::u8);
}

int count_op(const Graph &g, const std::string &op) {
  int n = 0;
  for (const auto &node : g.nodes)
    n += node.op_type == op;
  return n;
}

struct QuantizedRun {
  quant::QuantizeReport report;
  Graph qdq, lowered;
  std::vector<Tensor> fp32_out, int8_out;
};

QuantizedRun quantize_and_run(const Graph &fp32, const quant::Plan &plan, const Tensor &image) {
  QuantizedRun r;
  auto g = std::make_shared<const Graph>(fp32);
  quant::Calibrator cal(g, {.threads = 2});
  r.fp32_out = cal.add({{"image_tensor", image}});
  r.qdq = quant::quantize_graph(fp32, cal.take(), plan, &r.report);
  r.lowered = r.qdq;
  quant::prepare_for_inference(r.lowered);
  r.int8_out = test::run_graph(r.lowered, {{"image_tensor", image}});
  return r;
}

void expect_detection_outputs(const std::vector<Tensor> &out, int64_t max_det) {
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].shape(), (Shape{1}));
  EXPECT_EQ(out[1].shape(), (Shape{1, max_det, 4}));
  EXPECT_EQ(out[2].shape(), (Shape{1, max_det}));
  EXPECT_EQ(out[3].shape(), (Shape{1, max_det}));
  for (const auto &t : out)
    EXPECT_EQ(t.dtype(), DType::f32);
  EXPECT_GE(out[0].get_f64(0), 0);
  EXPECT_LE(out[0].get_f64(0), max_det);
}

// Was node `name` of the fp32 graph quantized? (its QDQ form reads a
// DequantizeLinear on input 0)
bool reads_dequantized(const Graph &qdq, const std::string &name) {
  auto producers = qdq.producers();
  for (const auto &n : qdq.nodes) {
    if (n.name != name)
      continue;
    auto p = producers.find(n.inputs[0]);
    return p != producers.end() && qdq.nodes[p->second].op_type == "DequantizeLinear";
  }
  ADD_FAILURE() << name << " not in the quantized graph";
  return false;
}

// One OD-API checkpoint (real meta + index, synthesized weights) through
// calibration (one real image), the seed's op_wise names and the int8 lowering.
void quantize_od_api(const std::string &model, int64_t max_det, size_t expected_seed_matches) {
  std::string real = shared_data("tf/od_api/" + model + "/model.ckpt");
  fs::path dir = test::temp_dir("quant_" + model);
  std::string prefix = test::synthesize_checkpoint(real, dir.string());
  Graph fp32 = *tune::load_model_file(prefix, od_api_options());
  tune::Config c = seed_config();
  std::vector<std::string> messages;
  quant::Plan plan = seed_plan(c, fp32, messages);
  EXPECT_EQ(plan.op_wise.size(), expected_seed_matches);
  // Each seed name is either matched (exactly, or with a note saying which
  // imported node it reached) or warned about with close names.
  ASSERT_EQ(messages.size(), expected_seed_matches ? messages.size() : 2u);
  for (const auto &m : messages) {
    const bool warning = m.rfind("warning: ", 0) == 0;
    EXPECT_EQ(warning, expected_seed_matches == 0) << m;
    EXPECT_TRUE(warning ? m.find("close: FeatureExtractor/MobilenetV1") != std::string::npos ||
                              m.find("close: BoxPredictor") != std::string::npos
                        : m.find("(imported from)") != std::string::npos)
        << m;
  }
  QuantizedRun r = quantize_and_run(fp32, plan, dog_image());
  fs::remove_all(dir);
  EXPECT_GT(r.report.int8, 20) << r.report.summary();
  EXPECT_GT(count_op(r.lowered, "QConv"), 20);
  for (const auto &[node, o] : plan.op_wise) {
    EXPECT_EQ(r.report.nodes.at(node), quant::Precision::fp32) << node;
    EXPECT_FALSE(reads_dequantized(r.qdq, node)) << node;
  }
  expect_detection_outputs(r.fp32_out, max_det);
  expect_detection_outputs(r.int8_out, max_det);
}

// ssd_resnet50_v1 FPN 640x640: both seed names are its nodes and stay fp32.
TEST(TfQuantize, SsdResnet50FpnCheckpointWithSeedOpWise) {
  quantize_od_api("ssd_resnet50_v1_fpn_640x640_tf1.15_11classes", 100, 2);
}

// ssd_mobilenet_v1: the seed names (resnet50 nodes) match nothing here, which
// is said, with close names; quantization goes on.
TEST(TfQuantize, SsdMobilenetV1CheckpointSeedNamesWarn) {
  quantize_od_api("ssd_mobilenet_v1_coco_2018_01_28", 100, 0);
}

// What `qtune quantize` writes and `qtune run` reads back: the same int8 graph,
// bit for bit the same outputs. `max_diff` is the largest output difference.
void expect_file_round_trip(const QuantizedRun &r, const Tensor &x, const std::string &input,
                            const std::string &file) {
  fs::path path = test::temp_dir("roundtrip") / file;
  save_onnx(r.qdq, path.string());
  Graph loaded = load_model(path.string()); // the loader `qtune run` uses
  quant::prepare_for_inference(loaded);
  EXPECT_EQ(count_op(loaded, "QConv"), count_op(r.lowered, "QConv"));
  auto again = test::run_graph(loaded, {{input, x}});
  auto mem = test::run_graph(r.lowered, {{input, x}});
  ASSERT_EQ(again.size(), mem.size());
  for (size_t i = 0; i < mem.size(); ++i) {
    ASSERT_EQ(again[i].shape(), mem[i].shape()) << i;
    EXPECT_EQ(std::memcmp(again[i].raw(), mem[i].raw(), mem[i].nbytes()), 0) << "output " << i;
  }
  fs::remove(path);
}

// A model without control flow is written as standard ONNX QDQ: default-domain
// ops only (no qtune or tf kernels), what ONNX Runtime runs.
void expect_standard_onnx(const Graph &qdq) {
  for (const auto &n : qdq.nodes)
    EXPECT_TRUE(n.domain.empty() || n.domain == "ai.onnx") << n.describe();
  EXPECT_GT(count_op(qdq, "QuantizeLinear"), 0);
}

// The AIY SSD (real weights, tf:While post-processing): the file keeps the
// tf-domain loop ops and reloads to the same detections.
TEST(TfQuantize, AiySsdFileRoundTrip) {
  const Graph &g = aiy_graph();
  data::Frame f =
      data::frame_from_image(data::load_image_file(shared_data("models/yolox_nano/dog.jpg")));
  f = data::resize_frame(f, 256, 256, data::Interp::bilinear);
  Tensor x = data::frame_to_tensor(f, DType::u8);
  QuantizedRun r = quantize_and_run(g, {}, x);
  EXPECT_GE(count_op(r.lowered, "QConv"), 40);
  EXPECT_GT(count_op(r.qdq, "While"), 0);
  expect_detection_outputs(r.int8_out, 100);
  EXPECT_EQ(r.int8_out[3].get_f64(0), 3.0); // still finds the dog first
  expect_file_round_trip(r, x, "image_tensor", "aiy_int8.onnx");
}

// frozen_cnn_cifar32 (no control flow): standard ONNX QDQ, same on reload.
TEST(TfQuantize, CifarCnnIsStandardOnnxQdq) {
  LoadOptions o;
  std::shared_ptr<Graph> g =
      tune::load_model_file(shared_data("tf/small/frozen_cnn_cifar32/frozen_graph.pb"), o);
  const std::string in = g->inputs[0].name;
  Tensor x = test::random_tensor({1, 32, 32, 3}, 5);
  quant::Calibrator cal(g, {.threads = 2});
  for (int s = 0; s < 4; ++s)
    cal.add({{in, test::random_tensor({1, 32, 32, 3}, 20 + s)}});
  QuantizedRun r;
  r.qdq = quant::quantize_graph(*g, cal.take(), {}, &r.report);
  r.lowered = r.qdq;
  quant::prepare_for_inference(r.lowered);
  EXPECT_GE(count_op(r.lowered, "QConv"), 2);
  expect_standard_onnx(r.qdq);
  expect_file_round_trip(r, x, in, "cifar_int8.onnx");
}

} // namespace
} // namespace qtune
