#include "quant/observer.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "qtune/error.h"

namespace qtune::quant {

const char *calib_algorithm_name(CalibAlgorithm a) {
  switch (a) {
  case CalibAlgorithm::minmax:
    return "minmax";
  case CalibAlgorithm::kl:
    return "kl";
  case CalibAlgorithm::percentile:
    return "percentile";
  case CalibAlgorithm::mse:
    return "mse";
  }
  return "?";
}

CalibAlgorithm calib_algorithm_from_name(const std::string &s) {
  if (s == "minmax")
    return CalibAlgorithm::minmax;
  if (s == "kl" || s == "entropy")
    return CalibAlgorithm::kl;
  if (s == "percentile")
    return CalibAlgorithm::percentile;
  if (s == "mse")
    return CalibAlgorithm::mse;
  throw InputError("unknown calibration algorithm '" + s +
                   "' (expected minmax, kl, percentile or mse)");
}

std::pair<float, float> value_extremes(std::span<const float> values) {
  float lo = values[0], hi = values[0];
  for (float v : values) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  return {lo, hi};
}

// Doubles the covered range until it reaches `needed`, merging bin pairs.
static void grow_histogram(TensorStats &s, double needed) {
  while (s.range < needed) {
    std::vector<double> &h = s.histogram;
    for (int i = 0; i < kHistogramBins / 2; ++i)
      h[i] = h[2 * i] + h[2 * i + 1];
    std::fill(h.begin() + kHistogramBins / 2, h.end(), 0.0);
    s.range *= 2;
  }
}

void TensorStats::add(std::span<const float> values) {
  if (values.empty())
    return;
  threshold_cache.clear();
  const auto [lo, hi] = value_extremes(values);
  if (count == 0) {
    min = lo;
    max = hi;
  } else {
    min = std::min(min, double(lo));
    max = std::max(max, double(hi));
  }
  count += static_cast<int64_t>(values.size());
  double maxabs = std::max(std::fabs(double(lo)), std::fabs(double(hi)));
  if (histogram.empty())
    histogram.assign(kHistogramBins, 0.0);
  if (range == 0) {
    range = maxabs; // all-zero data so far sits in bin 0 either way
  } else if (maxabs > range) {
    grow_histogram(*this, maxabs);
  }
  if (range == 0) {
    histogram[0] += double(values.size());
    return;
  }
  const double inv_width = kHistogramBins / range;
  std::vector<int64_t> local(kHistogramBins, 0);
  for (float v : values) {
    int bin = static_cast<int>(std::fabs(v) * inv_width);
    local[std::min(bin, kHistogramBins - 1)] += 1;
  }
  for (int i = 0; i < kHistogramBins; ++i)
    histogram[i] += double(local[i]);
}

std::vector<double> channel_sample_sums(std::span<const float> values,
                                        std::span<const int64_t> shape) {
  if (shape.size() < 2)
    return {};
  const int64_t n = shape[0], c = shape[1];
  int64_t inner = 1;
  for (size_t i = 2; i < shape.size(); ++i)
    inner *= shape[i];
  std::vector<double> sums(static_cast<size_t>(n * c), 0.0);
  for (int64_t k = 0; k < n * c; ++k) {
    const float *p = values.data() + k * inner;
    double acc = 0;
    for (int64_t i = 0; i < inner; ++i)
      acc += p[i];
    sums[static_cast<size_t>(k)] = acc;
  }
  return sums;
}

void TensorStats::add_channel_sums(std::span<const float> values, std::span<const int64_t> shape) {
  if (shape.size() < 2)
    return;
  const int64_t n = shape[0], c = shape[1];
  int64_t inner = 1;
  for (size_t i = 2; i < shape.size(); ++i)
    inner *= shape[i];
  if (channel_sum.empty()) {
    channel_sum.assign(c, 0.0);
    channel_min.assign(c, std::numeric_limits<double>::infinity());
    channel_max.assign(c, -std::numeric_limits<double>::infinity());
  }
  if (int64_t(channel_sum.size()) != c || int64_t(channel_min.size()) != c)
    return; // shape changed: keep the first layout
  const std::vector<double> sums = channel_sample_sums(values, shape);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch) {
      const float *p = values.data() + (b * c + ch) * inner;
      float lo = std::numeric_limits<float>::infinity(), hi = -lo;
      for (int64_t i = 0; i < inner; ++i) {
        lo = std::min(lo, p[i]);
        hi = std::max(hi, p[i]);
      }
      channel_sum[ch] += sums[static_cast<size_t>(b * c + ch)];
      channel_min[ch] = std::min(channel_min[ch], double(lo));
      channel_max[ch] = std::max(channel_max[ch], double(hi));
    }
  channel_count += n * inner;
}

