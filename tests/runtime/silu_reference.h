#pragma once
// The int8 level an int8 conv's SiLU [+ residual] should reach, from the
// exact SiLU in double. kernels::silu_quantize and the VNNI 1x1 conv round a
// SiLU accurate to 6.5e-5 relative (silu_simd.h silu16_int8), so they must give
// the level of the exact value, except where that value lies within the
// error of a tie between two levels (then either). Shared by test_silu.cpp
// and test_qconv_1x1.cpp.
#include <algorithm>
#include <cmath>

namespace qtune::test {

inline double silu_exact(double x) {
  return x / (1.0 + std::exp(-x));
}

// Is `got` an acceptable u8 (u8) / s8 level for silu(x) + addend at
// 1 / inv_scale, zero point? Errors allowed: 6.5e-5 of the SiLU, in steps,
// plus 1e-4 of a step for the f32 arithmetic (|value| / scale <= 384 here:
// 384 * 2^-24 * a few roundings).
inline bool int8_silu_level_ok(float x, double addend, float inv_scale, float zero_point, bool u8,
                               int got) {
  const double silu = silu_exact(x);
  const double t = (silu + addend) * inv_scale + zero_point;
  const double err = 6.5e-5 * std::fabs(silu) * inv_scale + 1e-4;
  const double lo = u8 ? 0 : -128, hi = u8 ? 255 : 127;
  const auto level = [&](double v) { return std::clamp(std::nearbyint(v), lo, hi); };
  return got == level(t) || got == level(t - err) || got == level(t + err);
}

} // namespace qtune::test
