// Strategies and the exit policy against a backend whose answer is known.
#include <filesystem>
#include <gtest/gtest.h>

#include "fake_backend.h"
#include "tune/tuner.h"

namespace qtune::tune {
namespace {

namespace fs = std::filesystem;

// 12 ops; op3 and op8 are the harmful ones (the rest cost 0.0005 each).
std::vector<double> damage12() {
  std::vector<double> d(12, 0.0005);
  d[3] = 0.02;
  d[8] = 0.012;
  return d;
}

Config make_config(const std::string &strategy, const std::string &ws) {
  Config c;
  c.model.name = "fake";
  c.tuning.strategy = strategy;
  c.tuning.workspace_path = ws;
  return c;
}

std::string fresh_dir(const std::string &name) {
  std::string d = (fs::temp_directory_path() / ("qtune_tune_test_" + name)).string();
  fs::remove_all(d);
  return d;
}

TEST(Strategy, EveryStrategyReachesTheGoalAndFallsBackTheHarmfulOps) {
  for (const char *s : {"basic", "sensitivity", "mse", "random", "exhaustive"}) {
    SCOPED_TRACE(s);
    test::FakeBackend b(damage12());
    Config c = make_config(s, fresh_dir(s));
    if (std::string(s) == "random" || std::string(s) == "exhaustive") {
      c.tuning.timeout = 3600; // search the whole budget for the fastest passing plan
      c.tuning.max_trials = std::string(s) == "exhaustive" ? 200 : 400;
    }
    TuneResult r = run_tuning(c, b, {});
    ASSERT_TRUE(r.has_best);
    EXPECT_TRUE(r.goal_met);
    EXPECT_GE(r.best.accuracy, 0.80 * 0.99);
    EXPECT_NE(r.best.plan.ops.at("op3"), Precision::int8);
    EXPECT_TRUE(fs::exists(r.output));
    EXPECT_TRUE(fs::exists(r.deploy));
    if (std::string(s) != "random") {
      // The optimum: only op3 and op8 at fp32.
      EXPECT_EQ(r.best.plan.count(Precision::fp32), 2) << r.best.plan.key();
    }
  }
}

TEST(Strategy, SensitivityNeedsFarFewerEvaluationsThanBasic) {
  test::FakeBackend basic_b(damage12()), sens_b(damage12());
  TuneResult basic = run_tuning(make_config("basic", fresh_dir("cmp_basic")), basic_b, {});
  TuneResult sens = run_tuning(make_config("sensitivity", fresh_dir("cmp_sens")), sens_b, {});
  ASSERT_TRUE(basic.goal_met && sens.goal_met);
  // basic: 1 model-wise + 12 one-by-one + 1 accumulated (op3 alone was already
  // tried one-by-one); sensitivity: 1 + 2.
  EXPECT_EQ(basic.trials, 14);
  EXPECT_EQ(sens.trials, 3);
  EXPECT_EQ(sens.full_evaluations, 4); // baseline + 3 trials
  EXPECT_EQ(sens.best.plan.ops_at(Precision::fp32), (std::vector<std::string>{"op3", "op8"}));
}

TEST(Strategy, SensitivityUndoesAFallbackThatDoesNotHelpAndReranks) {
  // op5 looks most damaging to the cheap measure but does not move accuracy.
  class Misleading : public test::FakeBackend {
  public:
    using FakeBackend::FakeBackend;
    std::map<std::string, double> op_damage(const TunePlan &plan) override {
      auto d = FakeBackend::op_damage(plan);
      if (d.count("op5"))
        d["op5"] = 1.0;
      return d;
    }
  };
  std::vector<double> d(8, 0.0);
  d[1] = 0.03;
  Misleading b(d);
  TuneResult r = run_tuning(make_config("sensitivity", fresh_dir("mislead")), b, {});
  ASSERT_TRUE(r.goal_met);
  EXPECT_EQ(r.best.plan.ops_at(Precision::fp32), std::vector<std::string>{"op1"});
  EXPECT_EQ(r.trials, 3); // all-int8, op5 (undone), op1
}

TEST(Strategy, BasicTriesEveryModelWiseChoiceFirst) {
  test::FakeBackend b(damage12());
  b.algorithms = {"minmax", "kl"};
  Config c = make_config("basic", fresh_dir("modelwise"));
  c.quantization.model_wise.weight.granularity = {"per_channel", "per_tensor"};
  TuneResult r = run_tuning(c, b, {});
  ASSERT_GE(b.evaluated.size(), 4u);
  for (size_t i = 0; i < 4; ++i)
    EXPECT_EQ(r.history_trials[i].plan.count(Precision::int8), 12); // model-wise, all int8
  EXPECT_EQ(r.best.plan.quant.activation_algorithm, "kl");          // the better choice is kept
}

TEST(Strategy, TimeoutZeroStopsAtFirstPassingPlan) {
  std::vector<double> d(6, 0.001); // all-int8 already passes
  test::FakeBackend b(d);
  TuneResult r = run_tuning(make_config("basic", fresh_dir("first")), b, {});
  EXPECT_TRUE(r.goal_met);
  EXPECT_EQ(r.trials, 1);
}

TEST(Strategy, MaxTrialsBoundsTheSearchAndFailureIsReported) {
  std::vector<double> d(10, 0.01); // needs most ops at fp32
  test::FakeBackend b(d);
  Config c = make_config("basic", fresh_dir("maxtrials"));
  c.tuning.max_trials = 5;
  TuneResult r = run_tuning(c, b, {});
  EXPECT_EQ(r.trials, 5);
  EXPECT_FALSE(r.goal_met);
  EXPECT_TRUE(r.has_best); // still saved: the most accurate plan seen
  EXPECT_TRUE(fs::exists(r.output));
}

TEST(Strategy, TimeoutPositiveKeepsSearchingAndPicksFastestPassing) {
  std::vector<double> d = {0.001, 0.001, 0.001, 0.001};
  test::FakeBackend b(d);
  Config c = make_config("exhaustive", fresh_dir("keepbest"));
  c.tuning.timeout = 3600;
  TuneResult r = run_tuning(c, b, {});
  EXPECT_EQ(r.trials, 16);                          // every subset of 4 ops
  EXPECT_EQ(r.best.plan.count(Precision::int8), 4); // fastest that passes
}

TEST(Strategy, AbsoluteCriterionAndLowerIsBetter) {
  // A loss-like metric: lower is better; quantization raises it.
  std::vector<double> d(4, -0.05); // each int8 op adds 0.05 to the "loss"
  test::FakeBackend b(d, 1.0);
  Config c = make_config("sensitivity", fresh_dir("lower"));
  c.tuning.relative = false;
  c.tuning.criterion = 0.12;
  c.tuning.higher_is_better = false;
  TuneResult r = run_tuning(c, b, {});
  EXPECT_TRUE(r.goal_met);
  EXPECT_LE(r.best.accuracy, 1.12 + 1e-9);
  EXPECT_EQ(r.best.plan.count(Precision::int8), 2);
}

TEST(Strategy, PerformanceOnlyQuantizesWithoutEvaluating) {
  test::FakeBackend b(damage12());
  Config c = make_config("basic", fresh_dir("perfonly"));
  c.tuning.performance_only = true;
  TuneResult r = run_tuning(c, b, {});
  EXPECT_TRUE(b.evaluated.empty());
  EXPECT_EQ(b.baseline_evaluations, 0);
  EXPECT_EQ(r.best.plan.count(Precision::int8), 12);
  EXPECT_TRUE(fs::exists(r.output));
}

TEST(Strategy, OpWiseConstraintKeepsAnOpAtFp32AndBf16IsUsedWhenAllowed) {
  test::FakeBackend b(damage12());
  b.bf16 = true;
  Config c = make_config("sensitivity", fresh_dir("opwise"));
  c.quantization.op_wise["op0"].activation.dtype = {"fp32"};
  TuneResult r = run_tuning(c, b, {});
  EXPECT_TRUE(r.goal_met);
  EXPECT_EQ(r.best.plan.ops.at("op0"), Precision::fp32);
  EXPECT_EQ(r.best.plan.ops.at("op3"), Precision::bf16);
}

TEST(Strategy, BaselineIsCachedInTheWorkspace) {
  std::string ws = fresh_dir("baseline");
  test::FakeBackend b1(damage12()), b2(damage12());
  run_tuning(make_config("sensitivity", ws), b1, {});
  TuneResult r2 = run_tuning(make_config("sensitivity", ws), b2, {});
  EXPECT_EQ(b1.baseline_evaluations, 1);
  EXPECT_EQ(b2.baseline_evaluations, 0);
  EXPECT_DOUBLE_EQ(r2.baseline_accuracy, 0.80);
}

TEST(Strategy, SameSeedSameResultDifferentSeedDifferentSearch) {
  auto run = [](uint64_t seed, const std::string &dir) {
    test::FakeBackend b(damage12());
    Config c = make_config("random", fresh_dir(dir));
    c.tuning.random_seed = seed;
    c.tuning.timeout = 3600;
    c.tuning.max_trials = 25;
    TuneResult r = run_tuning(c, b, {});
    return std::make_pair(b.evaluated, r.best.plan.key());
  };
  auto a = run(7, "seed_a"), b = run(7, "seed_b"), other = run(8, "seed_c");
  EXPECT_EQ(a.first, b.first);
  EXPECT_EQ(a.second, b.second);
  EXPECT_NE(a.first, other.first);
}

} // namespace
} // namespace qtune::tune
