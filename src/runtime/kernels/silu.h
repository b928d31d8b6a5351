#pragma once
// SiLU, x * sigmoid(x), in place over a float buffer: the activation after
// ~90 % of YOLOX's convolutions. oneDNN 2.6's swish post-op costs ~1 ns per
// value on this class of CPU (exp, a division and register spills inside the
// conv's store loop); running the conv without it and this AVX-512 pass over
// its still-cached output takes about half of that (bench_conv_fp32
// BM_conv1x1_silu). Without AVX-512 the conv keeps oneDNN's post-op.
#include <cstdint>

namespace qtune::kernels {

// True when silu_inplace has its AVX-512 loop on this CPU (the scalar form is
// ~30x slower than oneDNN's post-op, so callers use it only then).
bool silu_inplace_is_fast();

// y = x / (1 + exp(-x)) for n values; relative error below 1e-6 against the
// exact function for x >= -80 (the sigmoid factor is accurate to ~3e-7), and
// exactly 0 below (-inf included); NaN stays NaN. Runs on the calling OpenMP
// team when n is large.
void silu_inplace(float *x, int64_t n);

// y = silu(y) + a for n values (a conv's SiLU then its residual add, in one
// pass over the conv's still-cached output); same SiLU as silu_inplace.
void silu_add_inplace(float *y, const float *a, int64_t n);

// The scalar form of the same approximation (the tail of other CPUs, tests).
float silu_scalar(float x);

} // namespace qtune::kernels
