// The YOLOX "Focus" stem (x [1,3,416,416] -> 4 strided samplings (6 Slices)
// -> Concat -> Conv 12->16 3x3 + SiLU) as exported, against the same graph after
// fold_space_to_depth_conv (one Conv 3->16 6x6 stride 2 on x, no Slice, no
// Concat). Both get the activation fusion; 1 and 2 threads. Prints the largest
// difference between the two outputs first.
//
//   build/bench/bench_focus --benchmark_min_time=1
#include <benchmark/benchmark.h>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>

#include "ir/passes/pass.h"
#include "runtime/executor.h"
#include "runtime/fold_constants.h"
#include "time_kernel.h"
#include "tune/benchmark_model.h"

namespace qtune {
namespace {

Node make(const std::string &op, std::vector<std::string> in, std::string out,
          std::map<std::string, Attribute> attrs = {}) {
  Node n;
  n.name = op + "_" + out;
  n.op_type = op;
  n.inputs = std::move(in);
  n.outputs = {std::move(out)};
  n.attrs = std::move(attrs);
  return n;
}

Graph focus_stem() {
  Graph g;
  g.opset = 13;
  ValueInfo x{"x", DType::f32, {}, true};
  for (int64_t d : {1, 3, 416, 416})
    x.dims.push_back(Dim{d, ""});
  g.inputs.push_back(x);
  auto ints = [&](const std::string &name, int64_t v) {
    g.initializers[name] = Tensor::from_vector<int64_t>({1}, {v});
  };
  ints("big", std::numeric_limits<int64_t>::max());
  ints("zero", 0), ints("one", 1), ints("two", 2), ints("ax2", 2), ints("ax3", 3);
  g.nodes.push_back(make("Slice", {"x", "zero", "big", "ax2", "two"}, "r0"));
  g.nodes.push_back(make("Slice", {"x", "one", "big", "ax2", "two"}, "r1"));
  const char *rows[4] = {"r0", "r1", "r0", "r1"}, *cols[4] = {"zero", "zero", "one", "one"};
  std::vector<std::string> parts;
  for (int k = 0; k < 4; ++k) {
    parts.push_back("p" + std::to_string(k));
    g.nodes.push_back(make("Slice", {rows[k], cols[k], "big", "ax3", "two"}, parts.back()));
  }
  g.nodes.push_back(make("Concat", parts, "cat", {{"axis", int64_t{1}}}));
  g.initializers["w"] = tune::lcg_uniform({16, 12, 3, 3}, 1, -0.1f, 0.1f);
  g.initializers["b"] = tune::lcg_uniform({16}, 2, -0.1f, 0.1f);
  g.nodes.push_back(make(
      "Conv", {"cat", "w", "b"}, "c",
      {{"pads", std::vector<int64_t>{1, 1, 1, 1}}, {"kernel_shape", std::vector<int64_t>{3, 3}}}));
  g.nodes.push_back(make("Sigmoid", {"c"}, "s"));
  g.nodes.push_back(make("Mul", {"c", "s"}, "y"));
  ValueInfo y{"y", DType::f32, {}, false};
  g.outputs.push_back(y);
  return g;
}

struct Graphs {
  std::shared_ptr<Graph> sliced, folded;
  Tensor input = tune::lcg_uniform({1, 3, 416, 416}, 3, 0.f, 255.f);
  Graphs() {
    Graph a = focus_stem(), b = focus_stem();
    fuse_activations(a); // what the pipeline did before the fold
    optimize_graph_with_runtime(b);
    sliced = std::make_shared<Graph>(std::move(a));
    folded = std::make_shared<Graph>(std::move(b));
    Executor ea(sliced, {.threads = 1}), eb(folded, {.threads = 1});
    auto ya = ea.run({{"x", input}}), yb = eb.run({{"x", input}});
    float worst = 0;
    for (int64_t i = 0; i < ya[0].numel(); ++i)
      worst = std::max(worst, std::abs(ya[0].data<float>()[i] - yb[0].data<float>()[i]));
    std::printf("nodes: sliced %zu, folded %zu; max |difference| %g\n", sliced->nodes.size(),
                folded->nodes.size(), worst);
  }
};

Graphs &graphs() {
  static Graphs g;
  return g;
}

void BM_focus_slices_concat_conv(benchmark::State &s) {
  bench::time_graph_runs(s, graphs().sliced, graphs().input);
}
void BM_focus_folded_conv(benchmark::State &s) {
  bench::time_graph_runs(s, graphs().folded, graphs().input);
}
BENCHMARK(BM_focus_slices_concat_conv)
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_focus_folded_conv)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

} // namespace
} // namespace qtune

BENCHMARK_MAIN();
