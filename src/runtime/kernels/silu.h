#pragma once
// SiLU, x * sigmoid(x), in place over a float buffer: the activation after
// ~90 % of YOLOX's convolutions. oneDNN 2.6's swish post-op costs ~1 ns per
// value on this class of CPU (exp, a division and register spills inside the
// conv's store loop); running the conv without it and this AVX-512 pass over
// its still-cached output takes about half of that. bench_fp32 BM_silu_*.
#include <cstdint>

namespace qtune::kernels {

// y = x / (1 + exp(-x)) for n values; relative error below 1e-6 against the
// exact function for x >= -80 (the sigmoid factor is accurate to ~3e-7), and
// |y| < 1e-32 below. Runs on the calling OpenMP team when n is large.
void silu_inplace(float *x, int64_t n);

// The scalar form of the same approximation (for the vector loop's tests and
// CPUs without AVX-512).
float silu_scalar(float x);

} // namespace qtune::kernels
