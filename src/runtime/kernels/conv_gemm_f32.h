#pragma once
// An f32 convolution, 1x1 or 3x3 with one pixel of zero padding, stride 1 or
// 2, on channels-last maps, as GEMM tiles on AVX-512 with the weights streamed
// ahead into L2. For the late layers of classification backbones (ResNet-50's
// 7x7 and 14x14 maps): there a conv's weights (up to 9.4 MB) are used by few
// pixels, come from memory on every run (the model's 102 MB of weights evict
// each other), and oneDNN 2.6's brgconv waits on them: 512 -> 512 3x3 at 7x7
// takes ~2 ms in the model against ~1.1 ms with its weights cached. Here each
// 32-channel group's weights are prefetched while the previous group's tiles
// run. The sums run over taps and input channels in order, in f32 with fma:
// not oneDNN's bits (FP32 graphs only, as Winograd; conv.cpp).
#include <cstddef>
#include <cstdint>
#include <vector>

namespace qtune::kernels {

class ConvGemmF32 {
public:
  // True when this CPU has AVX-512F (else callers keep oneDNN).
  static bool available();
  // Whether a conv of this geometry runs here: kernel 1x1 with no padding or
  // 3x3 with one pixel on every side, stride 1 or 2 (both ways), dilation 1,
  // one group, an output width that is a multiple of 7 (a tile is 7 or 14
  // pixels of one row), output channels a multiple of 32.
  static bool fits(int64_t k, int64_t pad, int64_t stride, int64_t cout, int64_t out_width);

  // w: [cout][cin][k][k] (ONNX order); bias: cout values or empty.
  ConvGemmF32(const float *w, int64_t cout, int64_t cin, int64_t k, int64_t stride,
              std::vector<float> bias);
  // packed_shift_ aligns packed_'s own buffer: a copy would be misaligned.
  ConvGemmF32(const ConvGemmF32 &) = delete;
  ConvGemmF32 &operator=(const ConvGemmF32 &) = delete;

  // What follows the sum over taps: y = post(act(acc + bias) + addend), a
  // Relu or nothing for each; addend may be y itself (read before written).
  struct Epilogue {
    bool relu = false;
    const float *addend = nullptr;
    bool post_relu = false;
  };
  // x: [h][w][cin], y: [oh][ow][cout] (one image, channels-last). Throws
  // std::invalid_argument for a map whose output does not fit().
  void run(const float *x, int64_t h, int64_t w, float *y, const Epilogue &e) const;

private:
  struct Map {           // the input as the tiles read it
    const float *src;    // zero-padded for a 3x3 conv
    int64_t row, oh, ow; // pixels per input row; the output's size
  };
  void run_group(int64_t g, const Map &map, float *y, const Epilogue &e) const;

  int64_t cout_, cin_, k_, stride_, groups_;
  std::vector<float> packed_;         // per group: [tap][cin][32]
  size_t packed_shift_ = 0;           // floats to packed_'s first 64-byte boundary
  std::vector<float> bias_;           // cout values (zeros without a bias)
  mutable std::vector<float> padded_; // the zero-padded input of a 3x3 conv
};

} // namespace qtune::kernels
