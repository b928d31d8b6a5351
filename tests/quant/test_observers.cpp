// Observers against thresholds computed by hand on known distributions.
#include <cmath>
#include <gtest/gtest.h>
#include <vector>

#include "qtune/error.h"
#include "quant/calibration_stats.h"
#include "quant/observer.h"

using namespace qtune;
using namespace qtune::quant;

namespace {

std::vector<float> uniform_grid(int n, float lo, float hi) {
  std::vector<float> v(n);
  for (int i = 0; i < n; ++i)
    v[i] = lo + (hi - lo) * (i + 0.5f) / n;
  return v;
}

// Exact standard-normal quantiles Phi^-1((i + 0.5) / n) by bisection on erf.
std::vector<float> gaussian_quantiles(int n) {
  std::vector<float> v(n);
  for (int i = 0; i < n; ++i) {
    double p = (i + 0.5) / n, lo = -10, hi = 10;
    for (int it = 0; it < 60; ++it) {
      double mid = 0.5 * (lo + hi);
      (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p ? lo : hi) = mid;
    }
    v[i] = static_cast<float>(0.5 * (lo + hi));
  }
  return v;
}

} // namespace

TEST(Observers, UniformMinMaxPercentileMse) {
  TensorStats s;
  s.add(uniform_grid(400000, -1.f, 1.f));
  EXPECT_NEAR(threshold_minmax(s), 1.0, 1e-5);
  EXPECT_NEAR(s.min, -1.0, 1e-5);
  // |x| is uniform on [0,1]: the 99.99th percentile is 0.9999.
  EXPECT_NEAR(threshold_percentile(s, 99.99), 0.9999, 1.0 / kHistogramBins);
  EXPECT_NEAR(threshold_percentile(s, 50.0), 0.5, 1.0 / kHistogramBins);
  // MSE of 128 levels on U[0,1]: T^3/(12*127^2) + (1-T)^3/3, minimum at T = 254/255.
  EXPECT_NEAR(threshold_mse(s), 254.0 / 255.0, 4.0 / kHistogramBins);
  // Uniform data has no tail to cut: entropy keeps (almost) the whole range.
  EXPECT_GT(threshold_kl(s), 0.95);
}

TEST(Observers, GaussianPercentileIsTheNormalQuantile) {
  TensorStats s;
  s.add(gaussian_quantiles(200000));
  // P(|x| < t) = 0.9999 for N(0,1) at t = 3.890592 (two-sided 99.99%).
  EXPECT_NEAR(threshold_percentile(s, 99.99), 3.890592, 0.02);
  // P(|x| < t) = 0.99 at t = 2.575829.
  EXPECT_NEAR(threshold_percentile(s, 99.0), 2.575829, 0.01);
}

TEST(Observers, KlIgnoresOutliersOfAGaussian) {
  std::vector<float> v = gaussian_quantiles(200000);
  v.push_back(20.f); // 20 sigma outliers
  v.push_back(-19.f);
  TensorStats s;
  s.add(v);
  EXPECT_NEAR(threshold_minmax(s), 20.0, 1e-6);
  const double t = threshold_kl(s);
  // 8-bit entropy calibration of N(0,1) clips a few sigma out, far below the outliers.
  EXPECT_GT(t, 2.0);
  EXPECT_LT(t, 6.0);
  // Squared error still pays for the two outliers, but clipping some of the way wins.
  EXPECT_LT(threshold_mse(s), 15.0);
  EXPECT_GT(threshold_mse(s), t);
  ClipRange r = clip_range(s, CalibAlgorithm::kl);
  EXPECT_NEAR(r.hi, t, 1e-9);
  EXPECT_NEAR(r.lo, -t, 1e-9);
}

TEST(Observers, KlOnHandBuiltHistogram) {
  // All mass in the first 128 bins: 128 levels represent it exactly (KL = 0), so
  // the threshold is the first candidate, (128 + 0.5) * bin width.
  TensorStats s;
  s.count = 1000;
  s.min = -4;
  s.max = 4;
  s.range = 4.0;
  s.histogram.assign(kHistogramBins, 0.0);
  for (int i = 0; i < 128; ++i)
    s.histogram[i] = 1 + (i * 7919) % 13; // irregular, so merged bins lose detail
  EXPECT_NEAR(threshold_kl(s), 128.5 * 4.0 / kHistogramBins, 1e-12);
}

