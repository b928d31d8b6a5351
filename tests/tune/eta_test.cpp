// The tuning ETA on a backend whose trials cost a known time: the estimate at
// trial k is compared with the time the run really took after trial k.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <gtest/gtest.h>
#include <regex>

#include "fake_backend.h"
#include "tune/eta.h"
#include "tune/tuner.h"

namespace qtune::tune {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Records when each trial's evaluation ends (the fake objective costs nothing;
// the tuner's final latency re-measurement calls objective again, evaluate not).
class TimedBackend : public test::FakeBackend {
public:
  using FakeBackend::FakeBackend;
  double evaluate(const TunePlan *plan) override {
    double v = FakeBackend::evaluate(plan);
    if (plan)
      ends.push_back(Clock::now());
    return v;
  }
  std::vector<Clock::time_point> ends;
};

Config config(const std::string &name) {
  Config c;
  c.model.name = "fake";
  c.tuning.strategy = "exhaustive";
  c.tuning.workspace_path = (fs::temp_directory_path() / ("qtune_eta_" + name)).string();
  fs::remove_all(c.tuning.workspace_path);
  return c;
}

// The ETA column of each progress line.
std::vector<std::string> etas(std::FILE *f) {
  std::rewind(f);
  std::vector<std::string> out;
  char line[1024];
  std::regex re(R"(\| ETA (\S+))");
  while (std::fgets(line, sizeof line, f)) {
    std::cmatch m;
    if (std::regex_search(line, m, re))
      out.push_back(m[1]);
  }
  return out;
}

double seconds(const std::string &s) {
  return std::stod(s.substr(s.rfind('=') == std::string::npos ? 0 : s.rfind('=') + 1));
}

TEST(Eta, MatchesTheRemainingTimeOfAFullSearch) {
  // 3 ops, exhaustive, timeout set: all 2^3 = 8 plans run, 150 ms each.
  TimedBackend b({0.3, 0.3, 0.3});
  b.sleep_ms = 150;
  Config c = config("full");
  c.tuning.timeout = 3600;
  std::FILE *progress = std::tmpfile();
  TuneOptions o;
  o.progress = progress;
  run_tuning(c, b, o);
  std::vector<std::string> e = etas(progress);
  std::fclose(progress);
  ASSERT_EQ(e.size(), 8u);
  ASSERT_EQ(b.ends.size(), 8u);
  for (size_t k = 0; k < e.size(); ++k) {
    SCOPED_TRACE("trial " + std::to_string(k + 1) + " ETA " + e[k]);
    ASSERT_EQ(e[k].find("<="), std::string::npos); // exact: the whole plan runs
    const double actual = std::chrono::duration<double>(b.ends.back() - b.ends[k]).count();
    EXPECT_NEAR(seconds(e[k]), actual, 0.25 * actual + 0.15);
  }
  EXPECT_EQ(e.back(), "0.0s");
}

TEST(Eta, FirstPassingPlanEndsTheRunSoTheEstimateIsABound) {
  // Default exit policy: op0 alone is harmful, the run ends when it falls back
  // (trial 2), long before the 8 planned; the old ETA promised 7 more trials.
  TimedBackend b({0.3, 0.0, 0.0});
  b.sleep_ms = 20;
  Config c = config("bound");
  std::FILE *progress = std::tmpfile();
  TuneOptions o;
  o.progress = progress;
  TuneResult r = run_tuning(c, b, o);
  std::vector<std::string> e = etas(progress);
  std::fclose(progress);
  ASSERT_TRUE(r.goal_met);
  ASSERT_GE(e.size(), 2u);
  EXPECT_EQ(e.front().rfind("<=", 0), 0u) << e.front();
  EXPECT_EQ(e.back(), "0.0s"); // the trial that met the goal ended the run
}

TEST(Eta, UnknownPlanShowsNoEstimate) {
  EXPECT_EQ(format_eta(estimate_eta({0, 3, 100, {1.0, 1.0}, 3.0, 0})), "-");
  EXPECT_EQ(format_eta(estimate_eta({10, 0, 100, {}, 0.0, 0})), "-");
  // Median cost: one slow first trial (calibration) does not inflate the rest.
  Eta e = estimate_eta({10, 4, 100, {30.0, 2.0, 2.0, 2.0}, 36.0, 600});
  EXPECT_TRUE(e.known);
  EXPECT_FALSE(e.upper_bound);
  EXPECT_DOUBLE_EQ(e.seconds, 2.0 * 6);
  // max_trials caps the plan; timeout caps the time.
  EXPECT_DOUBLE_EQ(estimate_eta({50, 4, 5, {2.0}, 8.0, 600}).seconds, 2.0);
  EXPECT_DOUBLE_EQ(estimate_eta({50, 4, 100, {2.0}, 590.0, 600}).seconds, 10.0);
}

} // namespace
} // namespace qtune::tune
