#include "tune/bootstrap.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "metrics/coco_resample.h"
#include "qtune/error.h"

namespace qtune::tune {

double LossUnits::loss(double b, double c) const {
  double l = b - c;
  if (relative)
    l = b == 0 ? 0 : l / std::fabs(b);
  return higher_is_better ? l : -l;
}

namespace {

// numpy.percentile's default (linear between order statistics) on sorted `v`.
double quantile(const std::vector<double> &v, double p) {
  double pos = p * double(v.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(pos));
  size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - double(lo)) * (v[hi] - v[lo]);
}

} // namespace

PairedBootstrap::PairedBootstrap(metrics::SampleResults baseline, LossUnits units, uint64_t seed,
                                 double confidence, int resamples)
    : baseline_(std::move(baseline)), units_(units), confidence_(confidence) {
  const size_t n = baseline_.size();
  if (n == 0)
    throw Error("bootstrap: no per-sample results");
  // Plain modulo on a 64-bit Mersenne twister: the same draws on every
  // platform (std::uniform_int_distribution is implementation-defined).
  std::mt19937_64 rng(seed);
  draws_.assign(resamples, std::vector<uint32_t>(n, 0));
  for (auto &counts : draws_)
    for (size_t j = 0; j < n; ++j)
      ++counts[rng() % n];
  baseline_value_ = metrics::metric_value(baseline_);
  baseline_values_ = resampled_values(baseline_);
}

std::vector<double> PairedBootstrap::resampled_values(const metrics::SampleResults &r) const {
  std::vector<double> out;
  out.reserve(draws_.size());
  if (r.reduce == metrics::Reduce::coco_ap) {
    metrics::CocoResample prepared(r.images, r.num_categories);
    for (const auto &counts : draws_)
      out.push_back(prepared.ap(counts));
    return out;
  }
  for (const auto &counts : draws_)
    out.push_back(metrics::metric_value(r, counts));
  return out;
}

LossInterval PairedBootstrap::interval(const metrics::SampleResults &candidate) const {
  if (candidate.size() != baseline_.size() || candidate.reduce != baseline_.reduce)
    throw Error("bootstrap: the candidate was evaluated on " + std::to_string(candidate.size()) +
                " samples, the FP32 baseline on " + std::to_string(baseline_.size()));
  for (size_t i = 0; i < candidate.images.size(); ++i)
    if (candidate.images[i].image_id != baseline_.images[i].image_id)
      throw Error("bootstrap: the candidate's images are not the baseline's");
  std::vector<double> values = resampled_values(candidate);
  std::vector<double> losses(values.size());
  for (size_t b = 0; b < values.size(); ++b)
    losses[b] = units_.loss(baseline_values_[b], values[b]);
  std::sort(losses.begin(), losses.end());
  LossInterval i;
  i.valid = true;
  i.loss = units_.loss(baseline_value_, metrics::metric_value(candidate));
  i.confidence = confidence_;
  i.low = quantile(losses, (1 - confidence_) / 2);
  i.high = quantile(losses, (1 + confidence_) / 2);
  i.resamples = static_cast<int>(draws_.size());
  i.samples = baseline_.size();
  return i;
}

std::string format_loss(const LossInterval &i, bool relative) {
  char buf[128];
  int pct = static_cast<int>(std::lround(100 * i.confidence));
  if (relative)
    std::snprintf(buf, sizeof(buf), "loss %.1f%% (%d%% CI %.1f%% .. %.1f%%)", 100 * i.loss, pct,
                  100 * i.low, 100 * i.high);
  else
    std::snprintf(buf, sizeof(buf), "loss %.4f (%d%% CI %.4f .. %.4f)", i.loss, pct, i.low, i.high);
  return buf;
}

size_t samples_needed(const LossInterval &i, double target) {
  if (target <= 0 || i.width() <= target)
    return i.samples;
  double ratio = i.width() / target;
  return static_cast<size_t>(std::ceil(double(i.samples) * ratio * ratio));
}

} // namespace qtune::tune
