// The SiLU pass that replaces oneDNN's swish post-op after FP32 convolutions
// (runtime/kernels/silu.h), against x / (1 + exp(-x)) in double precision.
#include <cmath>
#include <gtest/gtest.h>
#include <limits>
#include <vector>

#include "runtime/kernels/silu.h"

namespace qtune {
namespace {

double silu_exact(double x) {
  return x / (1.0 + std::exp(-x));
}

// Worst relative error over the values; below -80 the pass flushes to ~0.
double worst_error(const std::vector<float> &x, const std::vector<float> &y) {
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double ref = silu_exact(x[i]);
    if (x[i] < -80.f) {
      EXPECT_LT(std::abs(y[i]), 1e-30) << "x = " << x[i];
      continue;
    }
    const double err = ref == 0 ? std::abs(double(y[i])) : std::abs(y[i] - ref) / std::abs(ref);
    worst = std::max(worst, err);
  }
  return worst;
}

std::vector<float> sweep(float lo, float hi, int n) {
  std::vector<float> x(n);
  for (int i = 0; i < n; ++i)
    x[i] = lo + (hi - lo) * static_cast<float>(i) / static_cast<float>(n - 1);
  return x;
}

TEST(Silu, VectorPassWithinOneMillionthOfExact) {
  struct Case {
    float lo, hi;
    int n;
  } cases[] = {
      {-8.f, 8.f, 1 << 20},   // where conv outputs live
      {-100.f, 100.f, 99991}, // both saturations, flush below -80
      {-1e-3f, 1e-3f, 4097},  // near zero, where silu(x) ~ x / 2
      {-87.f, -79.f, 5003},   // the clamp
  };
  for (const Case &c : cases) {
    std::vector<float> x = sweep(c.lo, c.hi, c.n), y = x;
    kernels::silu_inplace(y.data(), static_cast<int64_t>(y.size()));
    EXPECT_LT(worst_error(x, y), 1e-6) << c.lo << " .. " << c.hi;
  }
}

TEST(Silu, ScalarFormWithinOneMillionthOfExact) {
  std::vector<float> x = sweep(-90.f, 90.f, 200001), y(x.size());
  for (size_t i = 0; i < x.size(); ++i)
    y[i] = kernels::silu_scalar(x[i]);
  EXPECT_LT(worst_error(x, y), 1e-6);
}

// Lengths around the 64-wide unrolled loop, the 16-wide loop and the masked
// tail, and one on the OpenMP path: only the n values change, nothing before
// or after them.
TEST(Silu, LengthsTouchExactlyTheirValues) {
  for (int n : {0, 1, 15, 16, 17, 63, 64, 65, 79, 80, 127, 128, 140, 100003}) {
    std::vector<float> buf(n + 32, 3.f);
    kernels::silu_inplace(buf.data() + 16, n);
    for (int i = 0; i < n + 32; ++i) {
      const bool inside = i >= 16 && i < n + 16;
      const float want = inside ? static_cast<float>(silu_exact(3.0)) : 3.f;
      ASSERT_NEAR(buf[i], want, 3e-6) << "n " << n << " index " << i;
    }
  }
}

// silu(y) + a over lengths around the 32-wide loop, the 16-wide loop, the
// masked tail and the OpenMP path: each value is the pass's own SiLU plus its
// addend, and nothing outside the n values changes.
TEST(Silu, AddPassIsSiluPlusAddend) {
  for (int n : {0, 1, 15, 16, 17, 31, 32, 33, 47, 48, 50, 100003}) {
    std::vector<float> y(n + 32), a(n + 32), x(n + 32);
    for (int i = 0; i < n + 32; ++i) {
      x[i] = y[i] = -6.f + 12.f * static_cast<float>((i * 37) % 101) / 100.f;
      a[i] = static_cast<float>((i * 13) % 7) - 3.f;
    }
    kernels::silu_add_inplace(y.data() + 16, a.data() + 16, n);
    for (int i = 0; i < n + 32; ++i) {
      const bool inside = i >= 16 && i < n + 16;
      const double want = inside ? silu_exact(x[i]) + a[i] : x[i];
      ASSERT_NEAR(y[i], want, 1e-5) << "n " << n << " index " << i;
    }
  }
}

TEST(Silu, NanStaysNan) {
  std::vector<float> x(20, std::nanf(""));
  kernels::silu_inplace(x.data(), 20);
  for (float v : x)
    EXPECT_TRUE(std::isnan(v));
  EXPECT_TRUE(std::isnan(kernels::silu_scalar(std::nanf(""))));
}

// Far below the clamp the exact value is -0 (silu(-inf) is its limit, 0);
// far above it is x itself.
TEST(Silu, ExtremeInputs) {
  const float inf = std::numeric_limits<float>::infinity(), big = std::numeric_limits<float>::max();
  std::vector<float> x = {-inf, -big, -1e30f, -600.f, -81.f, 600.f, 1e30f, big, inf};
  std::vector<float> want = {0, 0, 0, 0, 0, 600.f, 1e30f, big, inf};
  std::vector<float> y = x;
  kernels::silu_inplace(y.data(), static_cast<int64_t>(y.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(y[i], want[i]) << "x = " << x[i];
    EXPECT_EQ(kernels::silu_scalar(x[i]), want[i]) << "x = " << x[i];
  }
}

} // namespace
} // namespace qtune