void TensorStats::grow(double needed) {
  threshold_cache.clear();
  grow_histogram(*this, needed);
}

std::vector<double> TensorStats::channel_mean() const {
  std::vector<double> m(channel_sum.size(), 0.0);
  if (channel_count == 0)
    return m;
  for (size_t i = 0; i < m.size(); ++i)
    m[i] = channel_sum[i] / double(channel_count);
  return m;
}

void TensorStats::merge(const TensorStats &o) {
  if (o.count == 0)
    return;
  threshold_cache.clear();
  if (count == 0) {
    *this = o;
    return;
  }
  min = std::min(min, o.min);
  max = std::max(max, o.max);
  count += o.count;
  TensorStats other = o;
  // Bring both histograms to the larger range (power-of-two multiples only merge
  // exactly; otherwise the other's bins are re-placed at their centres).
  if (other.range > range)
    grow_histogram(*this, other.range);
  if (range > 0 && other.range > 0) {
    double w = other.bin_width();
    for (int i = 0; i < kHistogramBins; ++i) {
      if (other.histogram[i] == 0)
        continue;
      int bin = static_cast<int>((i + 0.5) * w / bin_width());
      histogram[std::min(bin, kHistogramBins - 1)] += other.histogram[i];
    }
  } else if (!other.histogram.empty()) {
    histogram[0] += other.histogram[0];
  }
  if (channel_sum.size() == other.channel_sum.size()) {
    for (size_t i = 0; i < channel_sum.size(); ++i)
      channel_sum[i] += other.channel_sum[i];
    channel_count += other.channel_count;
  }
  if (channel_min.size() == other.channel_min.size()) {
    for (size_t i = 0; i < channel_min.size(); ++i) {
      channel_min[i] = std::min(channel_min[i], other.channel_min[i]);
      channel_max[i] = std::max(channel_max[i], other.channel_max[i]);
    }
  }
}

nlohmann::json TensorStats::to_json() const {
  // Histograms are sparse in practice: store (bin, count) pairs.
  nlohmann::json bins = nlohmann::json::array();
  for (size_t i = 0; i < histogram.size(); ++i)
    if (histogram[i] != 0)
      bins.push_back({i, histogram[i]});
  nlohmann::json j = {
      {"min", min}, {"max", max}, {"count", count}, {"range", range}, {"histogram", bins}};
  if (!channel_sum.empty()) {
    j["channel_sum"] = channel_sum;
    j["channel_count"] = channel_count;
  }
  if (!channel_min.empty()) {
    j["channel_min"] = channel_min;
    j["channel_max"] = channel_max;
  }
  return j;
}

TensorStats TensorStats::from_json(const nlohmann::json &j, const std::string &where) {
  TensorStats s;
  try {
    s.min = j.at("min").get<double>();
    s.max = j.at("max").get<double>();
    s.count = j.at("count").get<int64_t>();
    s.range = j.at("range").get<double>();
    s.histogram.assign(kHistogramBins, 0.0);
    for (const auto &b : j.at("histogram")) {
      int64_t i = b.at(0).get<int64_t>();
      if (i < 0 || i >= kHistogramBins)
        throw InputError(where + ": histogram bin out of range");
      s.histogram[i] = b.at(1).get<double>();
    }
    if (j.contains("channel_sum")) {
      s.channel_sum = j.at("channel_sum").get<std::vector<double>>();
      s.channel_count = j.at("channel_count").get<int64_t>();
    }
    if (j.contains("channel_min")) {
      s.channel_min = j.at("channel_min").get<std::vector<double>>();
      s.channel_max = j.at("channel_max").get<std::vector<double>>();
      if (s.channel_min.size() != s.channel_max.size())
        throw InputError(where + ": channel_min and channel_max differ in length");
    }
  } catch (const nlohmann::json::exception &e) {
    throw InputError(where + ": bad tensor statistics: " + e.what());
  }
  return s;
}

