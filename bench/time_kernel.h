#pragma once
// Timing loop of the single-kernel benches (bench_int8_kernels, bench_qmatmul).
#include <benchmark/benchmark.h>
#include <vector>

#include "runtime/kernel.h"

namespace qtune::bench {

// Makes `node`'s kernel, prepares it on `in` (telling it `layouts` when given)
// and times run() into plain-sized outputs.
inline void time_kernel_runs(benchmark::State &state, const Node &node, const KernelEnv &env,
                             const std::vector<Tensor> &in,
                             const std::vector<const dnnl_memory_desc_t *> *layouts = nullptr) {
  auto k = make_kernel(node, env);
  if (layouts)
    k->set_input_layouts(*layouts);
  auto types = k->infer(in);
  k->prepare(in);
  std::vector<Tensor> out;
  for (const TensorType &t : types)
    out.emplace_back(t.dtype, t.shape);
  for (auto _ : state) {
    k->run(in, out);
    benchmark::ClobberMemory();
  }
}

} // namespace qtune::bench
