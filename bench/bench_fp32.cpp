// FP32 inference latency of the shared real models through our executor, at 1
// and 2 threads (Google Benchmark reports the time per inference).
// Run: build/bench/bench_fp32 --benchmark_repetitions=5 --benchmark_report_aggregates_only
#include <benchmark/benchmark.h>
#include <cstdlib>
#include <memory>
#include <string>

#include "frontends/onnx/onnx_import.h"
#include "runtime/executor.h"

namespace {

std::string shared(const std::string &rel) {
  const char *env = std::getenv("QTUNE_SHARED_DATA");
  return std::string(env && *env ? env : QTUNE_DEFAULT_SHARED_DATA) + "/" + rel;
}

void bench_model(benchmark::State &state, const std::string &rel) {
  using namespace qtune;
  auto g = std::make_shared<Graph>(load_onnx(shared(rel)));
  std::unordered_map<std::string, Tensor> inputs;
  for (const ValueInfo &vi : g->inputs) {
    Tensor t(DType::f32, vi.static_shape());
    for (int64_t i = 0; i < t.numel(); ++i)
      t.data<float>()[i] = float(i % 255);
    inputs[vi.name] = t;
  }
  Executor ex(g, {.threads = static_cast<int>(state.range(0))});
  ex.run(inputs); // plans memory, creates primitives
  for (auto _ : state)
    benchmark::DoNotOptimize(ex.run(inputs));
  state.counters["threads"] = static_cast<double>(state.range(0));
}

} // namespace

BENCHMARK_CAPTURE(bench_model, yolox_nano, std::string("models/yolox_nano/yolox_nano.onnx"))
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(bench_model, ultraface_rfb_320,
                  std::string("models/ultraface/version-RFB-320.onnx"))
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(bench_model, ultraface_slim_320,
                  std::string("models/ultraface/version-slim-320.onnx"))
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

BENCHMARK_MAIN();
