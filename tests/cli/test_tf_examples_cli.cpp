// The TensorFlow models end to end through the shipped configs and programs,
// against results other tools produced: TensorFlow.js outputs for the AIY SSD
// and pycocotools' AP of TensorFlow.js's detections (AIY SSD on val2017_241
// with categories [1, 17, 18]; CenterNet on val2017_tiny).
// Single-threaded runs: the TF post-processing loops are many tiny kernels, and
// OpenMP on a busy 2-core machine makes them ten times slower.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>
#include <unistd.h>
#include <vector>

#include "../test_util.h"
#include "qtune/qtune.h"

namespace fs = std::filesystem;
using qtune::test::qtune_binary;
using qtune::test::shared_data;

namespace {

const char *kAiyPb =
    "tf/od_api_weights/aiy_ssd_mobilenet_v1_256_person_cat_dog/frozen_inference_graph.pb";
const char *kOdOutputs = "num_detections,detection_boxes,detection_scores,detection_classes";

fs::path scratch(const std::string &name) {
  fs::path p = fs::temp_directory_path() / ("qtune_tf_cli_" + std::to_string(getpid()) + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

// Runs `cmd` from the source tree (the configs' relative paths), returns exit
// code and stdout.
int run(const std::string &cmd, std::string &out) {
  fs::path file = scratch("_out") / "stdout.txt";
  std::string full = "cd " + qtune::test::source_dir() + " && " + cmd + " >" + file.string();
  int rc = std::system(full.c_str());
  std::ifstream f(file);
  out.assign(std::istreambuf_iterator<char>(f), {});
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

double reference_stat(const std::string &file, const std::string &key) {
  std::ifstream in(shared_data(file));
  return nlohmann::json::parse(in).at(key).at(0).get<double>();
}

double evaluate_ap(const std::string &config) {
  std::string out;
  EXPECT_EQ(run(qtune_binary() + " evaluate --config " + config + " --threads 1 --json", out), 0)
      << out;
  return nlohmann::json::parse(out).at("stats").at(0).get<double>();
}

} // namespace

TEST(TfExamplesCli, AiySsdConfigApMatchesTensorFlowJs) {
  double ap = evaluate_ap("examples/tf/aiy_ssd.yaml");
  double ref =
      reference_stat("reference/aiy_ssd_stats.json", "aiy_ssd_val2017_241_bbox_cats_1_17_18");
  std::printf("AIY SSD val2017_241 [1,17,18]: AP %.6f (TensorFlow.js + pycocotools %.6f)\n", ap,
              ref);
  EXPECT_NEAR(ap, ref, 0.005);
}

TEST(TfExamplesCli, CenterNetConfigApMatchesReference) {
  double ap = evaluate_ap("examples/tf/centernet_tfjs.yaml");
  double ref = reference_stat("reference/stats.json", "centernet_val2017_tiny_bbox");
  std::printf("CenterNet val2017_tiny: AP %.6f (TensorFlow.js + pycocotools %.6f)\n", ap, ref);
  EXPECT_NEAR(ap, ref, 0.005);
}

// qtune run: the reference .u8 input gives TensorFlow.js's outputs, and dog.jpg
// (resized by run itself for the fixed 256x256 uint8 input) gives the same bytes.
TEST(TfExamplesCli, RunAiySsdOnRawU8AndPhoto) {
  fs::path raw = scratch("_raw"), photo = scratch("_photo");
  std::string base = qtune_binary() + " run " + shared_data(kAiyPb) + " --outputs " + kOdOutputs +
                     " --threads 1 --input image_tensor=";
  std::string out;
  ASSERT_EQ(
      run(base + shared_data("reference/aiy_ssd_dog.input.u8") + " --output-dir " + raw.string(),
          out),
      0)
      << out;
  ASSERT_EQ(
      run(base + shared_data("models/yolox_nano/dog.jpg") + " --output-dir " + photo.string(), out),
      0)
      << out;
  for (const char *name :
       {"num_detections", "detection_boxes", "detection_scores", "detection_classes"}) {
    std::string file = std::string(name) + ".f32";
    std::vector<float> got = qtune::test::read_f32_file(raw / file),
                       same = qtune::test::read_f32_file(photo / file),
                       ref =
                           qtune::test::read_f32_file(shared_data("reference/aiy_ssd_dog." + file));
    ASSERT_EQ(got.size(), ref.size()) << name;
    EXPECT_EQ(got, same) << name << ": photo and raw input differ";
    double max_diff = 0;
    for (size_t i = 0; i < got.size(); ++i)
      max_diff = std::max(max_diff, std::abs(double(got[i]) - ref[i]));
    EXPECT_LE(max_diff, 1e-3) << name;
  }
}

// The seed's flow: run_tuning.sh -> infer_detections reads the seed's YAML
// (examples/tf_object_detection/ssd_resnet50_v1.yaml) unchanged, supplies
// q_dataloader and eval_func through the C++ API, quantizes and evaluates.
TEST(TfExamplesCli, InferDetectionsRunsTheSeedYamlOnAiySsd) {
  const size_t n = 6;
  fs::path dir = scratch("_seed");
  std::string model = (dir / "aiy_int8.onnx").string();
  std::string out;
  // Through the seed-style wrapper: run_tuning.sh --topology= --input_model= ...
  int rc = run("OMP_NUM_THREADS=1 QTUNE_BUILD=" + std::string(QTUNE_BINARY_DIR) +
                   " bash examples/tf_object_detection/run_tuning.sh --topology=ssd_resnet50_v1"
                   " --input_model=" +
                   shared_data(kAiyPb) + " --dataset_location=" + shared_data("coco/val2017_241") +
                   " --output_model=" + model + " --label_map=1:1,2:17,3:18 --limit=" +
                   std::to_string(n) + " --max_trials=1 --workspace=" + (dir / "ws").string(),
               out);
  ASSERT_TRUE(rc == 0 || rc == 3) << out; // 3: one trial did not meet the 1% goal
  std::smatch m;
  ASSERT_TRUE(std::regex_search(out, m,
                                std::regex("FP32 AP ([0-9.]+) -> INT8 AP ([0-9.]+).*ops "
                                           "int8/bf16/fp32 ([0-9]+)/([0-9]+)/([0-9]+)")))
      << out;
  double fp32 = std::stod(m[1]), int8 = std::stod(m[2]);
  EXPECT_GT(std::stoi(m[3]), 40) << out; // the MobileNet convs went int8

  // FP32 AP: what pycocotools gives TensorFlow.js's detections of those images.
  qtune::CocoDetectionSet first(shared_data("coco/val2017_241"), n);
  std::set<int64_t> ids;
  for (size_t i = 0; i < n; ++i)
    ids.insert(first.image(i).id);
  std::ifstream in(shared_data("reference/aiy_ssd_person_cat_dog_val2017_241.detections.json"));
  std::vector<qtune::Detection> dets;
  for (const auto &d : nlohmann::json::parse(in))
    if (ids.count(d.at("image_id").get<int64_t>())) {
      auto b = d.at("bbox");
      dets.push_back({d.at("image_id").get<int64_t>(), d.at("category_id").get<int64_t>(),
                      b[0].get<double>(), b[1].get<double>(), b[2].get<double>(),
                      b[3].get<double>(), d.at("score").get<double>()});
    }
  std::vector<int64_t> cats = {1, 17, 18};
  double ref = first.evaluate(dets, cats)[0];
  EXPECT_NEAR(fp32, ref, 0.005) << out;
  EXPECT_GT(int8, 0.5 * fp32) << out;
  // The written model loads and runs on the reference input.
  ASSERT_TRUE(fs::exists(model));
  qtune::Model q(model);
  std::ifstream raw(shared_data("reference/aiy_ssd_dog.input.u8"), std::ios::binary);
  qtune::Tensor x(qtune::DType::u8, {1, 256, 256, 3});
  raw.read(static_cast<char *>(x.raw()), static_cast<std::streamsize>(x.nbytes()));
  std::vector<std::string> names = q.output_names();
  std::vector<qtune::Tensor> y = q.run({{"image_tensor", x}});
  ASSERT_EQ(y.size(), 4u);
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == "detection_classes")
      EXPECT_EQ(y[i].get_f64(0), 3.0); // the dog, as in FP32
}
