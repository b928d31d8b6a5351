// `qtune benchmark MODEL [--threads N] [--iterations N] [--warmup N] [--json]
// [--profile]`: FP32 latency of one inference on inputs filled with a fixed
// pseudo-random pattern (symbolic dims = 1); prints median,
// p90 and throughput, and with --profile a per-op-type and top-nodes table.
#include <algorithm>
#include <chrono>
#include <fmt/format.h>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <omp.h>

#include "commands.h"
#include "frontends/model_loader.h"
#include "qtune/error.h"
#include "quant/inference_graph.h"
#include "runtime/executor.h"
#include "runtime/fold_constants.h"

namespace qtune::cli {

namespace {

Tensor make_input(const ValueInfo &vi) {
  Shape shape;
  for (const Dim &d : vi.dims)
    shape.push_back(d.known() ? d.value : 1);
  Tensor t(DType::f32, shape);
  uint32_t state = 12345;
  for (float &v : t.span<float>()) {
    state = state * 1664525u + 1013904223u;
    v = static_cast<float>(state >> 8) / 16777216.f; // [0, 1)
  }
  return vi.dtype == DType::f32 || vi.dtype == DType::undefined ? t : t.cast(vi.dtype);
}

void print_profile(const std::vector<NodeProfile> &prof, int iterations) {
  std::map<std::string, std::pair<double, int>> by_type;
  double total = 0;
  for (const NodeProfile &p : prof) {
    by_type[p.op_type].first += p.total_ms;
    by_type[p.op_type].second++;
    total += p.total_ms;
  }
  std::vector<std::pair<std::string, std::pair<double, int>>> types(by_type.begin(), by_type.end());
  std::sort(types.begin(), types.end(),
            [](const auto &a, const auto &b) { return a.second.first > b.second.first; });
  fmt::print("\n{:<24} {:>6} {:>10} {:>7}\n", "op type", "nodes", "ms/iter", "share");
  for (const auto &[type, v] : types)
    fmt::print("{:<24} {:>6} {:>10.3f} {:>6.1f}%\n", type, v.second, v.first / iterations,
               total > 0 ? 100 * v.first / total : 0);
  fmt::print("\n{:<48} {:<16} {:>10}\n", "top nodes", "op", "ms/iter");
  for (size_t i = 0; i < std::min<size_t>(15, prof.size()); ++i)
    fmt::print("{:<48} {:<16} {:>10.3f}\n", prof[i].name.substr(0, 48), prof[i].op_type,
               prof[i].total_ms / iterations);
}

int benchmark(const std::string &model, int threads, int iterations, int warmup, bool json,
              bool profile, bool optimize) {
  if (iterations < 1)
    throw InputError("--iterations must be >= 1");
  auto graph = std::make_shared<Graph>(load_model(model));
  quant::LowerReport lowering;
  if (optimize)
    lowering = quant::prepare_for_inference(*graph); // BN folding, fusions, QDQ -> int8 kernels
  std::unordered_map<std::string, Tensor> inputs;
  for (const ValueInfo &vi : graph->inputs)
    inputs[vi.name] = make_input(vi);
  Executor ex(graph, {.threads = threads, .profile = profile});
  for (int i = 0; i < std::max(warmup, 1); ++i)
    ex.run(inputs); // first run plans memory
  ex.reset_profile();
  std::vector<double> ms;
  for (int i = 0; i < iterations; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    ex.run(inputs);
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  double median = ms[ms.size() / 2];
  double p90 = ms[std::min(ms.size() - 1, static_cast<size_t>(0.9 * ms.size()))];
  int used_threads = threads > 0 ? threads : omp_get_num_procs();
  if (json) {
    nlohmann::json j{{"model", model},
                     {"latency_ms_median", median},
                     {"latency_ms_p90", p90},
                     {"latency_ms_min", ms.front()},
                     {"throughput_per_s", 1000.0 / median},
                     {"threads", used_threads},
                     {"iterations", iterations},
                     {"lowering", lowering.rules}};
    fmt::print("{}\n", j.dump());
  } else {
    fmt::print("{}: {} threads, {} iterations\nlatency median {:.3f} ms, p90 {:.3f} ms, min "
               "{:.3f} ms\nthroughput {:.2f} inferences/s\n",
               model, used_threads, iterations, median, p90, ms.front(), 1000.0 / median);
    if (!lowering.rules.empty())
      fmt::print("int8 lowering: {}\n", lowering.summary());
  }
  if (profile && !json)
    print_profile(ex.profile(), iterations);
  return 0;
}

} // namespace

Command add_benchmark_command(CLI::App &app) {
  auto *sub = app.add_subcommand("benchmark", "Measure FP32 inference latency of a model");
  auto model = std::make_shared<std::string>();
  auto threads = std::make_shared<int>(0);
  auto iterations = std::make_shared<int>(50);
  auto warmup = std::make_shared<int>(5);
  auto json = std::make_shared<bool>(false);
  auto profile = std::make_shared<bool>(false);
  auto no_opt = std::make_shared<bool>(false);
  sub->add_flag("--no-optimize", *no_opt, "skip graph optimization passes");
  sub->add_option("MODEL", *model, "ONNX model file")->required();
  sub->add_option("--threads", *threads, "threads (0 = all cores)");
  sub->add_option("--iterations", *iterations, "timed runs");
  sub->add_option("--warmup", *warmup, "untimed runs first");
  sub->add_flag("--json", *json, "one JSON object");
  sub->add_flag("--profile", *profile, "per-op-type and top-node times");
  return {sub, [=] {
            return benchmark(*model, *threads, *iterations, *warmup, *json, *profile, !*no_opt);
          }};
}

} // namespace qtune::cli