double threshold_minmax(const TensorStats &s) {
  return std::max(std::fabs(s.min), std::fabs(s.max));
}

static double histogram_total(const TensorStats &s) {
  double t = 0;
  for (double c : s.histogram)
    t += c;
  return t;
}

// KL(p || q) for candidate i (TensorRT's entropy calibration): p is the first i
// bins with the tail folded into bin i-1; q quantizes the same bins *without*
// the tail into `levels` groups and spreads each group over p's non-empty bins,
// so thresholds that clip much mass pay for it.
//
// q is constant over the non-empty bins of a group, so with prefix sums of the
// histogram (h), of h log h and of the non-empty bin count, one candidate costs
// O(levels) instead of O(i):
//   KL = sum p log p / P - log P - sum_groups (P_g / P) log max(q_g / Q, eps / i)
// where P = total mass, P_g = group mass of p and q_g = S_g / nonempty_g.
struct KlPrefix {
  std::vector<double> h, hlogh; // prefix sums, size bins + 1
  std::vector<int> nonempty;
  explicit KlPrefix(const std::vector<double> &hist)
      : h(hist.size() + 1, 0.0), hlogh(hist.size() + 1, 0.0), nonempty(hist.size() + 1, 0) {
    for (size_t k = 0; k < hist.size(); ++k) {
      h[k + 1] = h[k] + hist[k];
      hlogh[k + 1] = hlogh[k] + (hist[k] > 0 ? hist[k] * std::log(hist[k]) : 0.0);
      nonempty[k + 1] = nonempty[k] + (hist[k] != 0);
    }
  }
};

static double kl_for_candidate(const std::vector<double> &hist, const KlPrefix &pre, double tail,
                               int i, int levels) {
  const double last = hist[i - 1] + tail; // p[i-1]
  const double psum = pre.h[i] + tail;
  if (psum == 0)
    return 0;
  const int merged = i / levels;
  // Non-empty bins of p in [a, b): hist's count, with bin i-1 judged by p.
  auto count = [&](int a, int b) {
    int n = pre.nonempty[b] - pre.nonempty[a];
    if (b == i)
      n += (last != 0) - (hist[i - 1] != 0);
    return n;
  };
  double qsum = 0;
  for (int j = 0; j < levels; ++j) {
    int start = j * merged, stop = j == levels - 1 ? i : start + merged;
    if (count(start, stop) > 0)
      qsum += pre.h[stop] - pre.h[start];
  }
  if (qsum == 0)
    return 0;
  double plogp = pre.hlogh[i - 1] + (last > 0 ? last * std::log(last) : 0.0);
  double kl = plogp / psum - std::log(psum);
  const double floor = 1e-4 / i; // stands in for an empty q bin where p has mass
  for (int j = 0; j < levels; ++j) {
    int start = j * merged, stop = j == levels - 1 ? i : start + merged;
    int n = count(start, stop);
    if (n == 0)
      continue;
    double group_p = pre.h[stop] - pre.h[start] + (stop == i ? tail : 0.0);
    double q = (pre.h[stop] - pre.h[start]) / n / qsum;
    kl -= group_p / psum * std::log(std::max(q, floor));
  }
  return kl;
}

