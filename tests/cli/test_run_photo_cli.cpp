// `qtune run MODEL IMAGE --config YAML [--draw]`: YOLOX-Nano on the shared dog
// photo, detections checked against ONNX Runtime's output for the same image.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <unistd.h>

#include "../test_util.h"
#include "data/coco_names.h"
#include "data/decoders.h"
#include "data/image_decode.h"

namespace fs = std::filesystem;
using qtune::test::qtune_binary;
using qtune::test::shared_data;

namespace {

std::string run_capture(const std::string &cmd, int *rc) {
  std::string out;
  FILE *p = popen(cmd.c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0)
    out.append(buf, n);
  *rc = pclose(p);
  return out;
}

std::string dog_command(const std::string &extra) {
  return qtune_binary() + " run " + shared_data("models/yolox_nano/yolox_nano.onnx") + " " +
         shared_data("models/yolox_nano/dog.jpg") + " --config " +
         qtune::test::source_dir("examples/coco/yolox_nano_eval.yaml") + " --threads 2 " + extra;
}

// Best objectness x class score per class name in ONNX Runtime's YOLOX output
// for the dog photo ([1, 3549, 85]: cx, cy, w, h, objectness, 80 class scores).
std::map<std::string, double> ort_best_scores() {
  std::vector<float> v =
      qtune::test::read_f32_file(shared_data("reference/yolox_nano_dog.output.f32"));
  EXPECT_EQ(v.size(), 3549u * 85u);
  std::map<std::string, double> best;
  for (size_t a = 0; a * 85 < v.size(); ++a)
    for (int c = 0; c < 80; ++c) {
      double s = double(v[a * 85 + 4]) * v[a * 85 + 5 + c];
      std::string name = qtune::data::coco_category_name(qtune::data::coco80_to_coco91(c));
      best[name] = std::max(best[name], s);
    }
  return best;
}

} // namespace

TEST(RunPhotoCli, YoloxDogMatchesOnnxRuntimeAndDraws) {
  fs::path drawn =
      fs::temp_directory_path() / ("qtune_run_photo_dog_" + std::to_string(::getpid()) + ".jpg");
  fs::remove(drawn);
  int rc = 0;
  std::string text = run_capture(dog_command("--json --draw " + drawn.string()), &rc);
  ASSERT_EQ(rc, 0) << text;
  nlohmann::json j = nlohmann::json::parse(text);
  std::map<std::string, double> ours;
  for (const auto &d : j["detections"])
    ours[d["label"]] = std::max(ours[d["label"]], d["score"].get<double>());
  // The must-show, and every class ONNX Runtime scores >= 0.25 on this
  // photo with (nearly) the same score.
  for (const char *name : {"dog", "bicycle", "truck"})
    EXPECT_TRUE(ours.count(name)) << name << " missing from " << text;
  int checked = 0;
  for (const auto &[name, score] : ort_best_scores()) {
    if (score < 0.25)
      continue;
    ++checked;
    ASSERT_TRUE(ours.count(name)) << name << " (ORT " << score << ") missing";
    EXPECT_NEAR(ours[name], score, 0.01) << name;
  }
  EXPECT_GE(checked, 3);
  EXPECT_EQ(ours.size(), static_cast<size_t>(checked)) << text;

  // --draw: a JPEG of the input's size whose pixels differ where boxes are.
  qtune::data::Image in = qtune::data::load_image_file(shared_data("models/yolox_nano/dog.jpg"));
  qtune::data::Image out = qtune::data::load_image_file(drawn.string());
  ASSERT_EQ(out.width, in.width);
  ASSERT_EQ(out.height, in.height);
  ASSERT_EQ(out.channels, 3);
  // Along the dog box's left edge the drawn photo differs strongly from the input.
  const auto &dog = j["detections"][0];
  ASSERT_EQ(dog["label"], "dog");
  const int x = static_cast<int>(std::lround(dog["bbox"][0].get<double>()));
  const int y0 = static_cast<int>(dog["bbox"][1].get<double>());
  const int y1 = y0 + static_cast<int>(dog["bbox"][3].get<double>());
  double diff = 0;
  for (int y = y0 + 20; y < y1 - 20; ++y)
    for (int c = 0; c < 3; ++c) {
      size_t i = (static_cast<size_t>(y) * in.width + x) * 3 + c;
      diff += std::abs(int(out.pixels[i]) - int(in.pixels[i]));
    }
  EXPECT_GT(diff / (3.0 * (y1 - y0 - 40)), 30.0);
  fs::remove(drawn);
}

TEST(RunPhotoCli, PrintsTableWithNames) {
  int rc = 0;
  std::string text = run_capture(dog_command(""), &rc);
  ASSERT_EQ(rc, 0) << text;
  for (const char *name : {"dog ", "bicycle ", "truck "})
    EXPECT_NE(text.find(name), std::string::npos) << text;
}

TEST(RunPhotoCli, DrawWithoutConfigIsOneLineError) {
  int rc = 0;
  std::string cmd = qtune_binary() + " run " + shared_data("models/yolox_nano/yolox_nano.onnx") +
                    " " + shared_data("models/yolox_nano/dog.jpg") + " --draw /tmp/x.jpg 2>&1";
  std::string text = run_capture(cmd, &rc);
  EXPECT_NE(rc, 0);
  EXPECT_NE(text.find("--config"), std::string::npos) << text;
}
