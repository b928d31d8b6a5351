// GFL / NanoDet decoder: hand-computed boxes from the distribution-focal formula,
// every output layout, and the real NanoDet-m 320 through examples/coco's config
// against ONNX Runtime + pycocotools (reference/nanodet_m_320_*), per image and as AP.
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <yaml-cpp/yaml.h>

#include "../test_util.h"
#include "data/decoders.h"
#include "data/transforms.h"
#include "data_test_util.h"
#include "metrics/coco_eval.h"
#include "qtune/error.h"

using namespace qtune::data;
using qtune::Detection;
using qtune::Tensor;
using qtune::test::shared_data;
namespace fs = std::filesystem;

namespace {

// 16x8 input, one stride-8 level: 2 cells (x = 0, 1), 2 classes, reg_max 3.
// Bins: a one-hot logit of 30 at bin k gives distance k * 8 (to within e^-30);
// all-equal logits give the mean bin 1.5 -> 12 px.
std::vector<float> cell_bins(std::array<int, 4> hot) {
  std::vector<float> b;
  for (int side = 0; side < 4; ++side)
    for (int k = 0; k < 4; ++k)
      b.push_back(hot[side] < 0 ? 0.f : (k == hot[side] ? 30.f : 0.f));
  return b;
}

Geometry input_16x8() {
  Geometry g; // identity: the input is the image
  g.input_width = g.orig_width = 16;
  g.input_height = g.orig_height = 8;
  return g;
}

struct TwoCells {
  std::vector<float> cls = {0.9f, 0.01f,  // cell 0: class 0
                            0.02f, 0.6f}; // cell 1: class 1
  std::vector<float> box;
  TwoCells() {
    box = cell_bins({1, 0, 2, 1});         // cell 0: l 8, t 0, r 16, b 8
    auto b1 = cell_bins({-1, -1, -1, -1}); // cell 1: 12 px each side
    box.insert(box.end(), b1.begin(), b1.end());
  }
};

std::vector<Detection> decode(const std::string &yaml, const std::vector<Tensor> &outs) {
  std::vector<std::string> names(outs.size(), "x");
  return make_decoder(YAML::Load(yaml))->decode(outs, names, 0, 3, input_16x8());
}

} // namespace

TEST(DecoderGfl, DistributionExpectationAndCentres) {
  TwoCells c;
  std::vector<Tensor> outs = {Tensor::from_vector<float>({2, 2}, c.cls),
                              Tensor::from_vector<float>({2, 16}, c.box)};
  auto d = decode("gfl: {strides: [8], reg_max: 3, class_map: none}", outs);
  ASSERT_EQ(d.size(), 2u);
  // Cell 0, centre (8 - 1) / 2 = 3.5: x1 = 3.5 - 8 -> clipped 0, y1 = 3.5, x2 = 19.5 -> 16,
  // y2 = 11.5 -> 8 (clipped to the 16x8 input).
  EXPECT_EQ(d[0].category_id, 0);
  EXPECT_NEAR(d[0].score, 0.9, 1e-6);
  EXPECT_NEAR(d[0].x, 0, 1e-4);
  EXPECT_NEAR(d[0].y, 3.5, 1e-4);
  EXPECT_NEAR(d[0].w, 16, 1e-4);
  EXPECT_NEAR(d[0].h, 4.5, 1e-4);
  // Cell 1, centre (11.5, 3.5), 12 px each side: x 0..16 clipped, y 0..8 clipped.
  EXPECT_EQ(d[1].category_id, 1);
  EXPECT_NEAR(d[1].x, 0, 1e-4);
  EXPECT_NEAR(d[1].w, 16, 1e-4);
  // With a larger input nothing clips: cell 1 spans 11.5 -/+ 12 and 3.5 -/+ 12.
  Geometry big;
  big.input_width = 16; // the grid still has 2x1 cells
  big.input_height = 8;
  big.sx = big.sy = 0.5; // the image is twice the input: boxes double
  big.orig_width = 1000;
  big.orig_height = 1000;
  std::vector<std::string> names = {"a", "b"};
  auto g = make_decoder(YAML::Load("gfl: {strides: [8], reg_max: 3, class_map: none}"))
               ->decode(outs, names, 0, 3, big);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_NEAR(g[1].x, 0, 1e-4);       // 11.5 - 12 < 0 clips at the input edge
  EXPECT_NEAR(g[1].w, 2 * 16, 1e-3);  // x2 = 23.5 clips at 16
  EXPECT_NEAR(g[0].y, 2 * 3.5, 1e-4); // y1 = 3.5 - 0
}

