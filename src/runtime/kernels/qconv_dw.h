#pragma once
// A depthwise int8 convolution (one input channel per output channel, any
// kernel, stride, dilation and padding) for u8 activations in NHWC, with the
// SiLU epilogue of YOLOX's dconvs fused: one pass writes the int8 output. oneDNN 2.6 runs these on
// brdgmm_dw into an f32 tensor that the SiLU pass reads back, and it takes no source zero point
// there (the padded fold in qconv.cpp corrects the border outputs afterwards); this kernel
// subtracts the zero point itself while it widens each input row once, so padding is simply a real
// 0.
//
// Numerics are oneDNN's zero-point conv up to the SiLU, bit for bit: the
// accumulator K = sum over taps inside the image of w * (x - zp) is computed
// in f32 by fma, exactly (every product and partial sum is an integer below
// 2^24: `exact` checks 255 * sum |w| per channel), then fl(fl(K + bias) *
// scale) as oneDNN 2.6 orders bias and output scale; then the SiLU pass's
// int8 SiLU, sum and requantisation (kernels::silu_quantize).
// tests/runtime/test_qconv_dw.cpp checks it against oneDNN's conv.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "runtime/kernels/int8_util.h"
#include "runtime/kernels/silu.h"

namespace qtune::kernels {

class ConvDwU8 {
public:
  // True when this CPU has AVX-512 F, BW and DQ (else callers keep oneDNN).
  static bool available();
  // True when the geometry is depthwise with a channel count this kernel
  // takes (a multiple of 16) and every channel's f32 accumulation is exact.
  static bool fits(const int8::ConvGeometry &g, const int8_t *w);

  // w: [c][kh][kw] s8; bias: c values in accumulator units (as given to
  // oneDNN, rounded to f32); scale: 1 or c output scales.
  ConvDwU8(const int8::ConvGeometry &g, const int8_t *w, int32_t x_zero_point,
           const std::vector<float> &bias, const std::vector<float> &scale);

  // x: g.n images of h x w x c u8 (NHWC); y: g.n x oh x ow x c int8.
  void silu_quantize(const uint8_t *x, void *y, const SiluRequantize &e) const;
  // y = fl(fl(K + bias) * scale) as f32 NHWC: the conv alone (tests).
  void real(const uint8_t *x, float *y) const;

private:
  // epi(real, at, n): n scaled values for output elements at.. (NHWC).
  template <typename Epilogue> void run(const uint8_t *x, Epilogue epi) const;

  int8::ConvGeometry g_;
  float zp_ = 0.f;
  int64_t wide_ = 0;                // columns of a widened input row, padding included
  std::vector<float> w_;            // [kh * kw][c]
  std::vector<float> bias_, scale_; // c each
};

} // namespace qtune::kernels
