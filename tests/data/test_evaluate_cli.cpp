// `qtune evaluate` and `qtune dataset` end to end, through the built binary.
// Numbers are checked against pycocotools' (reference/stats.json), not ours.
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "../test_util.h"
#include "data_test_util.h"

using qtune::test::qtune_binary;
using qtune::test::shared_data;
namespace fs = std::filesystem;

namespace {

struct RunResult {
  int code = -1;
  std::string out; // stdout + stderr
};

RunResult run(const std::string &args) {
  std::string cmd =
      "cd " + qtune::test::source_dir() + " && " + qtune_binary() + " " + args + " 2>&1";
  RunResult r;
  FILE *p = popen(cmd.c_str(), "r");
  if (!p)
    return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0)
    r.out.append(buf.data(), n);
  int st = pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

nlohmann::json reference_stats(const std::string &key) {
  std::ifstream in(shared_data("reference/stats.json"));
  return nlohmann::json::parse(in).at(key);
}

nlohmann::json parse_json_output(const RunResult &r) {
  size_t p = r.out.find('{');
  EXPECT_NE(p, std::string::npos) << r.out;
  return nlohmann::json::parse(r.out.substr(p == std::string::npos ? 0 : p));
}

std::string tiny_json() {
  return shared_data("coco/val2017_tiny/annotations/instances_val2017.json");
}
std::string tiny_images() {
  return shared_data("coco/val2017_tiny/val2017");
}

} // namespace

TEST(EvaluateCli, ScoresReferenceDetectionsLikePycocotools) {
  for (auto [file, key] : {std::pair{"yolox_nano_val2017_tiny", "yolox_nano_val2017_tiny_bbox"},
                           std::pair{"centernet_val2017_tiny", "centernet_val2017_tiny_bbox"}}) {
    RunResult r =
        run("evaluate --annotations " + tiny_json() + " --detections " +
            shared_data(std::string("reference/") + file + ".detections.json") + " --json");
    ASSERT_EQ(r.code, 0) << r.out;
    nlohmann::json s = parse_json_output(r).at("stats"), ref = reference_stats(key);
    ASSERT_EQ(s.size(), 12u);
    for (int i = 0; i < 12; ++i)
      EXPECT_NEAR(s[i].get<double>(), ref[i].get<double>(), 1e-4) << i;
  }
}

TEST(EvaluateCli, DatasetConvertAndInfo) {
  fs::path dir = qtune::test::scratch_dir("convert");
  std::string rec = (dir / "tiny.record").string();
  RunResult r = run("dataset convert --from coco --annotations " + tiny_json() + " --images " +
                    tiny_images() + " --to tfrecord " + rec);
  ASSERT_EQ(r.code, 0) << r.out;
  r = run("dataset info --json " + rec);
  ASSERT_EQ(r.code, 0) << r.out;
  nlohmann::json j = parse_json_output(r);
  std::ifstream in(tiny_json());
  nlohmann::json gt = nlohmann::json::parse(in);
  EXPECT_EQ(j.at("images").get<size_t>(), gt.at("images").size());
  EXPECT_EQ(j.at("objects").get<size_t>(), gt.at("annotations").size());
  // A corrupt byte in the middle: info fails naming the file and a record.
  std::string bytes;
  {
    std::ifstream f(rec, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(f), {});
  }
  bytes[bytes.size() / 2] ^= 0x20;
  std::ofstream(rec, std::ios::binary | std::ios::trunc) << bytes;
  r = run("dataset info " + rec);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("record "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CRC"), std::string::npos) << r.out;
  fs::remove_all(dir);
}

// Needs the runtime (executor + ONNX frontend): YOLOX-Nano FP32 on val2017_tiny,
// from the raw JSON and from a TFRecord of the same images.
TEST(EvaluateCli, YoloxNanoEndToEndRawAndRecord) {
  const double ref_ap = reference_stats("yolox_nano_val2017_tiny_bbox")[0].get<double>();
  RunResult raw = run("evaluate --config examples/coco/yolox_nano_eval.yaml --json");
  ASSERT_EQ(raw.code, 0) << raw.out;
  nlohmann::json jr = parse_json_output(raw);
  double ap_raw = jr.at("stats")[0].get<double>();
  std::printf("YOLOX-Nano val2017_tiny AP %.6f (reference %.6f), %.1f images/s\n", ap_raw, ref_ap,
              jr.at("images_per_second").get<double>());
  EXPECT_NEAR(ap_raw, ref_ap, 0.005);

  fs::path dir = qtune::test::scratch_dir("e2e");
  std::string rec = (dir / "tiny.record").string();
  ASSERT_EQ(
      run("dataset convert --annotations " + tiny_json() + " --images " + tiny_images() + " " + rec)
          .code,
      0);
  RunResult from_rec =
      run("evaluate --config examples/coco/yolox_nano_eval.yaml --record " + rec + " --json");
  ASSERT_EQ(from_rec.code, 0) << from_rec.out;
  double ap_rec = parse_json_output(from_rec).at("stats")[0].get<double>();
  EXPECT_NEAR(ap_rec, ap_raw, 1e-4);
  fs::remove_all(dir);
}

// A missing image stops conversion with its file name (no runtime needed); with a
// model, `evaluate --skip-bad-images` skips and counts it instead.
TEST(EvaluateCli, MissingImageFailsOrIsSkipped) {
  fs::path dir = qtune::test::scratch_dir("missing");
  for (const auto &e : fs::directory_iterator(tiny_images()))
    if (e.path().filename().string() != "000000184324.jpg")
      fs::copy_file(e.path(), dir / e.path().filename());
  RunResult r = run("dataset convert --annotations " + tiny_json() + " --images " + dir.string() +
                    " " + (dir / "out.record").string());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("000000184324.jpg"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir / "out.record")); // nothing half-written

  std::string base = "evaluate --config examples/coco/yolox_nano_eval.yaml --annotations " +
                     tiny_json() + " --images " + dir.string() + " --limit 8";
  r = run(base + " --skip-bad-images --json");
  ASSERT_EQ(r.code, 0) << r.out; // needs the runtime
  nlohmann::json j = parse_json_output(r);
  EXPECT_EQ(j.at("skipped_images").get<int>(), 1);
  EXPECT_EQ(j.at("images").get<int>(), 7);
  r = run(base);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("000000184324.jpg"), std::string::npos) << r.out;
  fs::remove_all(dir);
}

TEST(EvaluateCli, CategoryIdsRestrictLikePycocotoolsCatIds) {
  std::ifstream in(shared_data("reference/aiy_ssd_stats.json"));
  nlohmann::json ref = nlohmann::json::parse(in).at("aiy_ssd_val2017_241_bbox_cats_1_17_18");
  RunResult r =
      run("evaluate --annotations " +
          shared_data("coco/val2017_241/annotations/instances_val2017.json") + " --detections " +
          shared_data("reference/aiy_ssd_person_cat_dog_val2017_241.detections.json") +
          " --category-ids 1,17,18 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  nlohmann::json s = parse_json_output(r).at("stats");
  ASSERT_EQ(s.size(), 12u);
  for (int i = 0; i < 12; ++i)
    EXPECT_NEAR(s[i].get<double>(), ref[i].get<double>(), 1e-6) << i;
}
