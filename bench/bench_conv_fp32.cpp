// The FP32 convolution choices of issue 12, each against what it replaces,
// on the shapes that matter (oneDNN primitives built directly):
//   BM_conv1x1_silu/C/HW/mode  YOLOX-Nano's 1x1 conv + SiLU: mode 0 oneDNN's
//       swish post-op (before), 1 the conv then qtune's SiLU pass (oneDNN's
//       bits: int8 graphs), 2 the conv alone (what SiLU costs on top), 3 the
//       conv then the fast SiLU pass (graphs without quantized activations)
//   BM_conv1x1_silu_sum/C/HW/mode  the same with the CSP shortcut's residual add
//       after the SiLU: mode 0 oneDNN's swish + sum post-ops reading the addend
//       from dst (before), 1 the conv then qtune's SiLU+add pass, 2 the conv
//       then the fast SiLU+add pass (graphs without quantized activations)
//   BM_conv3x3/C/HW/alg        ResNet-50's 3x3 stride-1 convs in channels-last
//       tensors: alg 0 oneDNN's direct conv (before), 1 Winograd F(2x2,3x3)
//       with the reorder from and back to channels-last it needs (now where
//       HW >= 28)
//   BM_conv_gemm/CI/CO/HW/K/mode/cold/threads/stride  ResNet-50's late convs:
//       mode 0 oneDNN's direct conv, 1 qtune's GEMM-tile conv (ConvGemmF32),
//       with weights cached (cold 0) or coming from memory (cold 1)
//   build/bench/bench_conv_fp32 --benchmark_min_time=0.5
#include <algorithm>
#include <benchmark/benchmark.h>
#include <cmath>
#include <memory>
#include <omp.h>
#include <oneapi/dnnl/dnnl.hpp>
#include <vector>

#include "runtime/kernels/conv_gemm_f32.h"
#include "runtime/kernels/silu.h"

namespace {

using dnnl::memory;
using tag = memory::format_tag;
constexpr auto f32 = memory::data_type::f32;

dnnl::engine &engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

void fill(memory &m, float scale) {
  auto *p = static_cast<float *>(m.get_data_handle());
  const size_t n = m.get_desc().get_size() / sizeof(float);
  for (size_t i = 0; i < n; ++i)
    p[i] = scale * std::sin(0.37f * static_cast<float>(i % 9973));
}

struct Conv {
  dnnl::convolution_forward prim;
  memory src, wei, bias, dst;
};

Conv make_conv(int64_t ic, int64_t oc, int64_t hw, int64_t k, dnnl::algorithm alg, bool swish,
               tag layout, bool sum = false, bool relu = false, int64_t stride = 1) {
  const int64_t pad = k / 2, ohw = (hw + 2 * pad - k) / stride + 1;
  memory::desc s({1, ic, hw, hw}, f32, layout), w({oc, ic, k, k}, f32, tag::any),
      d({1, oc, ohw, ohw}, f32, layout), b({oc}, f32, tag::a);
  dnnl::post_ops ops;
  if (swish)
    ops.append_eltwise(1.f, dnnl::algorithm::eltwise_swish, 1.f, 0.f);
  if (relu)
    ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
  if (sum)
    ops.append_sum(1.f);
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, alg, s, w, b, d,
                                       {stride, stride}, {pad, pad}, {pad, pad});
  dnnl::convolution_forward::primitive_desc pd(desc, attr, engine());
  Conv c{dnnl::convolution_forward(pd), memory(pd.src_desc(), engine()),
         memory(pd.weights_desc(), engine()), memory(b, engine()), memory(pd.dst_desc(), engine())};
  fill(c.src, 3.f), fill(c.wei, 0.05f), fill(c.bias, 0.1f);
  return c;
}

void execute(dnnl::stream &s, Conv &c) {
  c.prim.execute(s, {{DNNL_ARG_SRC, c.src},
                     {DNNL_ARG_WEIGHTS, c.wei},
                     {DNNL_ARG_BIAS, c.bias},
                     {DNNL_ARG_DST, c.dst}});
  s.wait();
}

