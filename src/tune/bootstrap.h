#pragma once
// Paired bootstrap of the accuracy loss: the same resampled sample sets (drawn
// with replacement, seeded by tuning.random_seed) score both the FP32 baseline
// and the candidate, so the interval reflects how much the loss depends on
// which images happened to be in the evaluation set, not the spread of either
// score alone. Loss is in the criterion's units: relative ((b - c) / |b|) or
// absolute (b - c), sign flipped for lower-is-better metrics.
#include <cstdint>
#include <string>
#include <vector>

#include "metrics/sample_results.h"

namespace qtune::tune {

struct LossInterval {
  bool valid = false;       // false: no per-sample results (e.g. a user eval_func)
  double loss = 0;          // point estimate on the whole set
  double low = 0, high = 0; // percentile interval of the resampled losses
  double confidence = 0.9;  // two-sided level of [low, high]
  int resamples = 0;
  size_t samples = 0; // evaluation set size
  double width() const { return high - low; }
};

struct LossUnits {
  bool relative = true;
  bool higher_is_better = true;
  double loss(double baseline, double candidate) const;
};

class PairedBootstrap {
public:
  static constexpr int kDefaultResamples = 200;
  PairedBootstrap(metrics::SampleResults baseline, LossUnits units, uint64_t seed,
                  double confidence, int resamples = kDefaultResamples);
  // Throws Error when the candidate's samples are not the baseline's.
  LossInterval interval(const metrics::SampleResults &candidate) const;
  size_t samples() const { return baseline_.size(); }

private:
  std::vector<double> resampled_values(const metrics::SampleResults &r) const;

  metrics::SampleResults baseline_;
  LossUnits units_;
  double confidence_;
  std::vector<std::vector<uint32_t>> draws_; // counts per sample, one vector per resample
  std::vector<double> baseline_values_;      // the baseline's metric on each resample
  double baseline_value_ = 0;
};

// "loss 0.8% (90% CI -0.4% .. 2.1%)", or "loss 0.0031 (...)" for absolute units.
std::string format_loss(const LossInterval &i, bool relative);

// Samples needed for an interval of width `target`, from the observed width at
// n samples (widths scale as 1/sqrt(n)).
size_t samples_needed(const LossInterval &i, double target);

} // namespace qtune::tune
