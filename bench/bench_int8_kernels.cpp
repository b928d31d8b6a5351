// Speed of the int8 boundary kernels on YOLOX / UltraFace shapes, 1 thread:
// QuantizeLinear (plain and NHWC output), DequantizeLinear (plain and NHWC
// input) and QMaxPool on the YOLOX SPP windows, each against the FP32 op it
// replaces or sits beside (MaxPool, Relu as a memory-bound baseline); and one
// pointwise QConv vs FP32 Conv at 1 and 2 threads (thread scaling of a single
// primitive: on a loaded machine compare the CPU column, the main thread's
// share of the work, since wall time then measures the scheduler); depthwise
// QConvs with a source zero point, folded or kept.
//
//   build/bench/bench_int8_kernels --benchmark_min_time=0.5
#include <benchmark/benchmark.h>
#include <omp.h>
#include <random>

#include "runtime/dnnl_util.h"
#include "runtime/kernel.h"
#include "time_kernel.h"

namespace qtune {
namespace {

Tensor random_f32(const Shape &s) {
  Tensor t(DType::f32, s);
  std::mt19937 rng(1);
  std::normal_distribution<float> d(0.f, 3.f);
  for (float &v : t.span<float>())
    v = d(rng);
  return t;
}

Tensor random_u8(const Shape &s) {
  Tensor t(DType::u8, s);
  std::mt19937 rng(2);
  for (uint8_t &v : t.span<uint8_t>())
    v = static_cast<uint8_t>(rng());
  return t;
}

Tensor u8_scalar(uint8_t v) {
  Tensor t(DType::u8, {});
  t.data<uint8_t>()[0] = v;
  return t;
}

// Prepares `node` on `in` (with `layouts` told to it when given) and times run().
void time_kernel(benchmark::State &state, const Node &node, const KernelEnv &env,
                 const std::vector<Tensor> &in,
                 const std::vector<const dnnl_memory_desc_t *> *layouts, int threads = 1) {
  omp_set_num_threads(threads);
  // NHWC and the pooling's layouts here have no padding: plain-sized buffers fit.
  bench::time_kernel_runs(state, node, env, in, layouts);
  state.SetItemsProcessed(state.iterations() * in[0].numel());
}

const Shape kShape{1, 16, 120, 160}; // UltraFace's first feature map

void BM_quantize_plain(benchmark::State &state) {
  Node n;
  n.name = "q", n.op_type = "QuantizeLinear";
  time_kernel(state, n, {}, {random_f32(kShape), Tensor::scalar_f32(0.05f), u8_scalar(128)},
              nullptr);
}

// NHWC output: the Q feeds a QConv in this graph. Arg 0: UltraFace's
// 16-channel feature map (generic tile transpose); arg 1: the YOLOX-Nano
// image [1,3,416,416] (C <= 4: the AVX-512 VBMI interleaving path; the tile
// transpose before it took 808-838 us CPU vs 216-239 us, 1 thread, load 15).
void BM_quantize_to_nhwc(benchmark::State &state) {
  static Graph g;
  Node q, c;
  q.name = "q", q.op_type = "QuantizeLinear", q.inputs = {"x", "s", "z"}, q.outputs = {"xq"};
  c.name = "c", c.op_type = "QConv", c.domain = "qtune", c.inputs = {"xq", "w"}, c.outputs = {"y"};
  g.nodes = {q, c};
  std::vector<const dnnl_memory_desc_t *> none(3, nullptr);
  const Shape shape = state.range(0) == 0 ? kShape : Shape{1, 3, 416, 416};
  time_kernel(state, q, KernelEnv{.graph = &g},
              {random_f32(shape), Tensor::scalar_f32(0.05f), u8_scalar(128)}, &none);
}

void BM_dequantize_plain(benchmark::State &state) {
  Node n;
  n.name = "dq", n.op_type = "DequantizeLinear";
  time_kernel(state, n, {}, {random_u8(kShape), Tensor::scalar_f32(0.05f), u8_scalar(128)},
              nullptr);
}

void BM_dequantize_from_nhwc(benchmark::State &state) {
  Node n;
  n.name = "dq", n.op_type = "DequantizeLinear";
  static dnnl::memory::desc nhwc(dnnl_util::to_dims(kShape), dnnl::memory::data_type::u8,
                                 dnnl::memory::format_tag::acdb);
  std::vector<const dnnl_memory_desc_t *> layouts{&nhwc.data, nullptr, nullptr};
  time_kernel(state, n, {}, {random_u8(kShape), Tensor::scalar_f32(0.05f), u8_scalar(128)},
              &layouts);
}

// Memory-bound FP32 baseline of the same size.
void BM_relu_f32(benchmark::State &state) {
  Node n;
  n.name = "relu", n.op_type = "Relu";
  time_kernel(state, n, {}, {random_f32(kShape)}, nullptr);
}

// YOLOX-Nano SPP: 128 channels on a 13x13 map, windows 5/9/13, stride 1.
Node spp_pool(const std::string &type, int64_t k) {
  Node n;
  n.name = "pool", n.op_type = type;
  n.domain = type == "QMaxPool" ? "qtune" : "";
  n.attrs["kernel_shape"] = std::vector<int64_t>{k, k};
  n.attrs["pads"] = std::vector<int64_t>{k / 2, k / 2, k / 2, k / 2};
  return n;
}

void BM_spp_qmaxpool_plain(benchmark::State &state) {
  time_kernel(state, spp_pool("QMaxPool", state.range(0)), {}, {random_u8({1, 128, 13, 13})},
              nullptr);
}

void BM_spp_qmaxpool_nhwc(benchmark::State &state) {
  static dnnl::memory::desc nhwc({1, 128, 13, 13}, dnnl::memory::data_type::u8,
                                 dnnl::memory::format_tag::acdb);
  std::vector<const dnnl_memory_desc_t *> layouts{&nhwc.data};
  time_kernel(state, spp_pool("QMaxPool", state.range(0)), {}, {random_u8({1, 128, 13, 13})},
              &layouts);
}

void BM_spp_maxpool_f32(benchmark::State &state) {
  time_kernel(state, spp_pool("MaxPool", state.range(0)), {}, {random_f32({1, 128, 13, 13})},
              nullptr);
}

BENCHMARK(BM_quantize_plain)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_quantize_to_nhwc)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_dequantize_plain)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_dequantize_from_nhwc)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_relu_f32)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_spp_qmaxpool_plain)->Arg(5)->Arg(13)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_spp_qmaxpool_nhwc)->Arg(5)->Arg(13)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_spp_maxpool_f32)->Arg(5)->Arg(13)->Unit(benchmark::kMicrosecond);

