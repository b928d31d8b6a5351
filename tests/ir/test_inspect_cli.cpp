// `qtune inspect` end to end through the built binary.
#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include "../test_util.h"

namespace {

// Runs a command, returns (exit code, stdout+stderr).
std::pair<int, std::string> run_command(const std::string &cmd) {
  std::string out;
  FILE *p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p)
    return {-1, ""};
  std::array<char, 4096> buf;
  while (size_t n = fread(buf.data(), 1, buf.size(), p))
    out.append(buf.data(), n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(InspectCli, YoloxJson) {
  ASSERT_TRUE(std::filesystem::exists(qtune::test::qtune_binary())) << "build the qtune target";
  auto [code, out] = run_command(qtune::test::qtune_binary() + " inspect --json " +
                                 qtune::test::shared_data("models/yolox_nano/yolox_nano.onnx"));
  ASSERT_EQ(code, 0) << out;
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["opset"], 11);
  EXPECT_EQ(j["inputs"][0]["name"], "images");
  EXPECT_EQ(j["inputs"][0]["shape"], nlohmann::json({1, 3, 416, 416}));
  EXPECT_EQ(j["outputs"][0]["shape"], nlohmann::json({1, 3549, 85}));
  // YOLOX-Nano: 0.91 M parameters, 1.08 GFLOPs at 416x416 as its authors report.
  EXPECT_NEAR(j["parameters"].get<double>(), 0.91e6, 0.02e6);
  EXPECT_NEAR(j["flops"].get<double>(), 1.08e9, 0.06e9);
  EXPECT_EQ(j["ops"]["Conv"], 113);
}

TEST(InspectCli, BadFileIsOneLineError) {
  auto dir = std::filesystem::temp_directory_path() / ("qtune_inspect_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "bad.onnx") << "this is not a model";
  auto [code, out] =
      run_command(qtune::test::qtune_binary() + " inspect " + (dir / "bad.onnx").string());
  EXPECT_EQ(code, 1);
  EXPECT_EQ(out.rfind("qtune: error: ", 0), 0u) << out;
  EXPECT_NE(out.find("bad.onnx"), std::string::npos) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  std::filesystem::remove_all(dir);
}

} // namespace
