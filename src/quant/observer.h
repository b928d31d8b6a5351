#pragma once
// Calibration statistics of one tensor and the clipping thresholds derived from
// them. Memory is bounded: min/max plus a fixed 2048-bin histogram of |x|,
// whatever the number of samples.
//
// The histogram is adaptive (one calibration pass instead of two): it covers
// [0, range) where range starts at the first batch's max|x| and doubles whenever
// a later batch exceeds it; each doubling merges neighbouring bin pairs, so the
// result equals a histogram built directly with the final range, except that
// values seen before the last doubling are placed at half resolution.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace qtune::quant {

constexpr int kHistogramBins = 2048;

enum class CalibAlgorithm { minmax, kl, percentile, mse };
const char *calib_algorithm_name(CalibAlgorithm a);
CalibAlgorithm calib_algorithm_from_name(const std::string &s); // throws InputError

struct TensorStats {
  double min = 0, max = 0;         // signed extremes seen
  int64_t count = 0;               // elements observed
  double range = 0;                // histogram covers |x| in [0, range)
  std::vector<double> histogram;   // kHistogramBins counts of |x| (empty before first add)
  std::vector<double> channel_sum; // per-channel sums (axis 1) when tracked, for bias correction
  int64_t channel_count = 0;       // elements per channel summed so far
  // Per-channel signed extremes (axis 1), tracked with channel_sum: how much of
  // one per-tensor scale each channel really uses (depthwise range check).
  std::vector<double> channel_min, channel_max;
  // Thresholds already searched (kl/mse/percentile), by (algorithm, levels,
  // percentile): the tuner builds many plans from the same statistics, and a
  // kl search over 2048 bins costs milliseconds per tensor. Cleared by add/merge.
  mutable std::map<std::tuple<int, int, double>, double> threshold_cache;

  void add(std::span<const float> values);
  // Also accumulate per-channel sums of an NCHW-like tensor (axis 1 of `shape`).
  void add_channel_sums(std::span<const float> values, std::span<const int64_t> shape);
  void merge(const TensorStats &other);
  // Doubles `range` (merging bin pairs, as add() does) until it covers `needed`.
  void grow(double needed);
  double bin_width() const { return range / kHistogramBins; }
  std::vector<double> channel_mean() const;

  nlohmann::json to_json() const;
  static TensorStats from_json(const nlohmann::json &j, const std::string &where);
};

// Smallest and largest of non-empty `values` (what add() records; NaN as
// std::min/max pass it).
std::pair<float, float> value_extremes(std::span<const float> values);

// The per-sample, per-channel sums add_channel_sums() adds, sample-major
// (n * c values of an NCHW-like tensor; empty below rank 2).
std::vector<double> channel_sample_sums(std::span<const float> values,
                                        std::span<const int64_t> shape);

// Threshold T on |x| (clip to [-T, T]) chosen by the algorithm.
double threshold_minmax(const TensorStats &s);
// Entropy calibration as TensorRT / ncnn: for each candidate i in [128, 2048),
// the reference distribution is the first i bins with the tail folded into the
// last one; it is quantized to 128 levels and expanded back over the non-empty
// bins; the i with the smallest KL divergence gives T = (i + 0.5) * bin width.
double threshold_kl(const TensorStats &s, int levels = 128);
// Smallest T such that `percent` % of the |x| values lie below it (linear
// interpolation inside the bin).
double threshold_percentile(const TensorStats &s, double percent);
// T minimising the expected squared error of quantizing |x| with `levels` steps
// in [0, T]: rounding noise step^2/12 inside, (|x| - T)^2 outside.
double threshold_mse(const TensorStats &s, int levels = 128);

// `levels`: quantization levels on the larger side (kl and mse only).
double threshold_for(const TensorStats &s, CalibAlgorithm a, double percentile = 99.99,
                     int levels = 128);

// Clipped [lo, hi] range: the signed min/max limited to [-T, T]. `asymmetric`
// (u8 with zero point): kl/mse search T with the levels u8 gives the larger side.
struct ClipRange {
  double lo = 0, hi = 0;
};
ClipRange clip_range(const TensorStats &s, CalibAlgorithm a, double percentile = 99.99,
                     bool asymmetric = false);

} // namespace qtune::quant
