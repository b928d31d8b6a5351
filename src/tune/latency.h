#pragma once
// Latency that means something on a busy machine. One measurement is
// `rounds` rounds of `iterations` timed runs after `warmup` untimed ones;
// the latency is the smallest of the rounds' medians (a round another
// process disturbed has a high median and loses; noise only ever adds time),
// p90 / min / mean are over all samples. Several candidates (the FP32 model
// and an INT8 plan) are measured interleaved, round by round, so a load
// change hits both alike and their ratio stays honest.
#include <functional>
#include <vector>

namespace qtune::tune {

struct LatencyStats {
  double median_ms = 0; // min over rounds of the round median
  double p90_ms = 0, min_ms = 0, mean_ms = 0;
  int runs = 0; // timed runs, all rounds
  std::vector<double> round_medians_ms;
};

struct LatencyOptions {
  int warmup = 5;
  int iterations = 20; // per round
  int rounds = 3;
  // The clock, in ms (tests pass a fake one); steady_clock when empty.
  std::function<double()> now_ms;
};

LatencyStats measure_latency(const std::function<void()> &run, const LatencyOptions &o);

// Round r times every candidate in turn (after each one's warmup).
std::vector<LatencyStats> measure_interleaved(const std::vector<std::function<void()>> &runs,
                                              const LatencyOptions &o);

} // namespace qtune::tune
