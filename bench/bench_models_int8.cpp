// FP32 vs INT8 latency of the real models at 1 and 2 threads: YOLOX-Nano,
// UltraFace RFB-320 and slim-320, and the Fashion-MNIST CNN. FP32 models come
// from ../shared/data (QTUNE_SHARED_DATA) and examples/; the INT8 ones are the
// QDQ files `qtune quantize` writes, named by environment variables, so the
// benchmark measures exactly what users run. Both go through the same
// preparation as `qtune benchmark` (graph optimizations, QDQ lowering). Before
// the timings it prints each INT8 model's per-op-type profile (1 thread).
//
// From the repository root:
//   build/qtune quantize ../shared/data/models/yolox_nano/yolox_nano.onnx \
//       --config examples/coco/yolox_nano.yaml -o /tmp/yolox_int8.onnx
//   build/qtune quantize ../shared/data/models/ultraface/version-RFB-320.onnx \
//       --config examples/ultraface/ultraface_rfb320.yaml -o /tmp/rfb_int8.onnx
//   build/qtune quantize ../shared/data/models/ultraface/version-slim-320.onnx \
//       --config examples/ultraface/ultraface_rfb320.yaml -o /tmp/slim_int8.onnx
//   build/qtune quantize examples/fashion_mnist/fashion_mnist_cnn.onnx \
//       --config examples/fashion_mnist/fashion_mnist.yaml -o /tmp/fmnist_int8.onnx
//   QTUNE_INT8_YOLOX=/tmp/yolox_int8.onnx QTUNE_INT8_RFB=/tmp/rfb_int8.onnx \
//   QTUNE_INT8_SLIM=/tmp/slim_int8.onnx QTUNE_INT8_FMNIST=/tmp/fmnist_int8.onnx \
//       build/bench/bench_models_int8 --benchmark_min_time=1
// A model whose variable is unset is reported as an error, not silently skipped.
#include <algorithm>
#include <benchmark/benchmark.h>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include "frontends/onnx/onnx_import.h"
#include "quant/inference_graph.h"
#include "runtime/executor.h"
#include "time_kernel.h"
#include "tune/benchmark_model.h"

namespace qtune {
namespace {

struct ModelFiles {
  const char *name;
  std::string fp32;     // path relative to the repository root
  const char *int8_env; // variable naming the QDQ model
};

std::string shared_data() {
  const char *env = std::getenv("QTUNE_SHARED_DATA");
  return env ? env : "../shared/data";
}

const std::vector<ModelFiles> &model_files() {
  static const std::vector<ModelFiles> files{
      {"yolox_nano", shared_data() + "/models/yolox_nano/yolox_nano.onnx", "QTUNE_INT8_YOLOX"},
      {"ultraface_rfb320", shared_data() + "/models/ultraface/version-RFB-320.onnx",
       "QTUNE_INT8_RFB"},
      {"ultraface_slim320", shared_data() + "/models/ultraface/version-slim-320.onnx",
       "QTUNE_INT8_SLIM"},
      {"fashion_mnist_cnn", "examples/fashion_mnist/fashion_mnist_cnn.onnx", "QTUNE_INT8_FMNIST"},
  };
  return files;
}

// Graph-input values: a fixed pseudo-random pattern in 0..255 (image-like);
// latency does not depend on the values.
// What `qtune benchmark` feeds (uniform [0, 1) from a fixed sequence).
std::unordered_map<std::string, Tensor> make_inputs(const Graph &g) {
  std::unordered_map<std::string, Tensor> inputs;
  for (const ValueInfo &vi : g.inputs)
    inputs[vi.name] = tune::benchmark_input(vi);
  return inputs;
}

std::shared_ptr<const Graph> load_prepared(const std::string &path) {
  auto g = std::make_shared<Graph>(load_onnx(path));
  quant::prepare_for_inference(*g);
  return g;
}

// Path of the model, or "" with the reason in `why`.
std::string model_path(const ModelFiles &m, bool int8, std::string &why) {
  if (!int8)
    return m.fp32;
  const char *p = std::getenv(m.int8_env);
  if (!p || !*p)
    why = std::string(m.int8_env) + " is not set (see bench/bench_models_int8.cpp)";
  return p ? p : "";
}

void run_model(benchmark::State &state, const ModelFiles &m, bool int8) {
  std::string why;
  std::string path = model_path(m, int8, why);
  if (path.empty()) {
    state.SkipWithError(why.c_str());
    return;
  }
  auto g = load_prepared(path);
  auto inputs = make_inputs(*g);
  Executor ex(g, {.threads = static_cast<int>(state.range(0))});
  for (int i = 0; i < 3; ++i)
    ex.run(inputs); // plan, primitives, packed weights, warm caches
  for (auto _ : state)
    benchmark::DoNotOptimize(ex.run(inputs));
}

void print_profile(const ModelFiles &m) {
  std::string why;
  std::string path = model_path(m, true, why);
  if (path.empty())
    return;
  auto g = load_prepared(path);
  auto inputs = make_inputs(*g);
  Executor ex(g, {.threads = 1, .profile = true});
  ex.run(inputs);
  ex.reset_profile();
  const int runs = 5;
  for (int i = 0; i < runs; ++i)
    ex.run(inputs);
  bench::print_op_type_profile(ex.profile(), runs,
                               std::string(m.name) + " INT8 per-op-type profile (1 thread)");
}

void register_benchmarks() {
  bench::register_fp32_int8_benchmarks(model_files(), run_model);
}

} // namespace
} // namespace qtune

int main(int argc, char **argv) {
  benchmark::Initialize(&argc, argv);
  for (const auto &m : qtune::model_files())
    qtune::print_profile(m);
  qtune::register_benchmarks();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
