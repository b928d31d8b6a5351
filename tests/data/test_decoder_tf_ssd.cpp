// TF Object Detection API SSD anchors and box coder. Reference: the AIY SSD's own
// frozen graph (TensorFlow's MultipleGridAnchorGenerator subgraph, run by `qtune
// run` up to its anchors tensor) for the anchors, and TensorFlow.js's detections
// for dog.jpg (reference/aiy_ssd_dog.*) for the decode of the raw box predictor.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "../test_util.h"
#include "data/decoders.h"
#include "data/ssd_anchor_generator.h"
#include "data_test_util.h"

using namespace qtune::data;
using qtune::Tensor;
using qtune::test::read_f32_file;
using qtune::test::shared_data;
namespace fs = std::filesystem;

namespace {

// The AIY model's anchor generator, read off its anchors: 5 layers on a 256x256
// input (16, 8, 4, 2, 1 cells), scales 0.2 .. 0.95, the config's 0.3333 ratio.
const char *kAiyAnchors =
    "{num_layers: 5, min_scale: 0.2, max_scale: 0.95, aspect_ratios: [1.0, 2.0, 0.5, 3.0, "
    "0.3333], feature_map_sizes: [[16, 16], [8, 8], [4, 4], [2, 2], [1, 1]]}";

// Runs the AIY graph on the reference dog input, keeping the anchors, the raw box
// encodings (concat) and class predictions (concat_1).
fs::path run_aiy_raw() {
  fs::path dir = qtune::test::scratch_dir("tf_ssd");
  std::string cmd = "cd " + qtune::test::source_dir() + " && " + qtune::test::qtune_binary() +
                    " run " +
                    shared_data("tf/od_api_weights/aiy_ssd_mobilenet_v1_256_person_cat_dog/"
                                "frozen_inference_graph.pb") +
                    " --threads 1 --outputs Postprocessor/Decode/get_center_coordinates_and_sizes/"
                    "transpose,concat,concat_1 --input image_tensor=" +
                    shared_data("reference/aiy_ssd_dog.input.u8") + " --output-dir " +
                    dir.string() + " > /dev/null";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  return dir;
}

} // namespace

