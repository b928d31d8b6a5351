// Parallel trials (issue 15): a backend that evaluates several independent
// plans at once (rank groups under mpirun) must leave every strategy's search
// as one-plan-at-a-time evaluation leaves it: the same trials in the same
// order with the same results, the same best plan. Plans evaluated ahead that
// a one-process run would not have evaluated are counted (TuneResult and the
// history's end record), never recorded as trials.
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "fake_backend.h"
#include "tune/tuner.h"

namespace qtune::tune {
namespace {

namespace fs = std::filesystem;

// Evaluates up to `width` plans per batch (one after another: what matters
// here is which plans the session hands over together, and in what order).
class BatchFake : public test::FakeBackend {
public:
  explicit BatchFake(int width) : FakeBackend(damage()), width_(width) {}
  int parallel_trials() const override { return width_; }
  std::vector<PlanResult> evaluate_batch(const std::vector<TunePlan> &plans,
                                         const std::string &kind) override {
    largest_batch = std::max(largest_batch, plans.size());
    return TuningBackend::evaluate_batch(plans, kind);
  }
  size_t largest_batch = 0;

  // 12 ops; op3 and op8 are the harmful ones.
  static std::vector<double> damage() {
    std::vector<double> d(12, 0.0005);
    d[3] = 0.02;
    d[8] = 0.012;
    return d;
  }

private:
  int width_;
};

struct Run {
  TuneResult result;
  std::vector<nlohmann::json> trials; // history trial lines without timings
  nlohmann::json end;                 // the history's end record
  size_t largest_batch = 0;
};

Run tune(const std::string &strategy, int width, int64_t max_trials, double timeout) {
  const fs::path ws =
      fs::temp_directory_path() / ("qtune_parallel_" + strategy + "_" + std::to_string(width) +
                                   "_" + std::to_string(::getpid()));
  fs::remove_all(ws);
  Config c;
  c.model.name = "fake";
  c.tuning.strategy = strategy;
  c.tuning.workspace_path = ws.string();
  c.tuning.max_trials = max_trials;
  c.tuning.timeout = timeout;
  c.tuning.random_seed = 11;
  c.tuning.objective = "modelsize";
  BatchFake backend(width);
  Run r;
  r.result = run_tuning(c, backend, {});
  r.largest_batch = backend.largest_batch;
  std::ifstream f(ws / "history.jsonl");
  for (std::string line; std::getline(f, line);) {
    nlohmann::json j = nlohmann::json::parse(line);
    if (j.at("event") == "end")
      r.end = j;
    if (j.at("event") != "trial")
      continue;
    j.erase("seconds");
    j.erase("run");
    r.trials.push_back(j);
  }
  fs::remove_all(ws);
  return r;
}

void expect_same_search(const std::string &strategy, int64_t max_trials, double timeout) {
  SCOPED_TRACE(strategy);
  const Run one = tune(strategy, 1, max_trials, timeout);
  ASSERT_GE(one.trials.size(), 3u);
  for (int width : {2, 3}) {
    SCOPED_TRACE(width);
    const Run par = tune(strategy, width, max_trials, timeout);
    EXPECT_EQ(par.trials, one.trials);
    EXPECT_EQ(par.result.best.plan.key(), one.result.best.plan.key());
    EXPECT_EQ(par.result.goal_met, one.result.goal_met);
    EXPECT_EQ(par.result.trials, one.result.trials);
    EXPECT_GT(par.largest_batch, 1u) << "no plans were evaluated together";
    EXPECT_LE(par.largest_batch, static_cast<size_t>(width));
    // Every extra evaluation is one evaluated ahead and not needed.
    EXPECT_EQ(par.result.full_evaluations - par.result.unused_ahead, one.result.full_evaluations);
    EXPECT_EQ(par.end.at("trial_groups").get<int>(), width);
    EXPECT_EQ(par.end.at("unused_ahead").get<int64_t>(), par.result.unused_ahead);
  }
  EXPECT_FALSE(one.end.contains("unused_ahead"));
}

TEST(ParallelTrials, BasicSearchesAsOneAtATime) {
  expect_same_search("basic", 100, 0);
}

TEST(ParallelTrials, SensitivitySearchesAsOneAtATime) {
  expect_same_search("sensitivity", 100, 0);
}

TEST(ParallelTrials, MseSearchesAsOneAtATime) {
  expect_same_search("mse", 100, 0);
}

TEST(ParallelTrials, RandomDrawsTheSamePlansAndStopsAtMaxTrials) {
  expect_same_search("random", 25, 3600);
}

TEST(ParallelTrials, ExhaustiveSearchesAsOneAtATimeAndStopsAtMaxTrials) {
  expect_same_search("exhaustive", 40, 3600);
}

} // namespace
} // namespace qtune::tune
