#pragma once
// Timing loops shared by the benches: one kernel (bench_int8_kernels,
// bench_qmatmul) or a whole graph (bench_bf16, bench_int8).
#include <algorithm>
#include <benchmark/benchmark.h>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
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

// Per-op-type time of `runs` profiled runs (NodeProfile totals): prints the
// `top` op types under `title` and returns ms per run by op type.
inline std::map<std::string, double> print_op_type_profile(const std::vector<NodeProfile> &nodes,
                                                           int runs, const std::string &title,
                                                           size_t top = 8) {
  std::map<std::string, std::pair<double, int>> by_type;
  double total = 0;
  for (const NodeProfile &p : nodes) {
    by_type[p.op_type].first += p.total_ms / runs;
    by_type[p.op_type].second++;
    total += p.total_ms / runs;
  }
  std::vector<std::pair<std::string, std::pair<double, int>>> v(by_type.begin(), by_type.end());
  std::sort(v.begin(), v.end(),
            [](const auto &a, const auto &b) { return a.second.first > b.second.first; });
  std::printf("%s (mean of %d runs, %.2f ms in kernels):\n", title.c_str(), runs, total);
  for (size_t i = 0; i < v.size() && i < top; ++i)
    std::printf("  %-22s %4d nodes %8.3f ms %5.1f%%\n", v[i].first.c_str(), v[i].second.second,
                v[i].second.first, 100 * v[i].second.first / total);
  std::map<std::string, double> out;
  for (const auto &[k, x] : by_type)
    out[k] = x.first;
  return out;
}

// Registers `<name>_fp32` and `<name>_int8` at 1 and 2 threads for each model;
// run(state, model, int8) times one of them.
template <class Models, class Run>
void register_fp32_int8_benchmarks(const Models &models, Run run) {
  for (const auto &m : models)
    for (bool int8 : {false, true}) {
      std::string name = std::string(m.name) + (int8 ? "_int8" : "_fp32");
      benchmark::RegisterBenchmark(name.c_str(),
                                   [&m, int8, run](benchmark::State &s) { run(s, m, int8); })
          ->Arg(1)
          ->Arg(2)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
}

} // namespace qtune::bench