double threshold_kl(const TensorStats &s, int levels) {
  if (s.range == 0 || s.histogram.empty())
    return threshold_minmax(s);
  int best_i = kHistogramBins;
  double best_kl = std::numeric_limits<double>::infinity();
  std::vector<double> tail(kHistogramBins + 1, 0.0); // tail[i] = sum of bins >= i
  for (int i = kHistogramBins - 1; i >= 0; --i)
    tail[i] = tail[i + 1] + s.histogram[i];
  const KlPrefix pre(s.histogram);
  for (int i = levels; i <= kHistogramBins; ++i) {
    double kl = kl_for_candidate(s.histogram, pre, tail[i], i, levels);
    if (kl < best_kl) {
      best_kl = kl;
      best_i = i;
    }
  }
  return std::min((best_i + 0.5) * s.bin_width(), threshold_minmax(s));
}

double threshold_percentile(const TensorStats &s, double percent) {
  if (s.range == 0 || s.histogram.empty())
    return threshold_minmax(s);
  if (!(percent > 0 && percent <= 100))
    throw InputError("percentile must be in (0, 100], got " + std::to_string(percent));
  const double target = histogram_total(s) * percent / 100.0;
  double acc = 0;
  for (int i = 0; i < kHistogramBins; ++i) {
    double c = s.histogram[i];
    if (c > 0 && acc + c >= target) {
      double frac = (target - acc) / c; // linear inside the bin
      return std::min((i + frac) * s.bin_width(), threshold_minmax(s));
    }
    acc += c;
  }
  return threshold_minmax(s);
}

double threshold_mse(const TensorStats &s, int levels) {
  if (s.range == 0 || s.histogram.empty())
    return threshold_minmax(s);
  const double w = s.bin_width();
  double best_t = threshold_minmax(s), best_err = std::numeric_limits<double>::infinity();
  // Candidates every 8 bins (256 of them) keep this cheap; the error curve is smooth.
  for (int c = 8; c <= kHistogramBins; c += 8) {
    const double t = c * w;
    const double step = t / (levels - 1);
    double err = 0;
    for (int i = 0; i < kHistogramBins; ++i) {
      double n = s.histogram[i];
      if (n == 0)
        continue;
      double x = (i + 0.5) * w;
      if (x <= t) {
        err += n * step * step / 12.0;
      } else {
        err += n * (x - t) * (x - t);
      }
    }
    if (err < best_err) {
      best_err = err;
      best_t = t;
    }
  }
  return std::min(best_t, threshold_minmax(s));
}

double threshold_for(const TensorStats &s, CalibAlgorithm a, double percentile, int levels) {
  switch (a) {
  case CalibAlgorithm::minmax:
    return threshold_minmax(s);
  case CalibAlgorithm::kl:
    return threshold_kl(s, levels);
  case CalibAlgorithm::percentile:
    return threshold_percentile(s, percentile);
  case CalibAlgorithm::mse:
    return threshold_mse(s, levels);
  }
  return threshold_minmax(s);
}

// Levels the larger side of the tensor gets. Symmetric s8 gives each side 128.
// Asymmetric u8 spends its 256 levels on [min, max], so a nearly one-signed
// tensor (ReLU/SiLU outputs, image pixels) has almost all 256 on one side: a
// threshold searched with 128 levels there clips twice as hard as it needs to
// (image pixels clipped at 223 of 255).
static int levels_for(const TensorStats &s, bool asymmetric) {
  if (!asymmetric)
    return 128;
  const double big = std::max(std::fabs(s.min), std::fabs(s.max));
  const double small = std::min(std::fabs(s.min), std::fabs(s.max));
  if (!(big > 0))
    return 128;
  return std::clamp(static_cast<int>(std::lround(255.0 * big / (big + small))), 128, 255);
}

ClipRange clip_range(const TensorStats &s, CalibAlgorithm a, double percentile, bool asymmetric) {
  if (a == CalibAlgorithm::minmax)
    return {s.min, s.max};
  const int levels = levels_for(s, asymmetric);
  const auto key = std::make_tuple(static_cast<int>(a), levels,
                                   a == CalibAlgorithm::percentile ? percentile : 0.0);
  auto it = s.threshold_cache.find(key);
  if (it == s.threshold_cache.end())
    it = s.threshold_cache.emplace(key, threshold_for(s, a, percentile, levels)).first;
  const double t = it->second;
  return {std::max(s.min, -t), std::min(s.max, t)};
}

} // namespace qtune::quant