// YOLOX-Nano-sized pointwise int8 convs (C -> C on HW x HW, NHWC in and
// out) with and without a source zero point, at 1 and 2 threads: args are
// (x_zero_point, threads, C, HW).
void BM_qconv_1x1(benchmark::State &state) {
  const int64_t C = state.range(2), HW = state.range(3);
  Node n;
  n.name = "qconv", n.op_type = "QConv", n.domain = "qtune";
  n.attrs["x_scale"] = 0.05f, n.attrs["x_zero_point"] = state.range(0);
  n.attrs["w_scales"] = std::vector<float>(C, 0.01f), n.attrs["y_scale"] = 0.1f;
  n.attrs["y_dtype"] = std::string("u8"), n.attrs["y_zero_point"] = int64_t{10};
  n.attrs["activation"] = std::string("SiLU");
  Tensor w(DType::i8, {C, C, 1, 1});
  std::mt19937 rng(3);
  for (int8_t &v : w.span<int8_t>())
    v = static_cast<int8_t>(rng() % 255 - 127);
  dnnl::memory::desc nhwc({1, C, HW, HW}, dnnl::memory::data_type::u8,
                          dnnl::memory::format_tag::acdb);
  std::vector<const dnnl_memory_desc_t *> layouts{&nhwc.data, nullptr, nullptr};
  time_kernel(
      state, n, {},
      {random_u8({1, C, HW, HW}), w, Tensor::from_vector<float>({C}, std::vector<float>(C, 0.1f))},
      &layouts, static_cast<int>(state.range(1)));
}
BENCHMARK(BM_qconv_1x1)
    ->Args({0, 1, 64, 52})
    ->Args({0, 2, 64, 52})
    ->Args({3, 1, 64, 52})
    ->Args({3, 2, 64, 52})
    ->Args({3, 1, 16, 104})
    ->Args({3, 2, 16, 104})
    ->Args({3, 1, 128, 13})
    ->Args({3, 2, 128, 13})
    ->Unit(benchmark::kMicrosecond);

