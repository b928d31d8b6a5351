// The VNNI pointwise int8 conv with its fused SiLU epilogue
// (kernels::Conv1x1U8) against what it replaces in QConv: oneDNN 2.6's int8
// conv writing f32 (bias, output scales) followed by qtune's SiLU +
// requantisation pass (kernels::silu_quantize). Same operands, same bits
// (tests/runtime/test_qconv_1x1.cpp); shapes of YOLOX-Nano's pointwise convs
// at 416x416. Args: cin, cout, height = width, threads.
//
//   build/bench/bench_qconv_1x1 --benchmark_repetitions=3 --benchmark_report_aggregates_only
#include <benchmark/benchmark.h>
#include <dnnl.hpp>
#include <limits>
#include <memory>
#include <omp.h>
#include <random>
#include <tuple>
#include <vector>

#include "onednn_conv1x1.h"
#include "runtime/kernels/qconv_1x1.h"
#include "runtime/kernels/silu.h"

namespace {

using dnnl::memory;
using tag = memory::format_tag;

struct Shape {
  int64_t cin, cout, hw;
  int64_t pixels() const { return hw * hw; }
};

Shape shape_of(const benchmark::State &state) {
  return {state.range(0), state.range(1), state.range(2)};
}

struct Operands {
  std::vector<uint8_t> x, y;
  std::vector<int8_t> w;
  std::vector<float> bias, scale;
};

Operands operands(const Shape &s) {
  std::mt19937 rng(1);
  Operands o;
  o.x.resize(static_cast<size_t>(s.pixels() * s.cin));
  o.y.resize(static_cast<size_t>(s.pixels() * s.cout));
  o.w.resize(static_cast<size_t>(s.cin * s.cout));
  for (auto &v : o.x)
    v = static_cast<uint8_t>(rng());
  for (auto &v : o.w)
    v = static_cast<int8_t>(rng() % 255 - 127);
  for (int64_t i = 0; i < s.cout; ++i) {
    o.bias.push_back(static_cast<float>(static_cast<int>(rng() % 2001) - 1000));
    o.scale.push_back(4.f / (600.f * static_cast<float>(s.cin)));
  }
  return o;
}

void BM_qconv1x1_vnni_silu(benchmark::State &state) {
  const Shape s = shape_of(state);
  omp_set_num_threads(static_cast<int>(state.range(3)));
  Operands o = operands(s);
  qtune::kernels::Conv1x1U8 k(o.w.data(), s.cout, s.cin, o.bias, o.scale);
  for (auto _ : state) {
    k.silu_quantize(o.x.data(), s.pixels(), o.y.data(), {true, 1.f / 0.012f, 20.f});
    benchmark::DoNotOptimize(o.y.data());
  }
  state.SetItemsProcessed(state.iterations() * s.pixels() * s.cin * s.cout); // MACs
}

// oneDNN's int8 conv of the operands, f32 output with bias and output scales,
// channels-last: what QConv ran before the VNNI kernel (its SiLU pass after).
struct OneDnnConv {
  std::vector<float> f32;
  qtune::bench::OneDnnConv1x1 c;
  OneDnnConv(const Shape &s, const Operands &o)
      : f32(static_cast<size_t>(s.pixels() * s.cout)),
        c(s.cin, s.cout, s.hw, s.hw, o.x.data(), o.w.data(), o.bias.data(), o.scale, f32.data(),
          memory::data_type::f32) {}
  void run() { c.run(); }
};

void BM_qconv1x1_onednn_then_silu_pass(benchmark::State &state) {
  const Shape s = shape_of(state);
  omp_set_num_threads(static_cast<int>(state.range(3)));
  Operands o = operands(s);
  OneDnnConv c(s, o);
  for (auto _ : state) {
    c.run();
    qtune::kernels::silu_quantize(c.f32.data(), o.y.data(), true, 1.f / 0.012f, 20.f,
                                  static_cast<int64_t>(c.f32.size()));
    benchmark::DoNotOptimize(o.y.data());
  }
  state.SetItemsProcessed(state.iterations() * s.pixels() * s.cin * s.cout);
  state.SetLabel(c.c.pd.impl_info_str());
}

// The conv alone, f32 out (no SiLU): the GEMM part of both kernels, on
// ResNet-50's 1x1 shapes too.
void BM_qconv1x1_vnni_real(benchmark::State &state) {
  const Shape s = shape_of(state);
  omp_set_num_threads(static_cast<int>(state.range(3)));
  Operands o = operands(s);
  qtune::kernels::Conv1x1U8 k(o.w.data(), s.cout, s.cin, o.bias, o.scale);
  std::vector<float> y(static_cast<size_t>(s.pixels() * s.cout));
  for (auto _ : state) {
    k.real(o.x.data(), s.pixels(), y.data());
    benchmark::DoNotOptimize(y.data());
  }
  state.SetItemsProcessed(state.iterations() * s.pixels() * s.cin * s.cout);
}

void BM_qconv1x1_onednn_real(benchmark::State &state) {
  const Shape s = shape_of(state);
  omp_set_num_threads(static_cast<int>(state.range(3)));
  Operands o = operands(s);
  OneDnnConv c(s, o);
  for (auto _ : state) {
    c.run();
    benchmark::DoNotOptimize(c.f32.data());
  }
  state.SetItemsProcessed(state.iterations() * s.pixels() * s.cin * s.cout);
  state.SetLabel(c.c.pd.impl_info_str());
}

// Args {cin, cout, side, threads} for each shape at 1 and 2 threads.
void shape_args(benchmark::internal::Benchmark *b,
                std::initializer_list<std::tuple<int, int, int>> shapes) {
  for (int64_t t : {1, 2})
    for (auto [ci, co, hw] : shapes)
      b->Args({ci, co, hw, t});
}

void resnet_shapes(benchmark::internal::Benchmark *b) {
  shape_args(b, {{256, 64, 56},
                 {64, 256, 56},
                 {512, 128, 28},
                 {128, 512, 28},
                 {1024, 256, 14},
                 {256, 1024, 14},
                 {2048, 512, 7},
                 {512, 2048, 7},
                 {64, 64, 52}});
}

// MobileNetV2's pointwise convs: the expansions (small cin, 6x wider cout) and
// projections (wide cin, narrow cout) of its first blocks and a late one.
void mobilenet_shapes(benchmark::internal::Benchmark *b) {
  shape_args(b, {{32, 16, 112},
                 {16, 96, 112},
                 {96, 24, 56},
                 {24, 144, 56},
                 {144, 24, 56},
                 {144, 32, 28},
                 {32, 192, 28},
                 {192, 32, 28},
                 {96, 576, 14},
                 {576, 96, 14},
                 {160, 960, 7},
                 {960, 160, 7}});
}

BENCHMARK(BM_qconv1x1_vnni_real)->Apply(resnet_shapes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_qconv1x1_onednn_real)->Apply(resnet_shapes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_qconv1x1_vnni_real)->Apply(mobilenet_shapes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_qconv1x1_onednn_real)->Apply(mobilenet_shapes)->Unit(benchmark::kMicrosecond);

// The clamp epilogue (ReLU6 then requantisation into u8: MobileNetV2's
// expansions; ResNet's Relu is the same work) against oneDNN's int8 conv with
// the same clip_v2 and linear post-ops writing u8, which QConv runs otherwise.
constexpr float kClipScale = 6.f / 255.f;

// Weights cold, as in a model: each iteration runs the next of enough copies
// (different weights) that ~96 MB of other weights pass through the caches
// between two runs of one copy. In a model the weights of the other convs and
// the activations do the same: on this VM a conv's weights come back as slowly
// with 48 MB between two runs as with 200 MB (ResNet-50's 2048 x 512 at 7x7 on
// oneDNN: 143 us warm, 220-236 us cold; 0.23-0.25 ms in ResNet-50 QDQ's
// profile). One copy: weights in cache.
int64_t cold_copies(const Shape &s) {
  return std::max<int64_t>(2, (int64_t{96} << 20) / (s.cin * s.cout));
}

// Copy i's weights: the operands' plus i (wrapping), so no two copies share bytes.
std::vector<int8_t> weights_of_copy(const Operands &o, int64_t i) {
  std::vector<int8_t> w = o.w;
  for (auto &v : w)
    v = static_cast<int8_t>(v + i);
  return w;
}

void vnni_clip(benchmark::State &state, int64_t copies) {
  const Shape s = shape_of(state);
  omp_set_num_threads(static_cast<int>(state.range(3)));
  Operands o = operands(s);
  std::vector<std::unique_ptr<qtune::kernels::Conv1x1U8>> ks;
  for (int64_t i = 0; i < copies; ++i) {
    const std::vector<int8_t> w = weights_of_copy(o, i);
    ks.push_back(
        std::make_unique<qtune::kernels::Conv1x1U8>(w.data(), s.cout, s.cin, o.bias, o.scale));
  }
  const float inf = std::numeric_limits<float>::infinity();
  const qtune::kernels::ClampRequantize e{true, 1.f / kClipScale, 0.f,  0.f,
                                          6.f,  nullptr,          -inf, inf};
  size_t i = 0;
  for (auto _ : state) {
    ks[i++ % ks.size()]->clamp_quantize(o.x.data(), s.pixels(), o.y.data(), e);
    benchmark::DoNotOptimize(o.y.data());
  }
  state.SetItemsProcessed(state.iterations() * s.pixels() * s.cin * s.cout);
}

void onednn_clip(benchmark::State &state, int64_t copies) {
  const Shape s = shape_of(state);
  omp_set_num_threads(static_cast<int>(state.range(3)));
  Operands o = operands(s);
  dnnl::post_ops ops;
  ops.append_eltwise(1.f, dnnl::algorithm::eltwise_clip_v2, 0.f, 6.f);
  ops.append_eltwise(1.f, dnnl::algorithm::eltwise_linear, 1.f / kClipScale, 0.f);
  std::vector<std::unique_ptr<qtune::bench::OneDnnConv1x1>> cs;
  for (int64_t i = 0; i < copies; ++i) {
    const std::vector<int8_t> w = weights_of_copy(o, i); // packed by the constructor
    cs.push_back(std::make_unique<qtune::bench::OneDnnConv1x1>(
        s.cin, s.cout, s.hw, s.hw, o.x.data(), w.data(), o.bias.data(), o.scale, o.y.data(),
        memory::data_type::u8, ops));
  }
  size_t i = 0;
  for (auto _ : state) {
    cs[i++ % cs.size()]->run();
    benchmark::DoNotOptimize(o.y.data());
  }
  state.SetItemsProcessed(state.iterations() * s.pixels() * s.cin * s.cout);
  state.SetLabel(cs[0]->pd.impl_info_str());
}

void BM_qconv1x1_vnni_clip(benchmark::State &state) {
  vnni_clip(state, 1);
}
void BM_qconv1x1_onednn_clip(benchmark::State &state) {
  onednn_clip(state, 1);
}
void BM_qconv1x1_vnni_clip_cold(benchmark::State &state) {
  vnni_clip(state, cold_copies(shape_of(state)));
}
void BM_qconv1x1_onednn_clip_cold(benchmark::State &state) {
  onednn_clip(state, cold_copies(shape_of(state)));
}

BENCHMARK(BM_qconv1x1_vnni_clip_cold)->Apply(resnet_shapes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_qconv1x1_onednn_clip_cold)->Apply(resnet_shapes)->Unit(benchmark::kMicrosecond);

BENCHMARK(BM_qconv1x1_vnni_clip)->Apply(mobilenet_shapes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_qconv1x1_onednn_clip)->Apply(mobilenet_shapes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_qconv1x1_vnni_clip)->Apply(resnet_shapes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_qconv1x1_onednn_clip)->Apply(resnet_shapes)->Unit(benchmark::kMicrosecond);

// YOLOX-Nano's pointwise shapes (cin, cout, map side) and threads.
void shapes(benchmark::internal::Benchmark *b) {
  shape_args(b, {{32, 16, 104},
                 {16, 32, 104},
                 {64, 32, 52},
                 {32, 64, 52},
                 {64, 64, 52},
                 {128, 64, 26},
                 {128, 128, 26},
                 {256, 128, 13},
                 {128, 256, 13}});
}

BENCHMARK(BM_qconv1x1_vnni_silu)->Apply(shapes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_qconv1x1_onednn_then_silu_pass)->Apply(shapes)->Unit(benchmark::kMicrosecond);

} // namespace

BENCHMARK_MAIN();
