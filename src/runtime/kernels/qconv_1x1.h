#pragma once
// An int8 1x1 convolution (stride 1, no padding, one group) on AVX-512 VNNI
// for u8 activations in NHWC, with the SiLU epilogue of YOLOX's pointwise
// convs fused (or a Relu / Clip / none around a residual addend, the
// pointwise convs of ORT-style MobileNetV2 and ResNet QDQ files): one pass writes the int8 output,
// where oneDNN 2.6's brgconv writes an f32 tensor that the SiLU pass then reads back (qconv.cpp).
// The numerics are oneDNN's up to the SiLU: the int32 accumulator (exact) to f32,
// + bias, * output scale (bias before scale, as oneDNN 2.6), bit for bit;
// then the SiLU pass's int8-grade SiLU, oneDNN's int8 sum and requantisation
// (kernels::silu_quantize; tests/runtime/test_qconv_1x1.cpp checks both
// against oneDNN's conv).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "runtime/kernels/silu.h"

namespace qtune::kernels {

class Conv1x1U8 {
public:
  // True when this CPU has AVX-512 VNNI and DQ (else callers keep oneDNN).
  static bool available();

  // w: [cout][cin] s8 (cin a multiple of 4); bias: cout values in accumulator
  // units (as given to oneDNN, rounded to f32); scale: 1 or cout output scales.
  Conv1x1U8(const int8_t *w, int64_t cout, int64_t cin, const std::vector<float> &bias,
            const std::vector<float> &scale);
  // packed_offset_ aligns packed_'s own buffer: a copy would be misaligned.
  Conv1x1U8(const Conv1x1U8 &) = delete;
  Conv1x1U8 &operator=(const Conv1x1U8 &) = delete;

  // What follows the scaled accumulator.
  using SiluQuantize = SiluRequantize;

  // x: `pixels` rows of cin u8; y: `pixels` rows of cout int8.
  void silu_quantize(const uint8_t *x, int64_t pixels, void *y, const SiluQuantize &e) const;
  // The same with a Relu / Clip / no activation around the addend
  // (ClampRequantize): oneDNN's int8 output bit for bit.
  void clamp_quantize(const uint8_t *x, int64_t pixels, void *y, const ClampRequantize &e) const;
  // y = (float(acc) + bias) * scale as f32 rows: the conv alone (tests).
  void real(const uint8_t *x, int64_t pixels, float *y) const;

private:
  struct Prefetch {
    const int8_t *next; // the next group's packed weights
    int64_t bytes, step;
  };
  Prefetch prefetch_plan(int64_t g, int64_t tiles) const;
  template <typename Epilogue> void run(const uint8_t *x, int64_t pixels, Epilogue epi) const;
  template <bool... Flags>
  void clamp_quantize_as(const uint8_t *x, int64_t pixels, void *y, const ClampRequantize &e) const;

  int64_t cin_ = 0, cout_ = 0, blocks_ = 0; // blocks_: 16-channel output blocks
  std::vector<int8_t> packed_;              // per 4-block group: [cin/4][blocks][16][4]
  size_t packed_offset_ = 0;                // to the 64-byte aligned start
  std::vector<float> bias_, scale_;         // padded to blocks_ * 16
};

} // namespace qtune::kernels