// YOLOX-Nano's depthwise 3x3 int8 convs with SiLU (u8 NHWC in, source zero
// point 3, 1 thread): args (folded, C, HW, stride). folded 1: an integer
// bias, so the zero point folds into it and the border outputs are corrected
// (oneDNN's brdgmm_dw without a zero point); 0: a fractional bias, which
// keeps oneDNN's runtime zero point (its jit_int8 kernel), the path before.
void BM_qconv_dw_zero_point(benchmark::State &state) {
  const int64_t C = state.range(1), HW = state.range(2), stride = state.range(3);
  const float xs = 0.05f, ws = 0.01f;
  Node n;
  n.name = "dconv", n.op_type = "QConv", n.domain = "qtune";
  n.attrs["x_scale"] = xs, n.attrs["x_zero_point"] = int64_t{3};
  n.attrs["w_scales"] = std::vector<float>(C, ws), n.attrs["y_scale"] = 0.1f;
  n.attrs["y_dtype"] = std::string("u8"), n.attrs["y_zero_point"] = int64_t{10};
  n.attrs["activation"] = std::string("SiLU");
  n.attrs["group"] = C;
  n.attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  n.attrs["strides"] = std::vector<int64_t>{stride, stride};
  Tensor w(DType::i8, {C, 1, 3, 3});
  std::mt19937 rng(3);
  for (int8_t &v : w.span<int8_t>())
    v = static_cast<int8_t>(rng() % 255 - 127);
  const float bias = state.range(0) ? 40.f * xs * ws : 40.3f * xs * ws; // accumulator units
  dnnl::memory::desc nhwc({1, C, HW, HW}, dnnl::memory::data_type::u8,
                          dnnl::memory::format_tag::acdb);
  std::vector<const dnnl_memory_desc_t *> layouts{&nhwc.data, nullptr, nullptr};
  time_kernel(
      state, n, {},
      {random_u8({1, C, HW, HW}), w, Tensor::from_vector<float>({C}, std::vector<float>(C, bias))},
      &layouts);
}
BENCHMARK(BM_qconv_dw_zero_point)
    ->ArgsProduct({{0, 1}, {64}, {52}, {1, 2}})
    ->ArgsProduct({{0, 1}, {32}, {52}, {1}})
    ->ArgsProduct({{0, 1}, {128}, {13, 26}, {1}})
    ->Unit(benchmark::kMicrosecond);

// The FP32 Conv of the same shape (oneDNN picks its layouts), args: threads.
void BM_conv_1x1_f32(benchmark::State &state) {
  const int64_t C = 64, HW = 52;
  Node n;
  n.name = "conv", n.op_type = "Conv";
  time_kernel(state, n, {}, {random_f32({1, C, HW, HW}), random_f32({C, C, 1, 1})}, nullptr,
              static_cast<int>(state.range(0)));
}
BENCHMARK(BM_conv_1x1_f32)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond);

} // namespace
} // namespace qtune

BENCHMARK_MAIN();
