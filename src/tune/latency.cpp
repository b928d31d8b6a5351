#include "tune/latency.h"

#include <algorithm>
#include <chrono>

namespace qtune::tune {

namespace {

double steady_ms() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

LatencyStats summarize(const std::vector<std::vector<double>> &rounds) {
  LatencyStats s;
  std::vector<double> all;
  for (const std::vector<double> &r : rounds) {
    s.round_medians_ms.push_back(median(r));
    all.insert(all.end(), r.begin(), r.end());
  }
  std::sort(all.begin(), all.end());
  s.median_ms = *std::min_element(s.round_medians_ms.begin(), s.round_medians_ms.end());
  s.p90_ms = all[std::min(all.size() - 1, static_cast<size_t>(0.9 * all.size()))];
  s.min_ms = all.front();
  double sum = 0;
  for (double v : all)
    sum += v;
  s.mean_ms = sum / all.size();
  s.runs = static_cast<int>(all.size());
  return s;
}

} // namespace

std::vector<LatencyStats> measure_interleaved(const std::vector<std::function<void()>> &runs,
                                              const LatencyOptions &o) {
  const auto now = o.now_ms ? o.now_ms : steady_ms;
  const int iterations = std::max(1, o.iterations), rounds = std::max(1, o.rounds);
  for (const auto &run : runs)
    for (int i = 0; i < o.warmup; ++i)
      run();
  // samples[candidate][round][iteration]
  std::vector<std::vector<std::vector<double>>> samples(runs.size());
  for (int r = 0; r < rounds; ++r) {
    for (size_t c = 0; c < runs.size(); ++c) {
      std::vector<double> ms;
      for (int i = 0; i < iterations; ++i) {
        double t0 = now();
        runs[c]();
        ms.push_back(now() - t0);
      }
      samples[c].push_back(std::move(ms));
    }
  }
  std::vector<LatencyStats> out;
  for (const auto &s : samples)
    out.push_back(summarize(s));
  return out;
}

LatencyStats measure_latency(const std::function<void()> &run, const LatencyOptions &o) {
  return measure_interleaved({run}, o).front();
}

} // namespace qtune::tune
