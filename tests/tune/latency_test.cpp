// Honest latency (tune/latency.h) with a fake clock: the structure of a
// measurement (warmup, rounds, interleaving) and min-of-medians, and the
// tuner's final FP32-vs-best speedup taken from one interleaved measurement
// even when the baseline latency was cached under another load.
#include <gtest/gtest.h>

#include "fake_backend.h"
#include "tune/latency.h"
#include "tune/tuner.h"

namespace qtune::tune {
namespace {

// Candidate A takes 1 ms, B 2 ms; the first round runs under load (+5 ms each).
TEST(Latency, InterleavedRoundsTakeTheSmallestRoundMedian) {
  double clock = 0;
  int round_runs = 0;
  std::vector<char> order;
  auto make = [&](char name, double ms) {
    return [&, name, ms] {
      order.push_back(name);
      clock += ms + (round_runs++ < 2 * 3 + 2 * 4 ? 5.0 : 0.0); // warmups, then round 0 of both
    };
  };
  LatencyOptions o;
  o.warmup = 3;
  o.iterations = 4;
  o.rounds = 3;
  o.now_ms = [&] { return clock; };
  std::vector<LatencyStats> s = measure_interleaved({make('A', 1), make('B', 2)}, o);
  ASSERT_EQ(s.size(), 2u);
  // Warmups of A then B, then per round 4 of A followed by 4 of B.
  std::string want = "AAABBB";
  for (int r = 0; r < 3; ++r)
    want += "AAAABBBB";
  EXPECT_EQ(std::string(order.begin(), order.end()), want);
  EXPECT_EQ(s[0].runs, 12);
  EXPECT_EQ(s[0].round_medians_ms, (std::vector<double>{6, 1, 1}));
  EXPECT_EQ(s[1].round_medians_ms, (std::vector<double>{7, 2, 2}));
  EXPECT_EQ(s[0].median_ms, 1);
  EXPECT_EQ(s[1].median_ms, 2);
  EXPECT_EQ(s[0].p90_ms, 6); // the loaded round still shows in p90 / mean
  EXPECT_DOUBLE_EQ(s[0].mean_ms, (4 * 6 + 8 * 1) / 12.0);
}

// A backend on a busy machine: every third objective() call takes 4x as long.
// The reported FP32 and best latencies are the smallest of the three
// interleaved rounds at the end, so their ratio is the model's (FP32 22 ms vs
// 10 ms for the all-int8 plan), whatever the cached baseline said.
class BusyBackend : public test::FakeBackend {
public:
  using FakeBackend::FakeBackend;
  double objective(const TunePlan *plan, const std::string &kind) override {
    calls.push_back(plan ? 'Q' : 'F');
    return FakeBackend::objective(plan, kind) * (calls.size() % 3 == 0 ? 4 : 1);
  }
  std::string calls;
};

TEST(Latency, TunerSpeedupComesFromOneInterleavedMeasurement) {
  std::string ws = testing::TempDir() + "qtune_latency_tuner";
  std::filesystem::remove_all(ws);
  Config c;
  c.model.name = "fake";
  c.tuning.strategy = "basic";
  c.tuning.workspace_path = ws;
  for (int run = 0; run < 2; ++run) { // the second run has the baseline cached
    SCOPED_TRACE(run);
    BusyBackend b(std::vector<double>(12, 0.0001));
    TuneResult r = run_tuning(c, b, {});
    ASSERT_TRUE(r.has_best);
    ASSERT_GE(b.calls.size(), 6u);
    EXPECT_EQ(b.calls.substr(b.calls.size() - 6), "FQFQFQ");
    EXPECT_DOUBLE_EQ(r.baseline_objective, 22.0);
    EXPECT_DOUBLE_EQ(r.best.objective, 10.0);
  }
}

} // namespace
} // namespace qtune::tune