TEST(Observers, AsymmetricKlUsesTheLevelsOfU8) {
  // |N(0,1)| (a ReLU-like, one-signed tensor) with two far outliers. u8 puts all
  // 255 levels on this one side; searching with s8's 128 levels per side would
  // clip harder than u8 needs (real YOLOX input pixels: 223 instead of ~255).
  std::vector<float> v = gaussian_quantiles(200000);
  for (float &x : v)
    x = std::fabs(x);
  v.push_back(20.f);
  TensorStats s;
  s.add(v);
  const double t128 = threshold_kl(s, 128), t255 = threshold_kl(s, 255);
  EXPECT_GT(t255, t128 * 1.05);
  ClipRange r = clip_range(s, CalibAlgorithm::kl, 99.99, /*asymmetric=*/true);
  EXPECT_NEAR(r.hi, t255, 1e-9);
  EXPECT_EQ(r.lo, s.min);
  // A symmetric tensor keeps 128 levels per side either way.
  std::vector<float> w = gaussian_quantiles(200000);
  w.push_back(20.f);
  w.push_back(-20.f);
  TensorStats sym;
  sym.add(w);
  EXPECT_NEAR(clip_range(sym, CalibAlgorithm::kl, 99.99, true).hi, threshold_kl(sym, 128), 1e-9);
}

TEST(Observers, AdaptiveHistogramMatchesOneShot) {
  std::vector<float> a = uniform_grid(10000, -1.f, 1.f);
  std::vector<float> b = uniform_grid(10000, -3.5f, 3.5f);
  TensorStats grown, direct;
  grown.add(a);
  grown.add(b);                        // range doubles 1 -> 2 -> 4
  EXPECT_NEAR(grown.range, 4.0, 1e-3); // first max (0.99995) doubled twice
  std::vector<float> all = b;
  all.insert(all.end(), a.begin(), a.end());
  direct.add(all);
  EXPECT_EQ(grown.count, 20000);
  EXPECT_NEAR(threshold_percentile(grown, 90), threshold_percentile(direct, 90),
              2 * grown.bin_width());
  double total = 0;
  for (double c : grown.histogram)
    total += c;
  EXPECT_DOUBLE_EQ(total, 20000);
}

TEST(Observers, StatsJsonRoundTripAndErrors) {
  CalibrationStats c;
  c.samples = 3;
  c.tensors["x"].add(uniform_grid(1000, -2.f, 5.f));
  std::vector<float> nchw = uniform_grid(2 * 3 * 4, 0.f, 1.f);
  c.tensors["x"].add_channel_sums(nchw, std::vector<int64_t>{2, 3, 2, 2});
  CalibrationStats back = CalibrationStats::from_json(c.to_json(), "mem");
  const TensorStats &s = back.tensors.at("x");
  EXPECT_EQ(s.count, 1000);
  EXPECT_DOUBLE_EQ(s.max, c.tensors["x"].max);
  EXPECT_EQ(s.histogram, c.tensors["x"].histogram);
  EXPECT_EQ(s.channel_mean(), c.tensors["x"].channel_mean());
  EXPECT_DOUBLE_EQ(threshold_kl(s), threshold_kl(c.tensors["x"]));
  EXPECT_THROW(CalibrationStats::from_json(nlohmann::json{{"format", "x"}}, "f.json"), InputError);
  EXPECT_THROW(calib_algorithm_from_name("entropyy"), InputError);
}

TEST(Observers, ChannelMeans) {
  TensorStats s;
  // N=1, C=2, HW=2: channel 0 = {1, 3}, channel 1 = {10, 20}
  std::vector<float> v = {1, 3, 10, 20};
  s.add_channel_sums(v, std::vector<int64_t>{1, 2, 1, 2});
  std::vector<double> m = s.channel_mean();
  ASSERT_EQ(m.size(), 2u);
  EXPECT_DOUBLE_EQ(m[0], 2.0);
  EXPECT_DOUBLE_EQ(m[1], 15.0);
}
