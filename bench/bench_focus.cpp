// The YOLOX "Focus" stem (x [1,3,416,416] -> 4 strided samplings (6 Slices)
// -> Concat -> Conv 12->16 3x3 + SiLU) as exported, against the same graph after
// fold_space_to_depth_conv (one Conv 3->16 6x6 stride 2 on x, no Slice, no
// Concat). Both get the activation fusion; 1 and 2 threads. Prints the largest
// difference between the two outputs first. The same for the QDQ form ONNX
// Runtime's quantizer writes (Concat -> Q -> DQ -> Conv), lowered to int8.
//
//   build/bench/bench_focus --benchmark_min_time=1
#include <benchmark/benchmark.h>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>

#include "ir/passes/pass.h"
#include "quant/inference_graph.h"
#include "quant/lower_qdq.h"
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

// The QDQ form ONNX Runtime's quantizer writes: Concat -> Q -> DQ -> Conv with
// int8 per-channel weights behind a DQ, output Q -> DQ.
Graph focus_stem_qdq() {
  Graph g = focus_stem();
  g.nodes.resize(g.nodes.size() - 3); // Conv, Sigmoid, Mul
  Tensor wq(DType::i8, {16, 12, 3, 3});
  for (int64_t i = 0; i < wq.numel(); ++i)
    wq.data<int8_t>()[i] = static_cast<int8_t>(i * 37 % 255 - 127);
  g.initializers["wq"] = wq;
  g.initializers["ws"] = tune::lcg_uniform({16}, 4, 0.001f, 0.002f);
  g.initializers["s1"] = Tensor::scalar_f32(1.f);
  g.initializers["s2"] = Tensor::scalar_f32(0.5f);
  Tensor z(DType::u8, {});
  z.data<uint8_t>()[0] = 0;
  g.initializers["z"] = z;
  g.nodes.push_back(make("QuantizeLinear", {"cat", "s1", "z"}, "cat_q"));
  g.nodes.push_back(make("DequantizeLinear", {"cat_q", "s1", "z"}, "cat_dq"));
  g.nodes.push_back(make("DequantizeLinear", {"wq", "ws"}, "w_dq", {{"axis", int64_t{0}}}));
  g.nodes.push_back(make(
      "Conv", {"cat_dq", "w_dq"}, "c",
      {{"pads", std::vector<int64_t>{1, 1, 1, 1}}, {"kernel_shape", std::vector<int64_t>{3, 3}}}));
  g.nodes.push_back(make("QuantizeLinear", {"c", "s2", "z"}, "c_q"));
  g.nodes.push_back(make("DequantizeLinear", {"c_q", "s2", "z"}, "y"));
  return g;
}

void print_difference(const char *what, const std::shared_ptr<Graph> &a,
                      const std::shared_ptr<Graph> &b, const Tensor &input) {
  Executor ea(a, {.threads = 1}), eb(b, {.threads = 1});
  auto ya = ea.run({{"x", input}}), yb = eb.run({{"x", input}});
  float worst = 0;
  for (int64_t i = 0; i < ya[0].numel(); ++i)
    worst = std::max(worst, std::abs(ya[0].data<float>()[i] - yb[0].data<float>()[i]));
  std::printf("%s nodes: sliced %zu, folded %zu; max |difference| %g\n", what, a->nodes.size(),
              b->nodes.size(), worst);
}

struct Graphs {
  std::shared_ptr<Graph> sliced, folded, qdq_sliced, qdq_folded;
  Tensor input = tune::lcg_uniform({1, 3, 416, 416}, 3, 0.f, 255.f);
  Graphs() {
    Graph a = focus_stem(), b = focus_stem();
    fuse_activations(a); // what the pipeline did before the fold
    optimize_graph_with_runtime(b);
    sliced = std::make_shared<Graph>(std::move(a));
    folded = std::make_shared<Graph>(std::move(b));
    print_difference("fp32", sliced, folded, input);
    // int8: lowered without the fold (f32 Slices + Concat + Q, QConv 3x3 on
    // the concat) and with it (Q of the image, QConv 6x6 stride 2).
    Graph qa = focus_stem_qdq(), qb = focus_stem_qdq();
    quant::lower_qdq(qa);
    quant::prepare_for_inference(qb);
    qdq_sliced = std::make_shared<Graph>(std::move(qa));
    qdq_folded = std::make_shared<Graph>(std::move(qb));
    print_difference("int8", qdq_sliced, qdq_folded, input);
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
void BM_focus_int8_slices_concat_qconv(benchmark::State &s) {
  bench::time_graph_runs(s, graphs().qdq_sliced, graphs().input);
}
void BM_focus_int8_folded_qconv(benchmark::State &s) {
  bench::time_graph_runs(s, graphs().qdq_folded, graphs().input);
}
BENCHMARK(BM_focus_int8_slices_concat_qconv)
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_focus_int8_folded_qconv)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

} // namespace
} // namespace qtune

BENCHMARK_MAIN();