TEST(DecoderGfl, CentreVariantsAndSigmoid) {
  TwoCells c;
  std::vector<float> logits = {std::log(0.9f / 0.1f), -5, -5, std::log(0.6f / 0.4f)};
  std::vector<Tensor> outs = {Tensor::from_vector<float>({1, 2, 2}, logits),
                              Tensor::from_vector<float>({1, 2, 16}, c.box)};
  auto d = decode("gfl: {strides: [8], reg_max: 3, class_map: none, scores: sigmoid, "
                  "center: zero}",
                  outs);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_NEAR(d[0].score, 0.9, 1e-5);
  EXPECT_NEAR(d[1].score, 0.6, 1e-5);
  EXPECT_NEAR(d[0].y, 0, 1e-4); // centre y 0, top distance 0
  auto h = decode("gfl: {strides: [8], reg_max: 3, class_map: none, scores: sigmoid, "
                  "center: half}",
                  outs);
  EXPECT_NEAR(h[0].y, 4, 1e-4);
}

// NanoDet-Plus style export: one [1, cells, classes + 4 * (reg_max + 1)] tensor.
TEST(DecoderGfl, ConcatenatedOutputGivesTheSameBoxes) {
  TwoCells c;
  std::vector<float> cat;
  for (int i = 0; i < 2; ++i) {
    cat.insert(cat.end(), c.cls.begin() + 2 * i, c.cls.begin() + 2 * i + 2);
    cat.insert(cat.end(), c.box.begin() + 16 * i, c.box.begin() + 16 * i + 16);
  }
  auto one = decode("gfl: {strides: [8], reg_max: 3, class_map: none}",
                    {Tensor::from_vector<float>({1, 2, 18}, cat)});
  auto two = decode(
      "gfl: {strides: [8], reg_max: 3, class_map: none}",
      {Tensor::from_vector<float>({2, 16}, c.box), Tensor::from_vector<float>({2, 2}, c.cls)});
  ASSERT_EQ(one.size(), 2u);
  ASSERT_EQ(two.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(one[i].category_id, two[i].category_id);
    EXPECT_NEAR(one[i].x, two[i].x, 1e-5);
    EXPECT_NEAR(one[i].h, two[i].h, 1e-5);
    EXPECT_NEAR(one[i].score, two[i].score, 1e-7);
  }
}

TEST(DecoderGfl, ThresholdNmsAndTopK) {
  // Both cells predict class 0 with the same box: NMS keeps the better one;
  // pre_nms_top_k 1 keeps only the best cell before NMS as well.
  std::vector<float> cls = {0.8f, 0.0f, 0.7f, 0.0f};
  std::vector<float> box = cell_bins({-1, -1, -1, -1}), b1 = cell_bins({-1, -1, -1, -1});
  box.insert(box.end(), b1.begin(), b1.end());
  std::vector<Tensor> outs = {Tensor::from_vector<float>({2, 2}, cls),
                              Tensor::from_vector<float>({2, 16}, box)};
  // Cells 0 and 1 (centres 3.5 and 11.5) both clip to the whole 16x8 input: IoU 1.
  EXPECT_EQ(decode("gfl: {strides: [8], reg_max: 3, class_map: none}", outs).size(), 1u);
  EXPECT_EQ(decode("gfl: {strides: [8], reg_max: 3, class_map: none, nms_iou: 1.0}", outs).size(),
            2u);
  EXPECT_EQ(decode("gfl: {strides: [8], reg_max: 3, class_map: none, nms_iou: 1.0, "
                   "pre_nms_top_k: 1}",
                   outs)
                .size(),
            1u);
  EXPECT_EQ(decode("gfl: {strides: [8], reg_max: 3, class_map: none, score_threshold: 0.75}", outs)
                .size(),
            1u);
}

TEST(DecoderGfl, LocatedErrors) {
  auto msg = [](const std::string &y) {
    return qtune::test::input_error_of([&] { make_decoder(YAML::Load(y)); });
  };
  EXPECT_NE(msg("gfl: {reg_max: 0}").find("postprocess.gfl.reg_max"), std::string::npos);
  EXPECT_NE(msg("gfl: {center: middle}").find("postprocess.gfl.center"), std::string::npos);
  EXPECT_NE(msg("gfl: {scores: softmax}").find("postprocess.gfl.scores"), std::string::npos);
  EXPECT_NE(msg("gfl: {nms_iou: 1.5}").find("postprocess.gfl.nms_iou"), std::string::npos);
  EXPECT_NE(msg("gfl: {strides: []}").find("postprocess.gfl.strides"), std::string::npos);
  EXPECT_NE(msg("gfl: {stride: [8]}").find("postprocess.gfl.stride"), std::string::npos);
  // Outputs that do not fit the strides: the message gives the shapes and the cells.
  std::string e = qtune::test::input_error_of([] {
    decode("gfl: {strides: [8], reg_max: 3}",
           {Tensor::from_vector<float>({3, 2}, {0, 0, 0, 0, 0, 0}),
            Tensor(qtune::DType::f32, {3, 16})});
  });
  EXPECT_NE(e.find("[3,2]"), std::string::npos) << e;
  EXPECT_NE(e.find("2 cells"), std::string::npos) << e;
}

