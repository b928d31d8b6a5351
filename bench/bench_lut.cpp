// int8 lookup tables (qtune:QLut, lowering rule lut) against the QDQ graphs
// they replace, on a YOLOX-Nano activation shape (dark3, [1, 64, 52, 52] u8),
// 1 and 2 threads:
//   SiLU as ONNX Runtime's quantizer writes it: DQ -> Sigmoid -> Q -> DQ ->
//   Mul(DQ(x), .) -> Q (fp32 ops between Q/DQ)  vs  one 256-entry QLut;
//   a residual Add of two int8 tensors: DQ, DQ -> Add -> Q  vs  a 256x256 QLut.
//
//   build/bench/bench_lut --benchmark_min_time=0.5
#include <benchmark/benchmark.h>
#include <random>

#include "quant/lower_qdq.h"
#include "time_kernel.h"

namespace qtune {
namespace {

const Shape kShape{1, 64, 52, 52};

struct G {
  std::shared_ptr<Graph> g = std::make_shared<Graph>();
  void node(const char *op, std::vector<std::string> in, const std::string &out) {
    Node n;
    n.name = out;
    n.op_type = op;
    n.inputs = std::move(in);
    n.outputs = {out};
    g->nodes.push_back(std::move(n));
  }
  // Q / DQ parameters `p` (scale, u8 zero point) as initializers p_s, p_z.
  void params(const std::string &p, float scale, uint8_t zp) {
    g->initializers[p + "_s"] = Tensor::scalar_f32(scale);
    Tensor z(DType::u8, {});
    z.data<uint8_t>()[0] = zp;
    g->initializers[p + "_z"] = z;
  }
  void dq(const std::string &x, const std::string &p, const std::string &out) {
    node("DequantizeLinear", {x, p + "_s", p + "_z"}, out);
  }
  void q(const std::string &x, const std::string &p, const std::string &out) {
    node("QuantizeLinear", {x, p + "_s", p + "_z"}, out);
  }
};

Tensor random_u8(uint32_t seed) {
  Tensor t(DType::u8, kShape);
  std::mt19937 rng(seed);
  for (uint8_t &v : t.span<uint8_t>())
    v = static_cast<uint8_t>(rng());
  return t;
}

std::shared_ptr<Graph> silu_graph(bool lowered) {
  G b;
  b.params("x", 0.05f, 128);
  b.params("s", 1.f / 255, 0);
  b.params("y", 0.03f, 10);
  b.dq("x", "x", "xf");
  b.node("Sigmoid", {"xf"}, "sf");
  b.q("sf", "s", "sq");
  b.dq("sq", "s", "sd");
  b.node("Mul", {"xf", "sd"}, "mf");
  b.q("mf", "y", "y");
  b.g->inputs = {{"x", DType::u8, {}, false}};
  b.g->outputs = {{"y", DType::u8, {}, false}};
  if (lowered)
    quant::lower_qdq(*b.g);
  return b.g;
}

std::shared_ptr<Graph> add_graph(bool lowered) {
  G b;
  b.params("x", 0.05f, 128);
  b.params("r", 0.02f, 0);
  b.params("y", 0.06f, 100);
  b.dq("x", "x", "xf");
  b.dq("r", "r", "rf");
  b.node("Add", {"xf", "rf"}, "af");
  b.q("af", "y", "y");
  b.g->inputs = {{"x", DType::u8, {}, false}, {"r", DType::u8, {}, false}};
  b.g->outputs = {{"y", DType::u8, {}, false}};
  if (lowered)
    quant::lower_qdq(*b.g);
  return b.g;
}

void BM_silu(benchmark::State &state, bool lowered) {
  bench::time_graph_runs(state, silu_graph(lowered), random_u8(1));
}

void BM_add(benchmark::State &state, bool lowered) {
  auto g = add_graph(lowered);
  Executor ex(g, {.threads = static_cast<int>(state.range(0))});
  std::unordered_map<std::string, Tensor> in{{"x", random_u8(1)}, {"r", random_u8(2)}};
  ex.run(in);
  for (auto _ : state)
    benchmark::DoNotOptimize(ex.run(in));
}

BENCHMARK_CAPTURE(BM_silu, qdq_fp32_ops, false)->Arg(1)->Arg(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_silu, qlut, true)->Arg(1)->Arg(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_add, qdq_fp32_add, false)->Arg(1)->Arg(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_add, qlut_256x256, true)->Arg(1)->Arg(2)->UseRealTime();

} // namespace
} // namespace qtune

BENCHMARK_MAIN();