void BM_conv1x1_silu(benchmark::State &state) {
  omp_set_num_threads(1);
  const int64_t c = state.range(0), hw = state.range(1), mode = state.range(2);
  if (mode == 3 && !qtune::kernels::silu_fast_is_available())
    return state.SkipWithError("no AVX-512 DQ");
  Conv conv = make_conv(c, c, hw, 1, dnnl::algorithm::convolution_direct, mode == 0, tag::nhwc);
  dnnl::stream s(engine());
  auto *y = static_cast<float *>(conv.dst.get_data_handle());
  const int64_t n = c * hw * hw;
  for (auto _ : state) {
    execute(s, conv);
    if (mode == 1)
      qtune::kernels::silu_inplace(y, n);
    if (mode == 3)
      qtune::kernels::silu_fast_inplace(y, n);
  }
  state.SetItemsProcessed(state.iterations() * n);
}
// YOLOX-Nano's 1x1 conv shapes: channels x map size.
BENCHMARK(BM_conv1x1_silu)
    ->ArgsProduct({{32}, {104}, {0, 1, 2, 3}})
    ->ArgsProduct({{64}, {52}, {0, 1, 2, 3}})
    ->ArgsProduct({{128}, {26}, {0, 1, 2, 3}})
    ->ArgsProduct({{256}, {13}, {0, 1, 2, 3}})
    ->Unit(benchmark::kMicrosecond);

void BM_conv1x1_silu_sum(benchmark::State &state) {
  omp_set_num_threads(1);
  const int64_t c = state.range(0), hw = state.range(1), mode = state.range(2);
  if (mode == 2 && !qtune::kernels::silu_fast_is_available())
    return state.SkipWithError("no AVX-512 DQ");
  Conv conv =
      make_conv(c, c, hw, 1, dnnl::algorithm::convolution_direct, mode == 0, tag::nhwc, mode == 0);
  dnnl::stream s(engine());
  memory addend(conv.dst.get_desc(), engine());
  fill(addend, 1.f);
  auto *y = static_cast<float *>(conv.dst.get_data_handle());
  const auto *a = static_cast<const float *>(addend.get_data_handle());
  const int64_t n = c * hw * hw;
  for (auto _ : state) {
    execute(s, conv);
    if (mode == 1)
      qtune::kernels::silu_add_inplace(y, a, n);
    if (mode == 2)
      qtune::kernels::silu_fast_add_inplace(y, a, n);
  }
  state.SetItemsProcessed(state.iterations() * n);
}
// YOLOX-Nano's CSP bottleneck 1x1 convs with a shortcut (dark2-dark4).
BENCHMARK(BM_conv1x1_silu_sum)
    ->ArgsProduct({{32}, {104}, {0, 1, 2}})
    ->ArgsProduct({{64}, {52}, {0, 1, 2}})
    ->ArgsProduct({{128}, {26}, {0, 1, 2}})
    ->Unit(benchmark::kMicrosecond);

void BM_conv3x3(benchmark::State &state) {
  omp_set_num_threads(1);
  const int64_t c = state.range(0), hw = state.range(1);
  const bool wino = state.range(2) == 1;
  Conv conv =
      make_conv(c, c, hw, 3,
                wino ? dnnl::algorithm::convolution_winograd : dnnl::algorithm::convolution_direct,
                false, wino ? tag::any : tag::nhwc);
  dnnl::stream s(engine());
  // Winograd wants a blocked layout: its neighbours (ResNet's 1x1 convs)
  // write and read channels-last, so both reorders are part of its cost.
  memory nhwc_in({{1, c, hw, hw}, f32, tag::nhwc}, engine());
  memory nhwc_out({{1, c, hw, hw}, f32, tag::nhwc}, engine());
  fill(nhwc_in, 3.f);
  dnnl::reorder to(nhwc_in, conv.src), back(conv.dst, nhwc_out);
  for (auto _ : state) {
    if (wino)
      to.execute(s, nhwc_in, conv.src);
    execute(s, conv);
    if (wino) {
      back.execute(s, conv.dst, nhwc_out);
      s.wait();
    }
  }
}
// ResNet-50's 3x3 stride-1 shapes.
BENCHMARK(BM_conv3x3)
    ->ArgsProduct({{64}, {56}, {0, 1}})
    ->ArgsProduct({{128}, {28}, {0, 1}})
    ->ArgsProduct({{256}, {14}, {0, 1}})
    ->ArgsProduct({{512}, {7}, {0, 1}})
    ->Unit(benchmark::kMicrosecond);

