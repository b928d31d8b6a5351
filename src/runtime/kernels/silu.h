#pragma once
// SiLU, x * sigmoid(x), in place over a float buffer: the activation after
// ~90 % of YOLOX's convolutions. oneDNN 2.6's swish post-op costs ~1 ns per
// value on this class of CPU inside its conv kernels (exp, a division and
// register spills inside the conv's store loop); running the conv without it
// and this AVX-512 pass over its still-cached output takes about half of that
// (bench_conv_fp32 BM_conv1x1_silu, bench_int8_kernels BM_qconv_1x1). For f32
// outputs in int8 graphs the pass computes what oneDNN's swish computes, bit
// for bit (silu.cpp). Graphs that quantize no activation use the faster
// silu_fast_* below (within 1.5e-6 relative), int8 outputs silu_quantize
// (exactly rounded levels but for values within 0.017 of a step of a tie).
// Without those loops (silu_*_is_fast) the conv keeps the post-op.
#include <cstdint>

namespace qtune::kernels {

// True when silu_inplace (AVX-512F) / silu_quantize (AVX-512F, DQ, BW) have
// their AVX-512 loops on this CPU (the scalar forms are ~30x slower than
// oneDNN's post-op, so callers use them only then).
bool silu_inplace_is_fast();
bool silu_quantize_is_fast();

// y = x * sigmoid(x) for n values, the bits of oneDNN's eltwise_swish (alpha
// 1): within ~3e-7 relative of the exact function; -0 below about -87
// (where oneDNN's 2^(n-1) underflows), NaN for -inf as oneDNN; NaN stays NaN. Runs on the calling
// OpenMP team when n is large.
void silu_inplace(float *x, int64_t n);

// y = silu(y) + a for n values (a conv's SiLU then its residual add, in one
// pass over the conv's still-cached output); same SiLU as silu_inplace.
void silu_add_inplace(float *y, const float *a, int64_t n);

// Graphs without quantized activations only (the last bits differ from
// oneDNN's): the same function in fewer operations, ~1.4x faster, within 1.5e-6
// relative where |x| <= 16 (silu_simd.h: silu16_fast). Needs AVX-512 DQ: check
// silu_fast_is_available() first.
bool silu_fast_is_available();
void silu_fast_inplace(float *x, int64_t n);
void silu_fast_add_inplace(float *y, const float *a, int64_t n); // silu(y) + a

// The sigmoid of the same two forms, for a conv whose activation is a
// Sigmoid (detection heads' scores): sigmoid_inplace gives oneDNN 2.6's
// eltwise_logistic bits (silu_inplace's sigmoid before its multiply),
// sigmoid_fast_inplace (AVX-512 DQ, graphs without quantized activations)
// the faster form within 1.5e-6 relative where |x| <= 16 (5e-6 below). oneDNN's logistic post-op
// inside its conv kernels costs ~2x the conv on YOLOX's score heads.
void sigmoid_inplace(float *x, int64_t n);
void sigmoid_fast_inplace(float *x, int64_t n);
float sigmoid_scalar(float x);

// An int8 residual addend in real units, (a - zero_point) * scale, with a of
// type u8 (is_u8) or i8.
struct Int8Addend {
  const void *data;
  bool is_u8;
  float scale, zero_point;
  // The same addend from element i on (a chunk or a row of the output).
  Int8Addend from(int64_t i) const {
    return {static_cast<const int8_t *>(data) + i, is_u8, scale, zero_point};
  }
};

// What an int8 conv's fused SiLU epilogue does after the scaled accumulator
// (Conv1x1U8, ConvDwU8): SiLU, the optional addend, requantisation.
struct SiluRequantize {
  bool u8_out;
  float inv_scale, zero_point;
  const Int8Addend *addend = nullptr; // NHWC like the output; may be the output
};

// The epilogue of an int8 conv with no activation, a Relu or a Clip, before
// and / or after an optional int8 addend (ORT-style QDQ models: MobileNetV2's
// ReLU6 and linear bottlenecks, ResNet's residual + ReLU): y =
// saturate(round(clamp(clamp(x, lo, hi) [+ addend], post_lo, post_hi) *
// inv_scale + zero_point)), oneDNN's post-ops bit for bit (infinite bounds
// for none, [0, inf) for Relu; a positive scale). Two clamps with no addend
// between give the composed clamp, where oneDNN 2.6's chain of two disjoint
// clip_v2 gives the first one's result: QConv keeps such convs on oneDNN.
// Conv1x1U8::clamp_quantize runs it.
struct ClampRequantize {
  bool u8_out;
  float inv_scale, zero_point;
  float lo, hi;                       // the activation before the addend
  const Int8Addend *addend = nullptr; // NHWC like the output; may be the output
  float post_lo, post_hi;             // the activation after it
};

// y = saturate(round((silu(x) [+ addend]) * inv_scale + zero_point)) for n
// values into u8 (is_u8) or i8: an int8 conv's SiLU, residual sum and
// requantisation after the conv wrote its real-unit output as f32. oneDNN's
// sum and linear post-ops and conversion (rounding half to even) around a
// SiLU to 6.5e-5 relative (silu_simd.h silu16_int8): the level of the exact
// value except within 6.5e-5 |silu| / scale of a tie. y may be the addend's
// buffer.
void silu_quantize(const float *x, void *y, bool is_u8, float inv_scale, float zero_point,
                   int64_t n, const Int8Addend *addend = nullptr);

// The scalar form of the same steps and bits (other CPUs, tests).
float silu_scalar(float x);

} // namespace qtune::kernels