namespace {

nlohmann::json read_json(const std::string &path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

double box_iou(const nlohmann::json &a, const nlohmann::json &b) {
  auto v = [](const nlohmann::json &d, int i) { return d.at("bbox")[i].get<double>(); };
  double iw = std::min(v(a, 0) + v(a, 2), v(b, 0) + v(b, 2)) - std::max(v(a, 0), v(b, 0));
  double ih = std::min(v(a, 1) + v(a, 3), v(b, 1) + v(b, 3)) - std::max(v(a, 1), v(b, 1));
  if (iw <= 0 || ih <= 0)
    return 0;
  return iw * ih / (v(a, 2) * v(a, 3) + v(b, 2) * v(b, 3) - iw * ih);
}

} // namespace

// NanoDet-m 320 FP32 on the first 16 images of val2017_tiny through the shipped
// config: the reference's AP on the same images (its ONNX Runtime detections,
// scored by our pycocotools-exact evaluator) within 0.005, and image by image the
// confident detections of ONNX Runtime found again (same class, IoU > 0.85).
TEST(DecoderGfl, NanoDetM320MatchesOnnxRuntimeReference) {
  const size_t n = 16;
  fs::path dir = qtune::test::scratch_dir("nanodet");
  std::string dets = (dir / "dets.json").string();
  std::string cmd = "cd " + qtune::test::source_dir() + " && " + qtune::test::qtune_binary() +
                    " evaluate --config examples/coco/nanodet_m_320.yaml --limit " +
                    std::to_string(n) + " --threads 1 --json --save-detections " + dets + " > " +
                    (dir / "out.json").string();
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  double ap = read_json((dir / "out.json").string()).at("stats")[0].get<double>();

  auto gt = qtune::metrics::first_images(
      qtune::coco::load_coco(shared_data("coco/val2017_tiny/annotations/instances_val2017.json")),
      n);
  std::set<int64_t> ids;
  for (const auto &img : gt.images)
    ids.insert(img.id);
  nlohmann::json ref = nlohmann::json::array();
  for (const auto &d :
       read_json(shared_data("reference/nanodet_m_320_val2017_tiny.detections.json")))
    if (ids.count(d.at("image_id").get<int64_t>()))
      ref.push_back(d);
  auto ref_results = qtune::metrics::load_results(gt, ref.dump(), "reference");
  double ref_ap =
      qtune::metrics::coco_evaluate(gt, ref_results, qtune::metrics::IouType::bbox).stats[0];
  std::printf("NanoDet-m 320, first %zu images of val2017_tiny: AP %.4f (ONNX Runtime %.4f)\n", n,
              ap, ref_ap);
  EXPECT_NEAR(ap, ref_ap, 0.005);

  std::map<int64_t, std::vector<nlohmann::json>> ours;
  for (const auto &d : read_json(dets))
    ours[d.at("image_id").get<int64_t>()].push_back(d);
  int checked = 0;
  for (const auto &r : ref) {
    if (r.at("score").get<double>() < 0.4)
      continue;
    bool found = false;
    for (const auto &o : ours[r.at("image_id").get<int64_t>()])
      found =
          found || (o.at("category_id") == r.at("category_id") && box_iou(o, r) > 0.85 &&
                    std::fabs(o.at("score").get<double>() - r.at("score").get<double>()) < 0.05);
    EXPECT_TRUE(found) << "reference detection not found: " << r.dump();
    ++checked;
  }
  EXPECT_GE(checked, 10);
  fs::remove_all(dir);
}

// The reference resized with PIL's BOX filter: an input pixel counts fully when its
// centre lies in the output pixel's span (the border pixel at 2.5 goes left), where
// area averaging weighs fractional coverage: 5 -> 2 pixels of 0, 10, 20, 30, 40.
TEST(DecoderGfl, PilBoxResizeIsNotAreaAveraging) {
  Frame f;
  f.width = 5;
  f.height = 1;
  f.channels = 1;
  f.integral = false;
  f.px = {0, 10, 20, 30, 40};
  Frame box = resize_frame(f, 2, 1, Interp::pil_box);
  ASSERT_EQ(box.px.size(), 2u);
  EXPECT_NEAR(box.px[0], 10, 1e-4); // (0 + 10 + 20) / 3
  EXPECT_NEAR(box.px[1], 35, 1e-4); // (30 + 40) / 2
  Frame area = resize_frame(f, 2, 1, Interp::area);
  EXPECT_NEAR(area.px[0], 8, 1e-4);  // (0 + 10 + 0.5 * 20) / 2.5
  EXPECT_NEAR(area.px[1], 32, 1e-4); // (0.5 * 20 + 30 + 40) / 2.5
}
