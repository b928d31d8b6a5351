// `qtune tune` on the Fashion-MNIST example: calibration statistics are kept in
// the workspace (a second run reads them, an unreadable file is ignored), and a
// bf16 dtype named in the YAML reaches the bf16 kernels.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <string>
#include <yaml-cpp/yaml.h>

#include "../test_util.h"

namespace fs = std::filesystem;
using qtune::test::qtune_binary;
using qtune::test::source_dir;

namespace {

struct TuneRun {
  int rc = 0;
  std::string err;
};

TuneRun tune(const fs::path &ws,
             const std::string &config = "examples/fashion_mnist/fashion_mnist.yaml",
             const std::string &json_out = "/dev/null") {
  fs::path errfile = ws.string() + ".err";
  std::string cmd = "cd " + source_dir() + " && " + qtune_binary() + " tune --config " + config +
                    " --workspace " + ws.string() + " --json >" + json_out + " 2>" +
                    errfile.string();
  TuneRun r;
  r.rc = std::system(cmd.c_str());
  std::ifstream f(errfile);
  r.err.assign(std::istreambuf_iterator<char>(f), {});
  return r;
}

fs::path stats_file(const fs::path &ws) {
  for (const auto &e : fs::directory_iterator(ws))
    if (e.path().filename().string().rfind("calibration-", 0) == 0)
      return e.path();
  return {};
}

} // namespace

TEST(TuneCli, CalibrationStatisticsAreReusedFromTheWorkspace) {
  fs::path ws = fs::temp_directory_path() / "qtune_tune_cli_stats";
  fs::remove_all(ws);
  TuneRun first = tune(ws);
  ASSERT_EQ(first.rc, 0) << first.err;
  EXPECT_NE(first.err.find("collecting statistics"), std::string::npos) << first.err;
  fs::path stats = stats_file(ws);
  ASSERT_FALSE(stats.empty()) << "no calibration-*.json in " << ws;

  TuneRun second = tune(ws);
  ASSERT_EQ(second.rc, 0) << second.err;
  EXPECT_NE(second.err.find("statistics from " + stats.string()), std::string::npos) << second.err;
  EXPECT_EQ(second.err.find("collecting statistics"), std::string::npos) << second.err;

  std::ofstream(stats, std::ios::trunc) << "{\"tensors\": [1, 2";
  TuneRun third = tune(ws);
  ASSERT_EQ(third.rc, 0) << third.err;
  EXPECT_NE(third.err.find("ignoring"), std::string::npos) << third.err;
  EXPECT_NE(third.err.find("collecting statistics"), std::string::npos) << third.err;
  fs::remove_all(ws);
}

TEST(TuneCli, Bf16NamedInOptypeWiseIsPlannedForTheGemms) {
  fs::path ws = fs::temp_directory_path() / "qtune_tune_cli_bf16";
  fs::remove_all(ws);
  fs::create_directories(ws);
  YAML::Node c = YAML::LoadFile(source_dir("examples/fashion_mnist/fashion_mnist.yaml"));
  c["quantization"]["optype_wise"]["Gemm"]["activation"]["dtype"].push_back("bf16");
  c["quantization"]["optype_wise"]["Gemm"]["weight"]["dtype"].push_back("bf16");
  fs::path config = ws / "bf16.yaml";
  std::ofstream(config) << YAML::Dump(c);
  fs::path json = ws / "result.json";
  TuneRun r = tune(ws / "w", config.string(), json.string());
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = nlohmann::json::parse(std::ifstream(json), nullptr, false);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_TRUE(j["goal_met"].get<bool>());
  EXPECT_EQ(j["best"]["ops_bf16"].get<int>(), 2) << j.dump();
  // The two Convs and the MaxPool between them; the MaxPool and Flatten before
  // the bf16 Gemm have no int8 reader and stay fp32 (the saved model's ops).
  EXPECT_EQ(j["best"]["ops_int8"].get<int>(), 3) << j.dump();
  EXPECT_EQ(j["best"]["not_int8_by_source"], nlohmann::json({{"quantizer", 2}, {"yaml", 2}}))
      << j.dump();
  fs::remove_all(ws);
}
