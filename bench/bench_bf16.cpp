// BF16 vs FP32 latency of a ResNet-50-style conv net (224x224, bottleneck
// stages 3-4-6-3, random He-initialised weights, a stride-2 3x3 conv in place
// of the stem max-pool, no classifier head: the body is >97% of ResNet-50's
// FLOPs), at 1 and 2 threads. Both graphs go through the fusion passes (as
// `qtune run` executes them); the bf16 one has every Conv marked bf16 the way
// quantize_graph marks an all-bf16 plan. Prints the bf16-vs-fp32 output error.
// A batch-1 MLP (two 4096x4096 Gemm layers) shows the memory-bound case, where
// bf16 weights halve the bytes read.
//
//   build/bench/bench_bf16 --benchmark_min_time=2
#include <benchmark/benchmark.h>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>

#include "resnet_body.h"
#include "runtime/executor.h"
#include "runtime/fold_constants.h"
#include "time_kernel.h"

namespace qtune {
namespace {

Graph build_net() {
  bench::ResNetBody b;
  b.record_shapes = true;
  b.record("x", {1, 3, 224, 224});
  std::string y = b.body("x");
  Graph &g = b.g;
  g.inputs.push_back(g.value_info.at("x"));
  g.value_info.erase("x");
  g.outputs.push_back(g.value_info.at(y));
  g.toposort();
  return std::move(g);
}

Tensor random_input() {
  Tensor x(DType::f32, {1, 3, 224, 224});
  std::mt19937 rng(3);
  std::normal_distribution<float> d(0.f, 1.f);
  for (float &v : x.span<float>())
    v = d(rng);
  return x;
}

struct Models {
  std::shared_ptr<Graph> fp32, bf16;
  Tensor input = random_input();

  Models() {
    Graph g = build_net();
    Graph marked = g;
    for (Node &n : marked.nodes)
      if (n.op_type == "Conv")
        n.attrs[kPrecisionAttr] = std::string("bf16");
    optimize_graph_with_runtime(g);
    optimize_graph_with_runtime(marked);
    fp32 = std::make_shared<Graph>(std::move(g));
    bf16 = std::make_shared<Graph>(std::move(marked));
    Executor ef(fp32, {}), eb(bf16, {});
    Tensor yf = ef.run({{"x", input}})[0], yb = eb.run({{"x", input}})[0];
    double num = 0, den = 0;
    for (int64_t i = 0; i < yf.numel(); ++i) {
      double d = double(yf.data<float>()[i]) - yb.data<float>()[i];
      num += d * d;
      den += double(yf.data<float>()[i]) * yf.data<float>()[i];
    }
    std::printf("resnet50-style body: %zu fp32 nodes, %zu bf16 nodes; bf16 vs fp32 relative L2 "
                "error %.4f\n",
                fp32->nodes.size(), bf16->nodes.size(), std::sqrt(num / std::max(den, 1e-30)));
    print_profile("fp32", fp32);
    print_profile("bf16", bf16);
  }

  // Per-op-type time of 5 single-thread runs: where bf16 gains or loses.
  void print_profile(const char *label, std::shared_ptr<Graph> g) {
    Executor ex(g, {.threads = 1, .profile = true});
    ex.run({{"x", input}});
    ex.reset_profile();
    for (int i = 0; i < 5; ++i)
      ex.run({{"x", input}});
    std::map<std::string, double> by_op;
    for (const NodeProfile &p : ex.profile())
      by_op[p.op_type] += p.total_ms / 5;
    for (const auto &[op, ms] : by_op)
      std::printf("  %s %-12s %8.2f ms/run\n", label, op.c_str(), ms);
  }
};

Models &models() {
  static Models m;
  return m;
}

void run_model(benchmark::State &state, bool bf16) {
  Models &m = models();
  bench::time_graph_runs(state, bf16 ? m.bf16 : m.fp32, m.input);
}

void BM_ResNet50Body_FP32(benchmark::State &state) {
  run_model(state, false);
}
void BM_ResNet50Body_BF16(benchmark::State &state) {
  run_model(state, true);
}

// Batch-1 MLP: x[1,4096] -> Gemm+Relu -> Gemm, weights [4096,4096] each.
struct Mlp {
  std::shared_ptr<Graph> fp32, bf16;
  Tensor input{DType::f32, {1, 4096}};

  Mlp() {
    std::mt19937 rng(5);
    std::normal_distribution<float> d(0.f, 1.f / 64.f);
    Graph g;
    for (float &v : input.span<float>())
      v = d(rng) * 64.f;
    std::string x = "x";
    for (int l = 0; l < 2; ++l) {
      std::string w = "w" + std::to_string(l), b = "b" + std::to_string(l);
      Tensor wt(DType::f32, {4096, 4096}), bt(DType::f32, {4096});
      for (float &v : wt.span<float>())
        v = d(rng);
      for (float &v : bt.span<float>())
        v = d(rng);
      g.initializers[w] = wt;
      g.initializers[b] = bt;
      Node n;
      n.name = "fc" + std::to_string(l);
      n.op_type = "Gemm";
      n.inputs = {x, w, b};
      n.outputs = {n.name};
      g.nodes.push_back(n);
      x = n.name;
    }
    ValueInfo in, out;
    in.name = "x", in.dtype = DType::f32;
    out.name = x, out.dtype = DType::f32;
    g.inputs.push_back(in);
    g.outputs.push_back(out);
    Graph marked = g;
    for (Node &n : marked.nodes)
      n.attrs[kPrecisionAttr] = std::string("bf16");
    fp32 = std::make_shared<Graph>(std::move(g));
    bf16 = std::make_shared<Graph>(std::move(marked));
  }
};

void run_mlp(benchmark::State &state, bool bf16) {
  static Mlp m;
  bench::time_graph_runs(state, bf16 ? m.bf16 : m.fp32, m.input);
}

void BM_Mlp4096_FP32(benchmark::State &state) {
  run_mlp(state, false);
}
void BM_Mlp4096_BF16(benchmark::State &state) {
  run_mlp(state, true);
}

BENCHMARK(BM_Mlp4096_FP32)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Mlp4096_BF16)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ResNet50Body_FP32)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ResNet50Body_BF16)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

} // namespace
} // namespace qtune

BENCHMARK_MAIN();
