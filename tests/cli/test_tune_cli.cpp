// `qtune tune` keeps the calibration statistics of the YAML's dataloader in the
// workspace: a second run in the same workspace reads them instead of
// calibrating again, and an unreadable statistics file is ignored, not fatal.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <string>

#include "../test_util.h"

namespace fs = std::filesystem;
using qtune::test::qtune_binary;
using qtune::test::source_dir;

namespace {

struct TuneRun {
  int rc = 0;
  std::string err;
};

TuneRun tune(const fs::path &ws) {
  fs::path errfile = ws.string() + ".err";
  std::string cmd = "cd " + source_dir() + " && " + qtune_binary() +
                    " tune --config examples/fashion_mnist/fashion_mnist.yaml --workspace " +
                    ws.string() + " --json >/dev/null 2>" + errfile.string();
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
