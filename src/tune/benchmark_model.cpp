#include "tune/benchmark_model.h"

#include <algorithm>
#include <map>
#include <memory>
#include <omp.h>
#include <unordered_map>
#include <utility>

#include "frontends/model_loader.h"
#include "qtune/error.h"
#include "quant/inference_graph.h"

namespace qtune::tune {

Tensor lcg_uniform(Shape shape, uint32_t seed, float lo, float hi) {
  Tensor t(DType::f32, std::move(shape));
  for (float &v : t.span<float>()) {
    seed = seed * 1664525u + 1013904223u;
    v = lo + (hi - lo) * (static_cast<float>(seed >> 8) / 16777216.f);
  }
  return t;
}

Tensor benchmark_input(const ValueInfo &vi) {
  Shape shape;
  for (const Dim &d : vi.dims)
    shape.push_back(d.known() ? d.value : 1);
  Tensor t = lcg_uniform(std::move(shape), 12345, 0.f, 1.f);
  return vi.dtype == DType::f32 || vi.dtype == DType::undefined ? t : t.cast(vi.dtype);
}

namespace {

std::vector<OpTypeTime> by_op_type(const std::vector<NodeProfile> &prof, int runs) {
  std::map<std::string, OpTypeTime> types;
  double total = 0;
  for (const NodeProfile &p : prof) {
    OpTypeTime &t = types[p.op_type];
    t.op_type = p.op_type;
    t.nodes++;
    t.ms_per_run += p.total_ms / runs;
    total += p.total_ms / runs;
  }
  std::vector<OpTypeTime> out;
  for (auto &[name, t] : types) {
    t.share = total > 0 ? t.ms_per_run / total : 0;
    out.push_back(t);
  }
  std::sort(out.begin(), out.end(),
            [](const OpTypeTime &a, const OpTypeTime &b) { return a.ms_per_run > b.ms_per_run; });
  return out;
}

// `prof` comes sorted by total time (Executor::profile).
std::vector<NodeProfile> per_run(std::vector<NodeProfile> prof, int runs) {
  for (NodeProfile &p : prof)
    p.total_ms /= runs;
  return prof;
}

} // namespace

BenchmarkResult benchmark_model(const BenchmarkOptions &o) {
  if (o.iterations < 1 || o.rounds < 1)
    throw InputError("--iterations and --rounds must be >= 1");
  auto graph = std::make_shared<Graph>(load_model(o.model));
  BenchmarkResult r;
  if (o.optimize)
    r.lowering = quant::prepare_for_inference(*graph);
  std::unordered_map<std::string, Tensor> inputs;
  for (const ValueInfo &vi : graph->inputs)
    inputs[vi.name] = benchmark_input(vi);
  Executor ex(graph, {.threads = o.threads, .profile = o.profile});
  ex.run(inputs); // the first run plans memory
  LatencyOptions lo{
      .warmup = std::max(o.warmup - 1, 0), .iterations = o.iterations, .rounds = o.rounds};
  int calls = 0;
  r.latency = measure_latency(
      [&] {
        if (calls++ == lo.warmup)
          ex.reset_profile(); // the profile counts the timed runs only
        ex.run(inputs);
      },
      lo);
  r.threads = o.threads > 0 ? o.threads : omp_get_max_threads();
  if (o.profile) {
    std::vector<NodeProfile> prof = ex.profile();
    r.by_type = by_op_type(prof, r.latency.runs);
    r.nodes = per_run(std::move(prof), r.latency.runs);
  }
  return r;
}

} // namespace qtune::tune
