#pragma once
// Timing loops shared by the benches: one kernel (bench_int8_kernels,
// bench_qmatmul) or a whole graph (bench_bf16, bench_int8).
#include <benchmark/benchmark.h>
#include <memory>
#include <vector>

#include "runtime/executor.h"
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

// Times Executor::run of `graph` on {x: input} at state.range(0) threads, after
// one untimed run (primitives created, weights packed, arena planned).
inline void time_graph_runs(benchmark::State &state, const std::shared_ptr<Graph> &graph,
                            const Tensor &input) {
  Executor ex(graph, {.threads = static_cast<int>(state.range(0))});
  ex.run({{"x", input}});
  for (auto _ : state)
    benchmark::DoNotOptimize(ex.run({{"x", input}}));
}

} // namespace qtune::bench
