// `qtune tune --threads N` reaches the inference: the tuning backend reports the
// OpenMP team its executors really ran with (Executor::threads_used), and that
// number, not the echoed argument, is in the JSON result, the summary and the
// history's end event. Both 1 and 2 are asked for, so a flag that is dropped
// (all cores) fails one of them on any machine.
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <string>
#include <unistd.h>

#include "cli_util.h"

namespace fs = std::filesystem;
using qtune::test::run_qtune;

namespace {

// The "end" event of the last run in the workspace history.
nlohmann::json last_end_event(const fs::path &ws) {
  std::ifstream f(ws / "history.jsonl");
  nlohmann::json end;
  for (std::string line; std::getline(f, line);) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.value("event", "") == "end")
      end = j;
  }
  return end;
}

void expect_threads(int n) {
  const fs::path ws =
      fs::temp_directory_path() /
      ("qtune_tune_threads_" + std::to_string(::getpid()) + "_" + std::to_string(n));
  fs::remove_all(ws);
  const std::string common = "tune --config examples/fashion_mnist/fashion_mnist.yaml --threads " +
                             std::to_string(n) + " --report-samples 0 --workspace " + ws.string();
  auto r = run_qtune(common + " --json", false);
  ASSERT_EQ(r.status, 0) << r.out;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("threads_requested"), n);
  EXPECT_EQ(j.at("threads"), n) << "OpenMP team of the evaluation and latency runs";
  EXPECT_EQ(last_end_event(ws).value("threads", 0), n);

  // The text summary says it too.
  auto text = run_qtune(common);
  ASSERT_EQ(text.status, 0) << text.out;
  EXPECT_NE(text.out.find("inference threads: " + std::to_string(n) + " "), std::string::npos)
      << text.out;
  fs::remove_all(ws);
}

} // namespace

TEST(TuneThreads, OneThreadReachesTheRuns) {
  expect_threads(1);
}

TEST(TuneThreads, TwoThreadsReachTheRuns) {
  expect_threads(2);
}

TEST(TuneThreads, NegativeIsRefused) {
  auto bad = run_qtune("tune --config examples/fashion_mnist/fashion_mnist.yaml --threads -2");
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.out.find("--threads"), std::string::npos) << bad.out;
}
