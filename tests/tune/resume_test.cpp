// History and resume: a tuning process killed with SIGKILL in the middle of the
// search, then run again, re-evaluates no finished trial and loses no line.
#include <csignal>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "fake_backend.h"
#include "tune/tuner.h"

namespace qtune::tune {
namespace {

namespace fs = std::filesystem;

std::string read_all(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Keys of the complete trial lines in a history file.
std::vector<std::string> trial_keys(const std::string &text) {
  std::vector<std::string> keys;
  std::stringstream ss(text);
  std::string line;
  while (std::getline(ss, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.value("event", "") == "trial")
      keys.push_back(j["key"]);
  }
  return keys;
}

Config exhaustive_config(const std::string &ws) {
  Config c;
  c.model.name = "fake";
  c.tuning.strategy = "exhaustive";
  c.tuning.timeout = 3600; // search everything: 2^6 plans
  c.tuning.workspace_path = ws;
  return c;
}

TEST(Resume, KillDashNineThenResumeLosesNothingAndRepeatsNothing) {
  std::string ws = (fs::temp_directory_path() / "qtune_tune_test_kill9").string();
  fs::remove_all(ws);
  std::vector<double> damage(6, 0.001);
  std::string history = (fs::path(ws) / "history.jsonl").string();

  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) { // the tuning process: slow trials so the kill lands mid-search
    test::FakeBackend b(damage);
    b.sleep_ms = 40;
    try {
      run_tuning(exhaustive_config(ws), b, {});
    } catch (...) {
    }
    ::_exit(0);
  }
  // Wait for several finished trials, then kill without warning.
  for (int i = 0; i < 400 && trial_keys(read_all(history)).size() < 8; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the tuning process finished before it was killed";

  std::string before = read_all(history);
  std::vector<std::string> done = trial_keys(before);
  ASSERT_GE(done.size(), 8u);
  ASSERT_LT(done.size(), 64u);

  // Run again (resume: false: an unfinished run is picked up anyway).
  test::FakeBackend b(damage);
  TuneResult r = run_tuning(exhaustive_config(ws), b, {});
  std::set<std::string> finished(done.begin(), done.end());
  for (const auto &k : b.evaluated)
    EXPECT_EQ(finished.count(k), 0u) << "re-evaluated " << k;
  EXPECT_EQ(r.trials, 64);
  EXPECT_EQ(r.resumed_trials, static_cast<int64_t>(done.size()));
  EXPECT_EQ(b.evaluated.size() + done.size(), 64u);

  std::string after = read_all(history);
  EXPECT_EQ(after.substr(0, before.size()), before) << "history was rewritten";
  EXPECT_EQ(trial_keys(after).size(), 64u);
}

TEST(Resume, FinishedRunStartsFreshUnlessResumeIsTrue) {
  std::string ws = (fs::temp_directory_path() / "qtune_tune_test_resume").string();
  fs::remove_all(ws);
  std::vector<double> damage(3, 0.001);
  test::FakeBackend first(damage);
  run_tuning(exhaustive_config(ws), first, {});
  EXPECT_EQ(first.evaluated.size(), 8u);

  test::FakeBackend again(damage);
  run_tuning(exhaustive_config(ws), again, {});
  EXPECT_EQ(again.evaluated.size(), 8u); // finished run, resume: false -> fresh search

  Config c = exhaustive_config(ws);
  c.tuning.resume = true;
  test::FakeBackend resumed(damage);
  TuneResult r = run_tuning(c, resumed, {});
  EXPECT_TRUE(resumed.evaluated.empty());
  EXPECT_EQ(r.resumed_trials, 8);
  EXPECT_EQ(trial_keys(read_all(r.history)).size(), 16u); // nothing rewritten or duplicated
}

TEST(Resume, PartialLastLineIsSkippedAndNextLineStartsClean) {
  std::string ws = (fs::temp_directory_path() / "qtune_tune_test_partial").string();
  fs::remove_all(ws);
  fs::create_directories(ws);
  std::ofstream(fs::path(ws) / "history.jsonl") << "{\"event\":\"trial\",\"key\":\"tru";
  test::FakeBackend b(std::vector<double>(3, 0.001));
  TuneResult r = run_tuning(exhaustive_config(ws), b, {});
  EXPECT_EQ(trial_keys(read_all(r.history)).size(), 8u);
}

} // namespace
} // namespace qtune::tune