// ResNet-50's late convs, Relu after: oneDNN's direct conv (mode 0, what
// FusedConv ran before) against kernels::ConvGemmF32 (mode 1), with the weights
// cached (cold 0) or cold (cold 1: each iteration runs the next of enough
// copies that ~96 MB of other weights pass between two runs of one, as the
// model's 102 MB do). Args: cin, cout, input side, kernel, mode, cold, threads,
// stride.
void BM_conv_gemm(benchmark::State &state) {
  const int64_t ic = state.range(0), oc = state.range(1), hw = state.range(2), k = state.range(3);
  const bool ours = state.range(4) == 1, cold = state.range(5) == 1;
  omp_set_num_threads(static_cast<int>(state.range(6)));
  const int64_t stride = state.range(7), ohw = (hw + 2 * (k / 2) - k) / stride + 1;
  if (ours && !qtune::kernels::ConvGemmF32::available())
    return state.SkipWithError("no AVX-512");
  const int64_t weights = ic * oc * k * k * 4;
  const int64_t copies = cold ? std::max<int64_t>(2, (int64_t{96} << 20) / weights) : 1;
  std::vector<float> w(static_cast<size_t>(ic * oc * k * k)), x(static_cast<size_t>(ic * hw * hw)),
      y(static_cast<size_t>(oc * ohw * ohw)), bias(static_cast<size_t>(oc), 0.1f);
  for (size_t i = 0; i < w.size(); ++i)
    w[i] = 0.05f * std::sin(0.37f * static_cast<float>(i % 9973));
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = 3.f * std::sin(0.37f * static_cast<float>(i % 9973));
  std::vector<std::unique_ptr<qtune::kernels::ConvGemmF32>> mine;
  std::vector<Conv> theirs;
  for (int64_t i = 0; i < copies; ++i) {
    if (ours)
      mine.push_back(
          std::make_unique<qtune::kernels::ConvGemmF32>(w.data(), oc, ic, k, stride, bias));
    else
      theirs.push_back(make_conv(ic, oc, hw, k, dnnl::algorithm::convolution_direct, false,
                                 tag::nhwc, false, true, stride));
  }
  dnnl::stream s(engine());
  size_t i = 0;
  for (auto _ : state) {
    if (ours)
      mine[i++ % mine.size()]->run(x.data(), hw, hw, y.data(), {true, nullptr, false});
    else
      execute(s, theirs[i++ % theirs.size()]);
  }
  state.SetItemsProcessed(state.iterations() * ic * oc * k * k * ohw * ohw); // MACs
}
BENCHMARK(BM_conv_gemm)
    ->ArgsProduct({{512}, {512}, {7}, {3}, {0, 1}, {0, 1}, {1, 2}, {1}})
    ->ArgsProduct({{2048}, {512}, {7}, {1}, {0, 1}, {0, 1}, {1, 2}, {1}})
    ->ArgsProduct({{512}, {2048}, {7}, {1}, {0, 1}, {0, 1}, {1, 2}, {1}})
    ->ArgsProduct({{256}, {256}, {14}, {3}, {0, 1}, {0, 1}, {1, 2}, {1}})
    ->ArgsProduct({{1024}, {256}, {14}, {1}, {0, 1}, {0, 1}, {1, 2}, {1}})
    ->ArgsProduct({{256}, {1024}, {14}, {1}, {0, 1}, {0, 1}, {1, 2}, {1}})
    ->ArgsProduct({{128}, {128}, {28}, {3}, {0, 1}, {0, 1}, {1, 2}, {1}})
    ->ArgsProduct({{512}, {128}, {28}, {1}, {0, 1}, {0, 1}, {1, 2}, {1}})
    ->ArgsProduct({{128}, {512}, {28}, {1}, {0, 1}, {0, 1}, {1, 2}, {1}})
    ->ArgsProduct({{256}, {64}, {56}, {1}, {0, 1}, {0, 1}, {1, 2}, {1}})
    ->ArgsProduct({{64}, {256}, {56}, {1}, {0, 1}, {0, 1}, {1, 2}, {1}})
    ->ArgsProduct({{512}, {512}, {14}, {3}, {0, 1}, {0, 1}, {1, 2}, {2}})
    ->ArgsProduct({{1024}, {2048}, {14}, {1}, {0, 1}, {0, 1}, {1, 2}, {2}})
    ->ArgsProduct({{512}, {1024}, {28}, {1}, {0, 1}, {0, 1}, {1, 2}, {2}})
    ->ArgsProduct({{256}, {256}, {28}, {3}, {0, 1}, {0, 1}, {1, 2}, {2}})
    ->Unit(benchmark::kMicrosecond);

} // namespace

BENCHMARK_MAIN();