TEST(DecoderTfSsd, AnchorsMatchTheGraphsAndDetectionsMatchTensorFlowJs) {
  fs::path dir = run_aiy_raw();
  // Graph anchors: [4, N] rows ymin, xmin, ymax, xmax (normalised).
  std::vector<float> g =
      read_f32_file(dir / "Postprocessor_Decode_get_center_coordinates_and_sizes_transpose.f32");
  auto cfg = read_ssd_anchor_config(YAML::Load(kAiyAnchors), "anchor_generator");
  std::vector<Anchor> a = generate_ssd_anchors(cfg, 256, 256);
  ASSERT_EQ(a.size() * 4, g.size());
  const size_t n = a.size(); // 16*16*3 + (64 + 16 + 4 + 1) * 6 = 1278
  EXPECT_EQ(n, 1278u);
  float worst = 0;
  for (size_t i = 0; i < n; ++i) {
    worst = std::max(worst, std::fabs(a[i].cy - (g[i] + g[2 * n + i]) / 2));
    worst = std::max(worst, std::fabs(a[i].cx - (g[n + i] + g[3 * n + i]) / 2));
    worst = std::max(worst, std::fabs(a[i].h - (g[2 * n + i] - g[i])));
    worst = std::max(worst, std::fabs(a[i].w - (g[3 * n + i] - g[n + i])));
  }
  EXPECT_LT(worst, 1e-5);

  // Decode the raw head; TensorFlow.js's post-processed outputs are the reference.
  std::vector<float> enc = read_f32_file(dir / "concat.f32"),
                     cls = read_f32_file(dir / "concat_1.f32");
  std::vector<Tensor> outs = {Tensor::from_vector<float>({1, int64_t(n), 4}, enc),
                              Tensor::from_vector<float>({1, int64_t(n), 4}, cls)};
  std::vector<std::string> names = {"concat", "concat_1"};
  Geometry geo; // the 256x256 input is the image
  geo.input_width = geo.input_height = geo.orig_width = geo.orig_height = 256;
  auto dec = make_decoder(YAML::Load(std::string("tf_ssd: {anchor_generator: ") + kAiyAnchors +
                                     ", box_coder: {y_scale: 10, x_scale: 10, height_scale: 5, "
                                     "width_scale: 5}, score_threshold: 0.1, nms_iou: 0.6}"));
  auto d = dec->decode(outs, names, 0, 1, geo);
  std::vector<float> rb = read_f32_file(shared_data("reference/aiy_ssd_dog.detection_boxes.f32"));
  std::vector<float> rs = read_f32_file(shared_data("reference/aiy_ssd_dog.detection_scores.f32"));
  std::vector<float> rc = read_f32_file(shared_data("reference/aiy_ssd_dog.detection_classes.f32"));
  int matched = 0;
  for (size_t r = 0; r < 10; ++r) { // the 10 best of TensorFlow.js (dog, cat, persons)
    bool found = false;
    for (const auto &x : d)
      found = found || (x.category_id == int64_t(rc[r]) && std::fabs(x.score - rs[r]) < 1e-4 &&
                        std::fabs(x.y - rb[4 * r] * 256) < 0.05 &&
                        std::fabs(x.x - rb[4 * r + 1] * 256) < 0.05 &&
                        std::fabs(x.y + x.h - rb[4 * r + 2] * 256) < 0.05 &&
                        std::fabs(x.x + x.w - rb[4 * r + 3] * 256) < 0.05);
    EXPECT_TRUE(found) << "TensorFlow.js detection " << r << " (class " << rc[r] << ", score "
                       << rs[r] << ") not decoded";
    matched += found;
  }
  EXPECT_EQ(matched, 10);
  // With the AIY label map, labels 2 and 3 become COCO cat (17) and dog (18).
  auto coco = make_decoder(YAML::Load(std::string("tf_ssd: {anchor_generator: ") + kAiyAnchors +
                                      ", score_threshold: 0.5, label_map: {1: 1, 2: 17, 3: 18}}"))
                  ->decode(outs, names, 0, 1, geo);
  ASSERT_EQ(coco.size(), 2u);
  EXPECT_EQ(coco[0].category_id, 18);
  EXPECT_EQ(coco[1].category_id, 17);
  fs::remove_all(dir);
}

// Hand-computed: one 1x1 layer, aspect ratios 1 and 4 (no interpolated box, no
// reduced lowest layer), scale 0.5 -> boxes 0.5x0.5 and 0.25x1 centred at 0.5.
TEST(DecoderTfSsd, GeneratorFormulaAndErrors) {
  auto c = read_ssd_anchor_config(
      YAML::Load("{num_layers: 1, min_scale: 0.5, max_scale: 0.9, aspect_ratios: [1, 4], "
                 "interpolated_scale_aspect_ratio: 0, reduce_boxes_in_lowest_layer: false, "
                 "feature_map_sizes: [[1, 1]]}"),
      "g");
  auto a = generate_ssd_anchors(c, 100, 200); // non-square: base height 1, width 0.5
  ASSERT_EQ(a.size(), 2u);
  EXPECT_FLOAT_EQ(a[0].cy, 0.5f);
  EXPECT_FLOAT_EQ(a[0].h, 0.5f);
  EXPECT_FLOAT_EQ(a[0].w, 0.25f);
  EXPECT_FLOAT_EQ(a[1].h, 0.25f);
  EXPECT_FLOAT_EQ(a[1].w, 0.5f);
  auto msg = [](const std::string &y) {
    return qtune::test::input_error_of([&] { make_decoder(YAML::Load(y)); });
  };
  EXPECT_NE(msg("tf_ssd: {}").find("postprocess.tf_ssd.anchor_generator"), std::string::npos);
  EXPECT_NE(msg("tf_ssd: {anchor_generator: {num_layers: 2, feature_map_sizes: [[1, 1]]}}")
                .find("anchor_generator.feature_map_sizes"),
            std::string::npos);
  EXPECT_NE(msg("tf_ssd: {anchor_generator: {num_layers: 1, feature_map_sizes: [[1, 1]]}, "
                "box_coder: {y_scale: 0}}")
                .find("postprocess.tf_ssd.box_coder"),
            std::string::npos);
}
