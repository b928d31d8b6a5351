// Speed of the int8 kernels the QDQ lowering adds, each against the FP32 op it
// replaces, at 1 and 2 threads (the argument):
//   QMatMul (u8 x s8 -> u8, per-column scales, bias, Relu) vs FP32 Gemm(transB)
//     fmnist_fc   M=1,   K=1568, N=128   (Fashion-MNIST classifier)
//     resnet_fc   M=1,   K=2048, N=1000  (ResNet-50 head)
//     bert_ffn    M=128, K=768,  N=3072  (BERT-base feed-forward)
//   QAveragePool global [1,2048,7,7] vs FP32 GlobalAveragePool
//   QResize nearest x2 [1,64,26,26] vs FP32 Resize (YOLOX upsample)
//
//   build/bench/bench_qmatmul --benchmark_min_time=0.5
#include <benchmark/benchmark.h>
#include <omp.h>
#include <random>

#include "runtime/kernel.h"
#include "time_kernel.h"

namespace qtune {
namespace {

Tensor random_tensor(DType t, const Shape &s, uint32_t seed) {
  Tensor x(t, s);
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.f, 1.f);
  for (int64_t i = 0; i < x.numel(); ++i) {
    if (t == DType::f32)
      x.data<float>()[i] = d(rng);
    else if (t == DType::u8)
      x.data<uint8_t>()[i] = static_cast<uint8_t>(rng());
    else
      x.data<int8_t>()[i] = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
  }
  return x;
}

Node make_node(const std::string &op, const std::string &domain) {
  Node n;
  n.name = "bench_" + op;
  n.op_type = op;
  n.domain = domain;
  return n;
}

void time_kernel(benchmark::State &state, const Node &node, const std::vector<Tensor> &in) {
  omp_set_num_threads(static_cast<int>(state.range(0)));
  KernelEnv env;
  env.threads = static_cast<int>(state.range(0));
  bench::time_kernel_runs(state, node, env, in);
}

struct FcShape {
  int64_t m, k, n;
};
const FcShape kFmnist{1, 1568, 128}, kResnet{1, 2048, 1000}, kBert{128, 768, 3072};

void fc_int8(benchmark::State &state, FcShape s) {
  Node n = make_node("QMatMul", "qtune");
  n.attrs["a_scale"] = 0.02f;
  n.attrs["a_zero_point"] = int64_t{128};
  n.attrs["w_scales"] = std::vector<float>(s.n, 0.003f);
  n.attrs["trans_b"] = int64_t{1};
  n.attrs["activation"] = std::string("Relu");
  n.attrs["y_dtype"] = std::string("u8");
  n.attrs["y_scale"] = 0.05f;
  n.attrs["y_zero_point"] = int64_t{0};
  time_kernel(state, n,
              {random_tensor(DType::u8, {s.m, s.k}, 1), random_tensor(DType::i8, {s.n, s.k}, 2),
               random_tensor(DType::f32, {s.n}, 3)});
}

void fc_fp32(benchmark::State &state, FcShape s) {
  Node n = make_node("FusedGemm", "qtune");
  n.attrs["transB"] = int64_t{1};
  n.attrs["activation"] = std::string("Relu");
  time_kernel(state, n,
              {random_tensor(DType::f32, {s.m, s.k}, 1), random_tensor(DType::f32, {s.n, s.k}, 2),
               random_tensor(DType::f32, {s.n}, 3)});
}

void BM_fmnist_fc_fp32(benchmark::State &s) {
  fc_fp32(s, kFmnist);
}
void BM_fmnist_fc_int8(benchmark::State &s) {
  fc_int8(s, kFmnist);
}
void BM_resnet_fc_fp32(benchmark::State &s) {
  fc_fp32(s, kResnet);
}
void BM_resnet_fc_int8(benchmark::State &s) {
  fc_int8(s, kResnet);
}
void BM_bert_ffn_fp32(benchmark::State &s) {
  fc_fp32(s, kBert);
}
void BM_bert_ffn_int8(benchmark::State &s) {
  fc_int8(s, kBert);
}

void BM_global_avgpool_fp32(benchmark::State &s) {
  time_kernel(s, make_node("GlobalAveragePool", ""),
              {random_tensor(DType::f32, {1, 2048, 7, 7}, 4)});
}

void BM_global_avgpool_int8(benchmark::State &s) {
  Node n = make_node("QAveragePool", "qtune");
  n.attrs["global"] = int64_t{1};
  n.attrs["x_scale"] = 0.02f;
  n.attrs["x_zero_point"] = int64_t{0};
  n.attrs["y_scale"] = 0.01f;
  time_kernel(s, n, {random_tensor(DType::u8, {1, 2048, 7, 7}, 4)});
}

std::vector<Tensor> resize_inputs(DType t) {
  return {random_tensor(t, {1, 64, 26, 26}, 5), Tensor(DType::f32, {0}),
          Tensor::from_vector<float>({4}, {1, 1, 2, 2})};
}

void BM_resize_nearest_fp32(benchmark::State &s) {
  Node n = make_node("Resize", "");
  n.attrs["mode"] = std::string("nearest");
  n.attrs["coordinate_transformation_mode"] = std::string("asymmetric");
  n.attrs["nearest_mode"] = std::string("floor");
  time_kernel(s, n, resize_inputs(DType::f32));
}

void BM_resize_nearest_int8(benchmark::State &s) {
  Node n = make_node("QResize", "qtune");
  n.attrs["mode"] = std::string("nearest");
  n.attrs["coordinate_transformation_mode"] = std::string("asymmetric");
  n.attrs["nearest_mode"] = std::string("floor");
  time_kernel(s, n, resize_inputs(DType::u8));
}

#define QTUNE_BENCH(f) BENCHMARK(f)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond)->UseRealTime()
QTUNE_BENCH(BM_fmnist_fc_fp32);
QTUNE_BENCH(BM_fmnist_fc_int8);
QTUNE_BENCH(BM_resnet_fc_fp32);
QTUNE_BENCH(BM_resnet_fc_int8);
QTUNE_BENCH(BM_bert_ffn_fp32);
QTUNE_BENCH(BM_bert_ffn_int8);
QTUNE_BENCH(BM_global_avgpool_fp32);
QTUNE_BENCH(BM_global_avgpool_int8);
QTUNE_BENCH(BM_resize_nearest_fp32);
QTUNE_BENCH(BM_resize_nearest_int8);

} // namespace
} // namespace qtune

BENCHMARK_MAIN();
