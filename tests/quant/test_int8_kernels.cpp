// int8 kernels against float references computed from the dequantized operands:
// the int8 result must be within one quantization step of quantize(reference).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <gtest/gtest.h>
#include <limits>
#include <map>
#include <random>
#include <set>

#include "qtune/error.h"
#include "runtime/dnnl_util.h"
#include "runtime/executor.h"
#include "runtime/kernel.h"
#include "runtime/kernels/int8_util.h"
#include "runtime/kernels/qconv.h"
#include "runtime/kernels/qconv_1x1.h"
#include "runtime/kernels/qconv_dw.h"
#include "runtime/kernels/silu.h"

#include "../runtime/threads_scope.h"

namespace qtune {
namespace {

std::vector<Tensor> run_node(const Node &node, const std::vector<Tensor> &inputs) {
  auto k = make_kernel(node, KernelEnv{});
  auto types = k->infer(inputs);
  k->prepare(inputs);
  std::vector<Tensor> outs;
  for (auto &t : types)
    outs.emplace_back(t.dtype, t.shape);
  k->run(inputs, outs);
  return outs;
}

template <typename T> Tensor random_int(Shape shape, int lo, int hi, std::mt19937 &rng) {
  Tensor t(dtype_of<T>(), std::move(shape));
  std::uniform_int_distribution<int> d(lo, hi);
  for (auto &v : t.span<T>())
    v = static_cast<T>(d(rng));
  return t;
}

// Runs graph g on input "x" through the executor (2 threads, oneDNN layouts
// between kernels) and returns every node's first output as the node hook
// sees it (plain layout).
std::map<std::string, Tensor> run_capturing(const std::shared_ptr<Graph> &g, const Tensor &x) {
  std::map<std::string, Tensor> seen;
  Executor ex(g, {.threads = 2});
  ex.set_node_hook(
      [&](const Node &n, std::span<const Tensor> outs) { seen[n.name] = outs[0].clone(); });
  ex.run({{"x", x}});
  return seen;
}

struct ConvCase {
  int64_t n = 1, c = 8, h = 9, w = 7, oc = 16, k = 3, stride = 1, pad = 1, group = 1;
  std::string activation;
  bool sum = false;
  bool channel_scale = false; // factor 1 + o / 4 on output channel o, after the activation
  DType x_dtype = DType::u8, y_dtype = DType::u8;
};

// Float reference: conv(dq(x), dq(w)) + b, activation, + dq(sum).
std::vector<float> reference_conv(const ConvCase &cc, const Tensor &x, float xs, int xz,
                                  const Tensor &w, const std::vector<float> &ws,
                                  const std::vector<float> &b, const std::vector<float> &sum,
                                  int64_t oh, int64_t ow) {
  std::vector<float> y(cc.n * cc.oc * oh * ow);
  int64_t cg = cc.c / cc.group, og = cc.oc / cc.group;
  auto xv = [&](int64_t n, int64_t c, int64_t i, int64_t j) -> float {
    if (i < 0 || j < 0 || i >= cc.h || j >= cc.w)
      return 0.f;
    int64_t idx = ((n * cc.c + c) * cc.h + i) * cc.w + j;
    int v = x.dtype() == DType::u8 ? x.data<uint8_t>()[idx] : x.data<int8_t>()[idx];
    return (v - xz) * xs;
  };
  for (int64_t n = 0; n < cc.n; ++n)
    for (int64_t o = 0; o < cc.oc; ++o)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          double acc = b[o];
          int64_t g = o / og;
          for (int64_t c = 0; c < cg; ++c)
            for (int64_t ki = 0; ki < cc.k; ++ki)
              for (int64_t kj = 0; kj < cc.k; ++kj) {
                float wv = w.data<int8_t>()[((o * cg + c) * cc.k + ki) * cc.k + kj] * ws[o];
                acc += wv *
                       xv(n, g * cg + c, i * cc.stride - cc.pad + ki, j * cc.stride - cc.pad + kj);
              }
          float v = static_cast<float>(acc);
          if (cc.activation == "Relu")
            v = std::max(v, 0.f);
          if (cc.activation == "SiLU")
            v = v / (1.f + std::exp(-v));
          if (cc.channel_scale)
            v *= 1.f + float(o) / 4.f;
          int64_t idx = ((n * cc.oc + o) * oh + i) * ow + j;
          if (cc.sum)
            v += sum[idx];
          y[idx] = v;
        }
  return y;
}

void check_qconv(const ConvCase &cc) {
  std::mt19937 rng(42);
  float xs = 0.05f, ys = 0.08f;
  int xz = cc.x_dtype == DType::u8 ? 119 : 0, yz = cc.y_dtype == DType::u8 ? 101 : 0;
  Tensor x = cc.x_dtype == DType::u8 ? random_int<uint8_t>({cc.n, cc.c, cc.h, cc.w}, 0, 255, rng)
                                     : random_int<int8_t>({cc.n, cc.c, cc.h, cc.w}, -127, 127, rng);
  Tensor w = random_int<int8_t>({cc.oc, cc.c / cc.group, cc.k, cc.k}, -127, 127, rng);
  // On CPUs without VNNI the kernel uses 7-bit weights (int8_util.h); the
  // reference then takes the same operands: round(w / 2) with twice the scale.
  bool halve = int8::weights_need_7bit();
  Tensor w_ref = w.clone();
  if (halve)
    for (auto &v : w_ref.span<int8_t>())
      v = static_cast<int8_t>(std::nearbyint(v / 2.f));
  std::vector<float> ws(cc.oc), b(cc.oc);
  std::uniform_real_distribution<float> u(0.5f, 1.5f);
  for (int64_t o = 0; o < cc.oc; ++o) {
    ws[o] = 0.002f * u(rng);
    b[o] = (u(rng) - 1.f) * 2.f;
  }
  int64_t oh = (cc.h + 2 * cc.pad - cc.k) / cc.stride + 1,
          ow = (cc.w + 2 * cc.pad - cc.k) / cc.stride + 1;
  Node node;
  node.name = "qconv";
  node.op_type = "QConv";
  node.domain = "qtune";
  node.attrs["strides"] = std::vector<int64_t>{cc.stride, cc.stride};
  node.attrs["pads"] = std::vector<int64_t>{cc.pad, cc.pad, cc.pad, cc.pad};
  node.attrs["group"] = cc.group;
  node.attrs["x_scale"] = xs;
  node.attrs["x_zero_point"] = int64_t{xz};
  node.attrs["w_scales"] = ws;
  node.attrs["y_dtype"] = std::string(dtype_name(cc.y_dtype));
  node.attrs["y_scale"] = ys;
  node.attrs["y_zero_point"] = int64_t{yz};
  if (!cc.activation.empty())
    node.attrs["activation"] = cc.activation;
  if (cc.channel_scale) {
    std::vector<float> f;
    for (int64_t o = 0; o < cc.oc; ++o)
      f.push_back(1.f + float(o) / 4.f);
    node.attrs["channel_scale"] = f;
  }
  std::vector<Tensor> inputs{x, w, Tensor::from_vector<float>({cc.oc}, b)};
  std::vector<float> sum_real;
  float ss = 0.06f;
  int sz = 90;
  if (cc.sum) {
    node.attrs["sum"] = int64_t{1};
    node.attrs["sum_scale"] = ss;
    node.attrs["sum_zero_point"] = int64_t{sz};
    Tensor s = random_int<uint8_t>({cc.n, cc.oc, oh, ow}, 0, 255, rng);
    for (uint8_t v : s.span<uint8_t>())
      sum_real.push_back((v - sz) * ss);
    inputs.push_back(s);
  }
  Tensor y = run_node(node, inputs)[0];
  ASSERT_EQ(y.shape(), (Shape{cc.n, cc.oc, oh, ow}));
  std::vector<float> ws_ref = ws;
  for (auto &v : ws_ref)
    v *= halve ? 2.f : 1.f;
  std::vector<float> ref = reference_conv(cc, x, xs, xz, w_ref, ws_ref, b, sum_real, oh, ow);
  int bad = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    if (cc.y_dtype == DType::f32) {
      // f32 output: only the float accumulation order differs.
      if (std::abs(y.data<float>()[i] - ref[i]) > 1e-3f * (1 + std::abs(ref[i])))
        ++bad;
      continue;
    }
    float q = std::nearbyint(ref[i] / ys) + yz;
    float lo = cc.y_dtype == DType::u8 ? 0.f : -128.f, hi = cc.y_dtype == DType::u8 ? 255.f : 127.f;
    q = std::clamp(q, lo, hi);
    float got = cc.y_dtype == DType::u8 ? y.data<uint8_t>()[i] : y.data<int8_t>()[i];
    if (std::abs(got - q) > 1)
      ++bad;
  }
  EXPECT_EQ(bad, 0) << "of " << ref.size();
}

// Recipe activation_equalization's factors, after SiLU, before requantizing:
// pointwise (brgconv) and depthwise (jit dw) shapes.
TEST(QConv, SiLUThenChannelScale) {
  check_qconv({.c = 16,
               .h = 12,
               .w = 12,
               .oc = 32,
               .k = 1,
               .pad = 0,
               .activation = "SiLU",
               .channel_scale = true});
  check_qconv({.c = 32,
               .h = 12,
               .w = 12,
               .oc = 32,
               .k = 3,
               .pad = 1,
               .group = 32,
               .activation = "SiLU",
               .channel_scale = true});
  check_qconv(
      {.c = 8, .oc = 16, .activation = "SiLU", .channel_scale = true, .y_dtype = DType::f32});
}

TEST(QConv, U8PaddedMatchesFloatReference) {
  check_qconv({});
}

TEST(QConv, StridedReluS8Output) {
  ConvCase cc;
  cc.stride = 2, cc.activation = "Relu", cc.y_dtype = DType::i8, cc.h = 13, cc.w = 12;
  check_qconv(cc);
}

TEST(QConv, S8InputSiLU) {
  if (int8::weights_need_7bit())
    GTEST_SKIP() << "without VNNI oneDNN halves weights for s8 sources (see int8_util.h)";
  ConvCase cc;
  cc.x_dtype = DType::i8, cc.activation = "SiLU";
  check_qconv(cc);
}

TEST(QConv, DepthwiseGroups) {
  ConvCase cc;
  cc.group = 8, cc.oc = 8, cc.n = 2;
  check_qconv(cc);
}

TEST(QConv, PointwiseWithResidualSum) {
  ConvCase cc;
  cc.k = 1, cc.pad = 0, cc.sum = true, cc.activation = "Relu";
  check_qconv(cc);
}

// Unpadded convs fold the source zero point (119 here) into the bias.
TEST(QConv, UnpaddedZeroPointFoldedSiLUGroups) {
  ConvCase cc;
  cc.pad = 0, cc.stride = 2, cc.activation = "SiLU", cc.group = 2, cc.oc = 8;
  check_qconv(cc);
}

TEST(QConv, FloatOutput) {
  ConvCase cc;
  cc.y_dtype = DType::f32;
  check_qconv(cc);
}

// `t`'s bytes moved from layout `from` to layout `to` (same dims and type).
Tensor relayout(const Tensor &t, const dnnl::memory::desc &from, const dnnl::memory::desc &to) {
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream s(eng);
  Tensor r(t.dtype(), t.shape());
  dnnl::memory a(from, eng, const_cast<void *>(t.raw())), b(to, eng, r.raw());
  dnnl::reorder(a, b).execute(s, a, b);
  s.wait();
  return r;
}

// Whether QConv should pick qtune's VNNI 1x1 kernel for `node` with weights
// of shape `ws`, its source channels-last: pointwise, one group, no runtime
// zero point (none, or `zp_folds`: an integer bias in accumulator units takes
// it exactly), a CPU with AVX-512 VNNI.
bool expects_own_1x1(const Node &node, const Shape &ws, bool zp_folds) {
  // Its epilogues: SiLU, or no activation, Relu or Clip around an optional
  // sum -- two of them only with the sum between.
  const std::string act = node.attr_string("activation", ""),
                    post = node.attr_string("post_activation", "");
  const bool sum = node.attr_int("sum", 0) != 0;
  const auto clamp = [](const std::string &a) { return a.empty() || a == "Relu" || a == "Clip"; };
  const bool epilogue = act == "SiLU"
                            ? post.empty()
                            : clamp(act) && clamp(post) && (sum || act.empty() || post.empty());
  return ws[2] == 1 && ws[3] == 1 && node.attr_int("group", 1) == 1 && epilogue &&
         !node.has_attr("channel_scale") && (node.attr_int("x_zero_point", 0) == 0 || zp_folds) &&
         kernels::Conv1x1U8::available();
}

// Whether QConv should pick qtune's depthwise kernel (qconv_dw.h) for `node`
// with weights `w` and a `y_dtype` output, its source channels-last: one
// input channel per output channel, whole 16-channel blocks, an int8 output,
// the weights as given (not halved for a CPU without VNNI).
bool expects_own_dw(const Node &node, const Tensor &w, DType y_dtype) {
  const Shape &ws = w.shape();
  const int64_t group = node.attr_int("group", 1);
  const bool halved = int8::weights_need_7bit() && !int8::fits_7bit(w); // oneDNN's 7-bit weights
  return ws[1] == 1 && group == ws[0] && ws[0] % 16 == 0 && y_dtype != DType::f32 && !halved &&
         kernels::ConvDwU8::available();
}

// As the executor runs a residual QConv: source and addend channels-last
// (set_input_layouts), the output written over the addend's own buffer (the
// take-over of output_may_overwrite_input). `want` is the plain layout's result.
void check_sum_in_place(const Node &node, std::vector<Tensor> in, const Tensor &want,
                        bool zp_folds) {
  using dnnl::memory;
  using tag = memory::format_tag;
  const Shape &xs = in[0].shape(), &as = in[3].shape();
  memory::desc x_plain({xs[0], xs[1], xs[2], xs[3]}, memory::data_type::u8, tag::nchw),
      x_nhwc({xs[0], xs[1], xs[2], xs[3]}, memory::data_type::u8, tag::nhwc),
      a_plain({as[0], as[1], as[2], as[3]}, memory::data_type::u8, tag::nchw),
      a_nhwc({as[0], as[1], as[2], as[3]}, memory::data_type::u8, tag::nhwc);
  in[0] = relayout(in[0], x_plain, x_nhwc);
  in[3] = relayout(in[3], a_plain, a_nhwc);
  auto k = make_kernel(node, KernelEnv{});
  std::vector<const dnnl_memory_desc_t *> layouts{&x_nhwc.data, nullptr, nullptr, &a_nhwc.data};
  k->set_input_layouts(layouts);
  k->infer(in);
  k->prepare(in);
  ASSERT_EQ(k->output_may_overwrite_input(0), 3) << k->implementation();
  EXPECT_EQ(k->implementation().find("vnni 1x1") != std::string::npos,
            expects_own_1x1(node, in[1].shape(), zp_folds))
      << k->implementation();
  std::vector<Tensor> out{in[3]}; // the same buffer
  k->run(in, out);
  const dnnl_memory_desc_t *y_layout = k->output_layout(0);
  ASSERT_NE(y_layout, nullptr);
  Tensor got = relayout(in[3], memory::desc(*y_layout), a_plain);
  int64_t diffs = 0;
  for (int64_t i = 0; i < want.numel(); ++i)
    diffs += got.data<uint8_t>()[i] != want.data<uint8_t>()[i];
  EXPECT_EQ(diffs, 0) << "of " << want.numel() << ", " << k->implementation();
}

// As the executor runs a QConv after QuantizeLinear: the source channels-last
// (set_input_layouts). A pointwise u8 conv without a runtime zero point then
// takes qtune's VNNI 1x1 kernel (qconv_1x1.h) where the CPU has it.
void check_channels_last(const Node &node, std::vector<Tensor> in, const Tensor &want,
                         bool zp_folds) {
  using dnnl::memory;
  using tag = memory::format_tag;
  const Shape xs = in[0].shape(), ws = in[1].shape();
  memory::desc x_plain({xs[0], xs[1], xs[2], xs[3]}, memory::data_type::u8, tag::nchw),
      x_nhwc({xs[0], xs[1], xs[2], xs[3]}, memory::data_type::u8, tag::nhwc);
  in[0] = relayout(in[0], x_plain, x_nhwc);
  auto k = make_kernel(node, KernelEnv{});
  std::vector<const dnnl_memory_desc_t *> layouts{&x_nhwc.data, nullptr, nullptr};
  k->set_input_layouts(layouts);
  auto types = k->infer(in);
  k->prepare(in);
  EXPECT_EQ(k->implementation().find("vnni 1x1") != std::string::npos,
            expects_own_1x1(node, ws, zp_folds))
      << k->implementation();
  EXPECT_EQ(k->implementation().find("qtune depthwise") != std::string::npos,
            expects_own_dw(node, in[1], want.dtype()))
      << k->implementation();
  std::vector<Tensor> out{Tensor(types[0].dtype, types[0].shape)};
  k->run(in, out);
  const dnnl_memory_desc_t *y_layout = k->output_layout(0);
  ASSERT_NE(y_layout, nullptr);
  const Shape &ys = want.shape();
  Tensor got = relayout(
      out[0], memory::desc(*y_layout),
      memory::desc({ys[0], ys[1], ys[2], ys[3]}, dnnl_util::dtype(want.dtype()), tag::nchw));
  int64_t diffs = 0;
  for (size_t i = 0; i < want.nbytes(); ++i)
    diffs +=
        static_cast<const uint8_t *>(got.raw())[i] != static_cast<const uint8_t *>(want.raw())[i];
  EXPECT_EQ(diffs, 0) << "of " << want.nbytes() << ", " << k->implementation();
}

// With SiLU and an int8 output the QConv runs the conv with an f32 output
// and qtune's SiLU + requantisation pass (AVX-512): within one level of
// oneDNN's own int8 conv with swish and linear post-ops (and equal to it but
// for values next to a tie), built here directly from the same scales, zero
// point, bias and layout choice; an f32 output gets its bits. Padded depthwise (source zero point
// at run time) and pointwise shapes, u8 and s8 outputs, wide enough ranges that outputs saturate at
// both ends; with a u8 residual sum (oneDNN's sum post-op between swish and the requantisation).
void check_silu_pass_bits(int64_t c, int64_t k, int64_t group, DType y_dtype, bool sum = false,
                          int xz = 23, bool int_bias = false, int64_t stride = 1,
                          const std::string &act = "SiLU") {
  using dnnl::memory;
  using tag = memory::format_tag;
  std::mt19937 rng(9);
  const int64_t h = 19, oc = c, pad = k / 2, oh = (h + 2 * pad - k) / stride + 1;
  const float xs = 0.04f, ys = y_dtype == DType::u8 ? 0.012f : 0.006f;
  const int yz = y_dtype == DType::u8 ? 20 : -100;
  Tensor x = random_int<uint8_t>({1, c, h, h}, 0, 255, rng);
  Tensor w = random_int<int8_t>({oc, c / group, k, k}, -127, 127, rng);
  std::vector<float> ws(oc), b(oc);
  std::uniform_real_distribution<float> u(0.5f, 1.5f);
  for (int64_t o = 0; o < oc; ++o) {
    ws[o] = 0.0004f * u(rng), b[o] = (u(rng) - 1.f) * 3.f;
    if (int_bias) // a whole number of accumulator units (an int32 QDQ bias)
      b[o] = std::round(b[o] / (xs * ws[o])) * (xs * ws[o]);
  }
  Tensor bias = Tensor::from_vector<float>({oc}, b);
  Node node;
  node.name = "qconv", node.op_type = "QConv", node.domain = "qtune";
  node.attrs["pads"] = std::vector<int64_t>{pad, pad, pad, pad};
  node.attrs["strides"] = std::vector<int64_t>{stride, stride};
  node.attrs["group"] = group;
  node.attrs["x_scale"] = xs, node.attrs["x_zero_point"] = int64_t{xz};
  node.attrs["w_scales"] = ws;
  node.attrs["y_dtype"] = std::string(dtype_name(y_dtype));
  node.attrs["y_scale"] = ys, node.attrs["y_zero_point"] = int64_t{yz};
  node.attrs["activation"] = act;
  std::vector<Tensor> in{x, w, bias};
  const float ss = 0.031f;
  const int sz = 17;
  Tensor addend = random_int<uint8_t>({1, oc, oh, oh}, 0, 255, rng);
  if (sum) { // residual: silu(conv) + (addend - 17) * 0.031, then requantised
    node.attrs["sum"] = int64_t{1};
    node.attrs["sum_scale"] = ss, node.attrs["sum_zero_point"] = int64_t{sz};
    in.push_back(addend);
  }
  auto k_ = make_kernel(node, KernelEnv{});
  auto types = k_->infer(in);
  k_->prepare(in);
  EXPECT_EQ(k_->implementation().find(act == "Sigmoid" ? "sigmoid pass" : "SiLU pass") !=
                std::string::npos,
            y_dtype == DType::f32 ? kernels::silu_inplace_is_fast()
                                  : kernels::silu_quantize_is_fast())
      << k_->implementation();
  // A padded conv's zero point folds into an integer bias before an int8
  // SiLU pass (the border outputs corrected): oneDNN's kernels without one.
  const bool folds_padded =
      pad > 0 && xz != 0 && int_bias && y_dtype != DType::f32 && kernels::silu_quantize_is_fast();
  EXPECT_EQ(k_->implementation().find("zero point folded") != std::string::npos, folds_padded)
      << k_->implementation();
  std::vector<Tensor> out{Tensor(types[0].dtype, types[0].shape)};
  k_->run(in, out);

  // oneDNN alone: the same conv with swish and linear post-ops.
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream s(eng);
  const bool halve = int8::weights_need_7bit() && !int8::fits_7bit(w);
  Tensor wq = halve ? int8::halved(w) : w;
  std::vector<float> scales = int8::output_scales(xs, ws, halve);
  std::vector<double> acc_bias = int8::accumulator_bias(bias, oc, scales);
  memory::dims w_dims =
      group == 1 ? memory::dims{oc, c, k, k} : memory::dims{group, oc / group, c / group, k, k};
  auto y_dt = dnnl_util::dtype(y_dtype);
  memory::desc x_md({1, c, h, h}, memory::data_type::u8, tag::nchw),
      y_md({1, oc, oh, oh}, y_dt, tag::nchw), b_md({oc}, memory::data_type::f32, tag::x);
  dnnl::primitive_attr attr;
  int8::set_scales_and_zero_point(attr, scales, xz);
  dnnl::post_ops ops;
  ops.append_eltwise(
      1.f, act == "Sigmoid" ? dnnl::algorithm::eltwise_logistic : dnnl::algorithm::eltwise_swish,
      1.f, 0.f);
  if (sum)
    ops.append_sum(ss, sz, memory::data_type::u8);
  int8::append_requantize(ops, y_dtype, ys, yz);
  attr.set_post_ops(ops);
  // Layouts as the QConv asks for them (oneDNN's choice): the same kernel.
  auto conv_pd = [&](const dnnl::primitive_attr &a, memory::data_type dst) {
    return dnnl::convolution_forward::primitive_desc(
        {dnnl::prop_kind::forward_inference,
         dnnl::algorithm::convolution_direct,
         memory::desc({1, c, h, h}, memory::data_type::u8, tag::any),
         memory::desc(w_dims, memory::data_type::s8, tag::any),
         b_md,
         memory::desc({1, oc, oh, oh}, dst, tag::any),
         {stride, stride},
         {pad, pad},
         {pad, pad}},
        a, eng);
  };
  const auto pd = conv_pd(attr, y_dt);
  memory w_user({w_dims, memory::data_type::s8, group == 1 ? tag::oihw : tag::goihw}, eng,
                const_cast<void *>(wq.raw())),
      w_mem(pd.weights_desc(), eng);
  dnnl::reorder(w_user, w_mem).execute(s, w_user, w_mem);
  memory x_user(x_md, eng, const_cast<void *>(x.raw())), x_mem(pd.src_desc(), eng),
      y_mem(pd.dst_desc(), eng);
  dnnl::reorder(x_user, x_mem).execute(s, x_user, x_mem);
  Tensor want = sum ? addend.clone() : Tensor(y_dtype, {1, oc, oh, oh});
  memory want_mem(y_md, eng, want.raw());
  if (sum) // the sum post-op reads the addend from dst
    dnnl::reorder(want_mem, y_mem).execute(s, want_mem, y_mem);
  // One oneDNN run with the model's bias and the source zero point at run time.
  auto execute = [&](const dnnl::convolution_forward::primitive_desc &p, memory &wm, memory &xm,
                     memory &ym) {
    dnnl::convolution_forward(p).execute(
        s, {{DNNL_ARG_SRC, xm},
            {DNNL_ARG_WEIGHTS, wm},
            {DNNL_ARG_BIAS, int8::bias_memory(eng, b_md, acc_bias)},
            {DNNL_ARG_DST, ym},
            {DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, int8::zero_point_memory(eng, xz)}});
  };
  execute(pd, w_mem, x_mem, y_mem);
  dnnl::reorder(y_mem, want_mem).execute(s, y_mem, want_mem);
  s.wait();
  const auto *got = static_cast<const uint8_t *>(out[0].raw());
  const auto *ref = static_cast<const uint8_t *>(want.raw());
  if (folds_padded) {
    // Bit for bit: oneDNN's zero-point conv into f32 (no post-ops), then the
    // same SiLU pass. The fold and the border correction change nothing.
    dnnl::primitive_attr plain_attr;
    int8::set_scales_and_zero_point(plain_attr, scales, xz);
    const auto f32_pd = conv_pd(plain_attr, memory::data_type::f32);
    memory fw(f32_pd.weights_desc(), eng), fx(f32_pd.src_desc(), eng), fy(f32_pd.dst_desc(), eng);
    dnnl::reorder(w_user, fw).execute(s, w_user, fw);
    dnnl::reorder(x_user, fx).execute(s, x_user, fx);
    execute(f32_pd, fw, fx, fy);
    Tensor real(DType::f32, {1, oc, oh, oh});
    memory real_mem({{1, oc, oh, oh}, memory::data_type::f32, tag::nchw}, eng, real.raw());
    dnnl::reorder(fy, real_mem).execute(s, fy, real_mem);
    s.wait();
    std::vector<uint8_t> exact(want.nbytes());
    const kernels::Int8Addend add{addend.raw(), true, ss, static_cast<float>(sz)};
    kernels::silu_quantize(real.data<float>(), exact.data(), y_dtype == DType::u8, 1.f / ys,
                           static_cast<float>(yz), real.numel(), sum ? &add : nullptr);
    EXPECT_EQ(std::memcmp(got, exact.data(), exact.size()), 0) << "folded zero point";
  }
  SCOPED_TRACE(testing::Message() << c << " channels, k " << k << ", " << k_->implementation());
  if (y_dtype == DType::f32) { // oneDNN's swish (logistic), bit for bit
    EXPECT_EQ(std::memcmp(got, ref, want.nbytes()), 0);
    return;
  }
  // int8: the SiLU to 6.5e-5 (silu_quantize; the kernel tests check it
  // against the exact SiLU's levels) moves values next to a tie by one level.
  int64_t diffs = 0, far = 0, low = 0, high = 0;
  const uint8_t lo = y_dtype == DType::u8 ? 0 : 0x80, hi = y_dtype == DType::u8 ? 255 : 0x7f;
  for (size_t i = 0; i < want.nbytes(); ++i) {
    const int a = y_dtype == DType::u8 ? got[i] : static_cast<int8_t>(got[i]);
    const int b = y_dtype == DType::u8 ? ref[i] : static_cast<int8_t>(ref[i]);
    diffs += a != b, far += std::abs(a - b) > 1;
    low += ref[i] == lo, high += ref[i] == hi;
  }
  EXPECT_EQ(far, 0);
  EXPECT_LE(diffs, 1 + static_cast<int64_t>(want.nbytes() / 100)) << "of " << want.nbytes();
  EXPECT_GT(low, 0);
  EXPECT_GT(high, 0);
  // The other paths (in place, channels-last, the VNNI 1x1 kernel) give this
  // path's bits: the same f32 conv output, the same SiLU and requantisation.
  const bool zp_folds = int_bias && pad == 0;
  if (sum)
    check_sum_in_place(node, in, out[0], zp_folds);
  else
    check_channels_last(node, in, out[0], zp_folds);
}

// Pointwise convs with no activation, a Relu or a Clip around an optional u8
// residual (ORT-style MobileNetV2 / ResNet QDQ files): channels-last, with the
// zero point folded into an integer bias, they run qtune's VNNI 1x1 kernel and
// its clamp epilogue (any weight size), which must give
// the bits of the same node on oneDNN (plain layout: oneDNN's conv with its
// relu / clip_v2, sum and linear post-ops), saturating at both ends.
struct ClampConvCase {
  std::string act;
  std::vector<float> act_params;
  bool sum;
  std::string post;
  DType y;
  int64_t yz, c, oc;
  float gain;      // on the weight scales: outputs past the Clip's top
  int64_t h = 17;  // the map's side
  int threads = 1; // 2: large enough that the kernel splits it
};

TEST(QConv, PointwiseClampEpilogueIsOneDnnBits) {
  const ClampConvCase cases[] = {
      {"", {}, false, "", DType::u8, 128, 32, 48, 1.f},
      {"Relu", {}, false, "", DType::u8, 0, 24, 96, 1.f},
      {"Relu", {}, false, "", DType::u8, 37, 64, 64, 1.f},
      {"Clip", {0.f, 6.f}, false, "", DType::u8, 0, 16, 96, 6.f},
      {"Clip", {-1.f, 2.f}, false, "", DType::i8, -5, 32, 24, 2.f},
      {"", {}, true, "Relu", DType::u8, 0, 64, 80, 1.f},
      {"Clip", {0.f, 6.f}, true, "", DType::u8, 3, 48, 32, 6.f},
      {"Clip", {0.f, 6.f}, true, "Relu", DType::u8, 12, 32, 144, 6.f},
      {"Relu", {}, false, "", DType::u8, 0, 512, 512, 1.f},      // 8 groups, each prefetched
      {"", {}, true, "Relu", DType::u8, 5, 512, 208, 1.f, 7, 2}, // 3 groups + 1 block, 2 threads
      {"Clip", {0.f, 6.f}, false, "", DType::u8, 0, 64, 96, 6.f, 24, 2},
      {"", {}, true, "Relu", DType::u8, 9, 96, 64, 1.f, 24, 2},
  };
  for (const ClampConvCase &cc : cases) {
    SCOPED_TRACE(testing::Message() << cc.act << (cc.sum ? " sum " : " ") << cc.post << " " << cc.c
                                    << "->" << cc.oc << ", " << cc.threads << " threads");
    test::ThreadsScope threads(cc.threads);
    std::mt19937 rng(5);
    const int64_t h = cc.h;
    const float xs = 0.04f, ys = cc.act == "Clip" && cc.act_params[1] == 6.f ? 6.f / 255.f : 0.012f;
    Tensor x = random_int<uint8_t>({1, cc.c, h, h}, 0, 255, rng);
    Tensor w = random_int<int8_t>({cc.oc, cc.c, 1, 1}, -127, 127, rng);
    std::vector<float> ws(cc.oc), b(cc.oc);
    std::uniform_real_distribution<float> u(0.5f, 1.5f);
    for (int64_t o = 0; o < cc.oc; ++o) { // an int32 QDQ bias: the zero point folds
      ws[o] = cc.gain * 0.0008f * u(rng) * std::sqrt(32.f / static_cast<float>(cc.c));
      b[o] = std::round((u(rng) - 1.f) * 2.f / (xs * ws[o])) * (xs * ws[o]);
    }
    Node node;
    node.name = "qconv", node.op_type = "QConv", node.domain = "qtune";
    node.attrs["x_scale"] = xs, node.attrs["x_zero_point"] = int64_t{23};
    node.attrs["w_scales"] = ws;
    node.attrs["y_dtype"] = std::string(dtype_name(cc.y));
    node.attrs["y_scale"] = ys, node.attrs["y_zero_point"] = cc.yz;
    if (!cc.act.empty())
      node.attrs["activation"] = cc.act;
    if (!cc.act_params.empty())
      node.attrs["activation_params"] = cc.act_params;
    if (!cc.post.empty())
      node.attrs["post_activation"] = cc.post;
    std::vector<Tensor> in{x, w, Tensor::from_vector<float>({cc.oc}, b)};
    if (cc.sum) {
      node.attrs["sum"] = int64_t{1};
      node.attrs["sum_scale"] = 0.031f, node.attrs["sum_zero_point"] = int64_t{17};
      in.push_back(random_int<uint8_t>({1, cc.oc, h, h}, 0, 255, rng));
    }
    const Tensor want = run_node(node, in)[0]; // plain layout: oneDNN
    // The lowest output is the last lower bound's level (the type's lowest
    // without one), the highest the type's top (or the Clip's, 6 at 6 / 255).
    const bool u8 = cc.y == DType::u8;
    const float type_lo = u8 ? 0.f : -128.f, type_hi = u8 ? 255.f : 127.f;
    const float lower = !cc.post.empty()           ? 0.f // a Relu
                        : cc.sum || cc.act.empty() ? -INFINITY
                        : cc.act == "Relu"         ? 0.f
                                                   : cc.act_params[0];
    const float floor_level =
        std::clamp(std::nearbyint(lower / ys) + static_cast<float>(cc.yz), type_lo, type_hi);
    float lowest = type_hi, highest = type_lo;
    for (int64_t i = 0; i < want.numel(); ++i) {
      const float v = u8 ? want.data<uint8_t>()[i] : want.data<int8_t>()[i];
      lowest = std::min(lowest, v), highest = std::max(highest, v);
    }
    EXPECT_EQ(lowest, floor_level);
    EXPECT_EQ(highest, type_hi);
    if (cc.sum)
      check_sum_in_place(node, in, want, true);
    else
      check_channels_last(node, in, want, true);
  }
}

TEST(QConv, SiLUPassIsOneDnnPostOpsWithinALevel) {
  check_silu_pass_bits(32, 1, 1, DType::u8);
  check_silu_pass_bits(32, 3, 32, DType::u8);
  check_silu_pass_bits(24, 3, 1, DType::i8);
  check_silu_pass_bits(16, 3, 1, DType::f32); // an f32 output: the SiLU pass in place
  check_silu_pass_bits(32, 3, 32, DType::f32);
  check_silu_pass_bits(32, 1, 1, DType::u8, true); // YOLOX's CSP shortcut
  check_silu_pass_bits(16, 3, 1, DType::u8, true);
  // No source zero point: pointwise convs run on the VNNI 1x1 kernel.
  check_silu_pass_bits(32, 1, 1, DType::u8, false, 0);
  check_silu_pass_bits(48, 1, 1, DType::i8, false, 0);
  check_silu_pass_bits(32, 1, 1, DType::u8, true, 0);
  // A source zero point folded into an integer bias: the VNNI kernel too.
  check_silu_pass_bits(32, 1, 1, DType::u8, false, 23, true);
  check_silu_pass_bits(32, 1, 1, DType::u8, true, 23, true);
  // Padded: folded too, border outputs corrected (depthwise as YOLOX's
  // dconvs, stride 1 and 2; a full 3x3 conv; a residual sum).
  check_silu_pass_bits(32, 3, 32, DType::u8, false, 23, true);
  check_silu_pass_bits(64, 3, 64, DType::i8, false, 23, true, 2);
  check_silu_pass_bits(24, 3, 1, DType::u8, false, 23, true);
  check_silu_pass_bits(16, 3, 1, DType::u8, true, 23, true, 2);
  check_silu_pass_bits(32, 5, 32, DType::u8, false, 40, true);
}

// A Sigmoid into f32 (a tuned detector's score heads, cls_preds / obj_preds)
// runs as qtune's sigmoid pass after the conv: oneDNN's logistic post-op
// bits. Pointwise with 80 channels (YOLOX's class scores), 3x3, depthwise
// with stride 2 and no zero point.
TEST(QConv, SigmoidPassIsOneDnnLogisticBits) {
  check_silu_pass_bits(80, 1, 1, DType::f32, false, 23, false, 1, "Sigmoid");
  check_silu_pass_bits(16, 3, 1, DType::f32, false, 23, false, 1, "Sigmoid");
  check_silu_pass_bits(32, 3, 32, DType::f32, false, 0, false, 2, "Sigmoid");
}

// An unpadded u8 conv whose raw accumulator sum(x * w) is ~3e6 while the
// centred one sum((x - zp) * w) is ~2e3 (x within 2 of its zero point 119,
// mostly positive weights): the zero point folded into the bias must give
// exactly the QLinearConv formula, evaluated here in int64 / double. The f32
// fold of a fractional bias lost ~0.1 accumulator units next to zp * sum(w)
// and moved ~1 % of these outputs by one step. `int32_bias`: the real bias is
// an int32 times x_scale * w_scale (a QDQ bias); else a fractional one (no fold).
void check_exact_unpadded(bool int32_bias) {
  std::mt19937 rng(5);
  const int64_t c = 64, oc = 64, k = 3, h = 14, oh = h - k + 1;
  const int xz = 119, yz = 128;
  const float xs = 0.05f;
  Tensor x = random_int<uint8_t>({1, c, h, h}, xz - 2, xz + 2, rng);
  Tensor w = random_int<int8_t>({oc, c, k, k}, -20, 100, rng);
  std::vector<float> ws(oc), b(oc);
  std::vector<double> b_acc(oc);
  std::uniform_real_distribution<float> u(0.5f, 1.5f);
  std::uniform_int_distribution<int> bi(-3000, 3000);
  for (int64_t o = 0; o < oc; ++o) {
    ws[o] = 0.002f * u(rng);
    float s = xs * ws[o];
    double q = int32_bias ? bi(rng) : bi(rng) + 0.37;
    b[o] = static_cast<float>(q * s);
    b_acc[o] = int32_bias ? q : b[o] / static_cast<double>(s);
  }
  const float ys = 32 * xs * 0.002f; // ~1/32 output step per accumulator unit
  Node node;
  node.name = "qconv";
  node.op_type = "QConv";
  node.domain = "qtune";
  QConvParams p;
  p.x = {xs, xz};
  p.w_scales = ws;
  p.y = {DType::u8, ys, yz};
  p.write(node);
  Tensor y = run_node(node, {x, w, Tensor::from_vector<float>({oc}, b)})[0];
  ASSERT_EQ(y.shape(), (Shape{1, oc, oh, oh}));
  int bad = 0, inside = 0, checked = 0;
  for (int64_t o = 0; o < oc; ++o)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < oh; ++j) {
        int64_t acc = 0;
        for (int64_t ci = 0; ci < c; ++ci)
          for (int64_t ki = 0; ki < k; ++ki)
            for (int64_t kj = 0; kj < k; ++kj)
              acc += (x.data<uint8_t>()[(ci * h + i + ki) * h + j + kj] - xz) *
                     w.data<int8_t>()[((o * c + ci) * k + ki) * k + kj];
        double v = (acc + b_acc[o]) * static_cast<double>(xs * ws[o]) / ys + yz;
        if (std::abs(v - std::floor(v) - 0.5) < 1e-3)
          continue; // a tie: f32 scaling may round either way
        double want = std::clamp(std::nearbyint(v), 0.0, 255.0);
        ++checked;
        inside += want > 0 && want < 255;
        bad += y.data<uint8_t>()[(o * oh + i) * oh + j] != want;
      }
  EXPECT_EQ(bad, 0) << "of " << checked;
  EXPECT_GT(inside, checked / 2) << "most outputs must not saturate for the test to mean anything";
}

TEST(QConv, UnpaddedZeroPointFoldWithInt32BiasIsExact) {
  check_exact_unpadded(true);
}

TEST(QConv, UnpaddedZeroPointWithFractionalBiasIsExact) {
  check_exact_unpadded(false);
}

// The padded zero-point fold (fold_padded_zero_point) on geometries the
// oneDNN-built reference above does not reach: batch 2, dilation, asymmetric
// pads, stride 2, a plain conv and a depthwise one. Reference: the
// QLinearConv formula in int64 (K = sum w (x - zp) over taps inside the image
// + bias), oneDNN's f32 output fl(K * scale), then the same SiLU pass; the
// QConv must give those bytes exactly.
TEST(QConv, PaddedZeroPointFoldMatchesConvFormula) {
  if (!kernels::silu_quantize_is_fast())
    GTEST_SKIP() << "no int8 SiLU pass on this CPU";
  struct Case {
    int64_t n, c, oc, h, w, k, stride, dil, group;
    std::vector<int64_t> pads; // top, left, bottom, right
  } cases[] = {
      {2, 16, 16, 11, 9, 3, 1, 1, 16, {1, 1, 1, 1}},  // batch 2, depthwise, not square
      {1, 16, 16, 12, 12, 3, 2, 1, 16, {0, 0, 1, 1}}, // asymmetric (TF SAME, stride 2)
      {1, 8, 24, 10, 13, 3, 1, 2, 1, {2, 2, 2, 2}},   // dilation 2, full conv
      {2, 8, 8, 9, 9, 5, 2, 1, 8, {2, 1, 2, 3}},      // 5x5, uneven left/right
  };
  std::mt19937 rng(31);
  for (const Case &cc : cases) {
    SCOPED_TRACE(testing::Message() << "n " << cc.n << " k " << cc.k << " stride " << cc.stride
                                    << " dil " << cc.dil << " group " << cc.group);
    const int xz = 19, yz = 7;
    const float xs = 0.03f, ys = 0.02f;
    const int64_t cg = cc.c / cc.group, og = cc.oc / cc.group;
    const int64_t ek = (cc.k - 1) * cc.dil + 1;
    const int64_t oh = (cc.h + cc.pads[0] + cc.pads[2] - ek) / cc.stride + 1;
    const int64_t ow = (cc.w + cc.pads[1] + cc.pads[3] - ek) / cc.stride + 1;
    Tensor x = random_int<uint8_t>({cc.n, cc.c, cc.h, cc.w}, 0, 255, rng);
    Tensor w = random_int<int8_t>({cc.oc, cg, cc.k, cc.k}, -100, 100, rng);
    std::vector<float> ws(cc.oc), b(cc.oc);
    std::uniform_real_distribution<float> u(0.5f, 1.5f);
    std::uniform_int_distribution<int> bi(-2000, 2000);
    for (int64_t o = 0; o < cc.oc; ++o) {
      ws[o] = 0.004f * u(rng);
      b[o] = static_cast<float>(bi(rng)) * (xs * ws[o]); // an int32 bias
    }
    Node node;
    node.name = "qconv", node.op_type = "QConv", node.domain = "qtune";
    node.attrs["pads"] = cc.pads;
    node.attrs["strides"] = std::vector<int64_t>{cc.stride, cc.stride};
    node.attrs["dilations"] = std::vector<int64_t>{cc.dil, cc.dil};
    node.attrs["group"] = cc.group;
    node.attrs["x_scale"] = xs, node.attrs["x_zero_point"] = int64_t{xz};
    node.attrs["w_scales"] = ws;
    node.attrs["y_dtype"] = std::string("u8");
    node.attrs["y_scale"] = ys, node.attrs["y_zero_point"] = int64_t{yz};
    node.attrs["activation"] = std::string("SiLU");
    const std::vector<Tensor> in{x, w, Tensor::from_vector<float>({cc.oc}, b)};
    auto k = make_kernel(node, KernelEnv{});
    auto types = k->infer(in);
    k->prepare(in);
    EXPECT_NE(k->implementation().find("zero point folded"), std::string::npos)
        << k->implementation();
    std::vector<Tensor> out{Tensor(types[0].dtype, types[0].shape)};
    k->run(in, out);
    ASSERT_EQ(out[0].shape(), (Shape{cc.n, cc.oc, oh, ow}));

    const bool halve = int8::weights_need_7bit() && !int8::fits_7bit(w);
    ASSERT_FALSE(halve) << "the reference assumes full-range weights (VNNI)";
    const std::vector<float> scales = int8::output_scales(xs, ws, false);
    const std::vector<double> acc_bias = int8::accumulator_bias(in[2], cc.oc, scales);
    std::vector<float> real(static_cast<size_t>(out[0].numel()));
    const auto *xd = x.data<uint8_t>();
    const auto *wd = w.data<int8_t>();
    for (int64_t n = 0; n < cc.n; ++n)
      for (int64_t o = 0; o < cc.oc; ++o)
        for (int64_t i = 0; i < oh; ++i)
          for (int64_t j = 0; j < ow; ++j) {
            int64_t acc = 0;
            const int64_t g = o / og;
            for (int64_t ci = 0; ci < cg; ++ci)
              for (int64_t ki = 0; ki < cc.k; ++ki)
                for (int64_t kj = 0; kj < cc.k; ++kj) {
                  const int64_t y = i * cc.stride - cc.pads[0] + ki * cc.dil;
                  const int64_t xx = j * cc.stride - cc.pads[1] + kj * cc.dil;
                  if (y < 0 || y >= cc.h || xx < 0 || xx >= cc.w)
                    continue; // padding: a real 0
                  const int64_t src = ((n * cc.c + g * cg + ci) * cc.h + y) * cc.w + xx;
                  acc += (xd[src] - xz) * wd[((o * cg + ci) * cc.k + ki) * cc.k + kj];
                }
            const auto kk = static_cast<float>(acc + static_cast<int64_t>(acc_bias[o]));
            real[static_cast<size_t>(((n * cc.oc + o) * oh + i) * ow + j)] =
                kk * scales[scales.size() == 1 ? 0 : o];
          }
    std::vector<uint8_t> want(real.size());
    kernels::silu_quantize(real.data(), want.data(), true, 1.f / ys, static_cast<float>(yz),
                           static_cast<int64_t>(real.size()));
    int64_t diffs = 0;
    for (size_t i = 0; i < want.size(); ++i)
      diffs += out[0].data<uint8_t>()[i] != want[i];
    EXPECT_EQ(diffs, 0) << "of " << want.size();
    const auto lo = std::count(want.begin(), want.end(), uint8_t{0});
    EXPECT_LT(lo, static_cast<int64_t>(want.size()) / 2) << "most outputs must not saturate";
  }
}

// A table folded into the QConv (input 4, rule conv_table): the output is
// T[byte] of what the same QConv writes without it, in T's type (3x3 and
// pointwise, plain or channels-last input, with and without a zero point).
void check_table_after_qconv(int64_t k, int xz, bool nhwc, DType y_dtype, DType t_dtype,
                             bool silu = false) {
  using dnnl::memory;
  using tag = memory::format_tag;
  std::mt19937 rng(21);
  const int64_t c = 32, oc = 48, h = 17;
  Tensor x = random_int<uint8_t>({1, c, h, h}, 0, 255, rng);
  Tensor w = random_int<int8_t>({oc, c, k, k}, -100, 100, rng);
  Tensor t = t_dtype == DType::u8 ? random_int<uint8_t>({256}, 0, 255, rng)
                                  : random_int<int8_t>({256}, -128, 127, rng);
  Node node;
  node.name = "qconv", node.op_type = "QConv", node.domain = "qtune";
  node.attrs["pads"] = std::vector<int64_t>(4, k / 2);
  QConvParams p;
  p.x = {0.04f, xz};
  p.w_scales = std::vector<float>(oc, 0.004f);
  p.y = {y_dtype, 0.12f, y_dtype == DType::u8 ? 100 : -7};
  if (silu)
    p.activation.op = "SiLU";
  p.write(node);
  std::vector<Tensor> in{x, w, Tensor::from_vector<float>({oc}, std::vector<float>(oc, 0.25f))};
  memory::desc x_plain({1, c, h, h}, memory::data_type::u8, tag::nchw),
      x_nhwc({1, c, h, h}, memory::data_type::u8, tag::nhwc);
  if (nhwc)
    in[0] = relayout(in[0], x_plain, x_nhwc);
  auto run = [&](const std::vector<Tensor> &args, std::string *impl) {
    auto kernel = make_kernel(node, KernelEnv{});
    std::vector<const dnnl_memory_desc_t *> layouts{nhwc ? &x_nhwc.data : nullptr, nullptr,
                                                    nullptr};
    if (nhwc)
      kernel->set_input_layouts(layouts);
    auto types = kernel->infer(args);
    kernel->prepare(args);
    std::vector<Tensor> out{Tensor(types[0].dtype, types[0].shape)};
    kernel->run(args, out);
    *impl = kernel->implementation();
    const dnnl_memory_desc_t *y_layout = kernel->output_layout(0);
    if (!y_layout)
      return out[0];
    EXPECT_EQ(y_layout->data_type, static_cast<dnnl_data_type_t>(dnnl_util::dtype(types[0].dtype)));
    return relayout(out[0], memory::desc(*y_layout),
                    memory::desc({1, oc, h, h}, dnnl_util::dtype(types[0].dtype), tag::nchw));
  };
  std::string plain_impl, table_impl;
  Tensor want = run(in, &plain_impl);
  in.resize(4); // no sum
  in.push_back(t);
  Tensor got = run(in, &table_impl);
  ASSERT_EQ(got.dtype(), t_dtype);
  ASSERT_EQ(got.shape(), want.shape());
  // A SiLU conv on the VNNI 1x1 kernel applies the table after it; the rest
  // after oneDNN's conv.
  EXPECT_EQ(table_impl, plain_impl.find("vnni 1x1") == std::string::npos ? plain_impl + " + table"
                                                                         : plain_impl);
  const auto *y = static_cast<const uint8_t *>(want.raw());
  const auto *g = static_cast<const uint8_t *>(got.raw());
  const auto *tb = static_cast<const uint8_t *>(t.raw());
  std::set<uint8_t> seen;
  int64_t diffs = 0;
  for (size_t i = 0; i < want.nbytes(); ++i) {
    diffs += g[i] != tb[y[i]];
    seen.insert(y[i]);
  }
  EXPECT_EQ(diffs, 0) << "of " << want.nbytes() << ", " << table_impl;
  EXPECT_GT(seen.size(), 100u) << "the outputs must index much of the table";
}

TEST(QConv, FoldedTableMapsItsOwnInt8Output) {
  check_table_after_qconv(3, 23, false, DType::u8, DType::u8);
  check_table_after_qconv(3, 23, true, DType::i8, DType::u8);
  check_table_after_qconv(1, 0, true, DType::u8, DType::u8);
  check_table_after_qconv(1, 0, true, DType::i8, DType::i8);
  check_table_after_qconv(1, 9, false, DType::u8, DType::i8);
  check_table_after_qconv(1, 0, true, DType::u8, DType::u8, true);  // SiLU: VNNI kernel + table
  check_table_after_qconv(3, 23, true, DType::u8, DType::i8, true); // SiLU pass + table
}

// A table input that is not 256 int8 entries, or one after an f32 output, is
// refused with the node's name.
TEST(QConv, RejectsMalformedTableNamingNode) {
  std::mt19937 rng(2);
  Node node;
  node.name = "qconv_t", node.op_type = "QConv", node.domain = "qtune";
  QConvParams p;
  p.x = {0.04f, 0};
  p.w_scales = {0.004f};
  p.y = {DType::u8, 0.1f, 0};
  p.write(node);
  const Tensor x = random_int<uint8_t>({1, 4, 5, 5}, 0, 255, rng);
  const Tensor w = random_int<int8_t>({4, 4, 1, 1}, -9, 9, rng);
  auto refused = [&](const Node &n, const Tensor &table) {
    auto k = make_kernel(n, KernelEnv{});
    std::vector<Tensor> in{x, w, Tensor(), Tensor(), table};
    try {
      k->infer(in);
    } catch (const InputError &e) {
      return std::string(e.what()).find("qconv_t") != std::string::npos;
    }
    return false;
  };
  EXPECT_TRUE(refused(node, random_int<uint8_t>({255}, 0, 255, rng)));
  EXPECT_TRUE(refused(node, Tensor(DType::f32, {256})));
  Node f32_out = node;
  p.y = {DType::f32, 1.f, 0};
  p.write(f32_out);
  EXPECT_TRUE(refused(f32_out, random_int<uint8_t>({256}, 0, 255, rng)));
}

TEST(QConv, RejectsFloatInputNamingNode) {
  Node node;
  node.name = "bad";
  node.op_type = "QConv";
  node.domain = "qtune";
  node.attrs["x_scale"] = 1.f;
  node.attrs["w_scales"] = std::vector<float>{1.f};
  node.attrs["y_dtype"] = std::string("f32");
  Tensor x(DType::f32, {1, 1, 3, 3}), w(DType::i8, {1, 1, 1, 1});
  try {
    run_node(node, {x, w});
    FAIL() << "no error";
  } catch (const InputError &e) {
    EXPECT_NE(std::string(e.what()).find("'bad'"), std::string::npos) << e.what();
  }
}

// The lowering and the kernel share QConvParams: a scale the node lacks is an
// error naming the node and the attribute (it used to be read as 1.0).
TEST(QConv, MissingRequiredScaleIsInputErrorNamingNode) {
  Node full;
  full.name = "stem";
  full.op_type = "QConv";
  full.domain = "qtune";
  QConvParams p;
  p.x = {0.02f, 0};
  p.w_scales = {0.01f};
  p.y = {DType::u8, 0.1f, 3};
  p.sum = true;
  p.sum_q = {0.05f, 0};
  p.write(full);
  EXPECT_EQ(QConvParams::from(full).y.zero_point, 3);
  EXPECT_EQ(QConvParams::from(full).sum_q.scale, 0.05f);
  for (const char *attr : {"x_scale", "w_scales", "y_dtype", "y_scale", "sum_scale"}) {
    Node node = full;
    node.attrs.erase(attr);
    try {
      make_kernel(node, KernelEnv{});
      ADD_FAILURE() << "no error without " << attr;
    } catch (const InputError &e) {
      EXPECT_NE(std::string(e.what()).find("'stem'"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(attr), std::string::npos) << e.what();
    }
  }
}

// QuantizeLinear / DequantizeLinear values from the ONNX operator spec examples.
TEST(QuantizeLinear, SpecExampleRoundsHalfToEvenAndSaturates) {
  Node node;
  node.name = "q";
  node.op_type = "QuantizeLinear";
  Tensor x = Tensor::from_vector<float>({6}, {0, 2, 3, 1000, -254, -1000});
  Tensor zp(DType::u8, {});
  zp.data<uint8_t>()[0] = 128;
  Tensor y = run_node(node, {x, Tensor::scalar_f32(2.f), zp})[0];
  std::vector<uint8_t> want{128, 129, 130, 255, 1, 0};
  EXPECT_EQ(std::vector<uint8_t>(y.span<uint8_t>().begin(), y.span<uint8_t>().end()), want);
}

TEST(DequantizeLinear, PerAxis) {
  Node node;
  node.name = "dq";
  node.op_type = "DequantizeLinear";
  node.attrs["axis"] = int64_t{1};
  Tensor x = Tensor::from_vector<uint8_t>({1, 3, 2}, {0, 255, 10, 20, 30, 40});
  Tensor s = Tensor::from_vector<float>({3}, {1.f, 2.f, 0.5f});
  Tensor z = Tensor::from_vector<uint8_t>({3}, {0, 10, 40});
  Tensor y = run_node(node, {x, s, z})[0];
  std::vector<float> want{0, 255, 0, 20, -5, 0};
  EXPECT_EQ(y.to_f32_vector(), want);
}

// QMaxPool on the YOLOX SPP shape (k=13, stride 1, pad 6) against FP32
// MaxPool on the dequantized input: max commutes with the affine map, so the
// int8 result dequantized must equal the float result exactly.
void check_qmaxpool(DType dt, int64_t k, int64_t stride, int64_t pad) {
  std::mt19937 rng(7);
  float s = 0.04f;
  int z = dt == DType::u8 ? 17 : -3;
  Tensor x = dt == DType::u8 ? random_int<uint8_t>({1, 24, 13, 13}, 0, 255, rng)
                             : random_int<int8_t>({1, 24, 13, 13}, -128, 127, rng);
  Node q;
  q.name = "qpool", q.op_type = "QMaxPool", q.domain = "qtune";
  q.attrs["kernel_shape"] = std::vector<int64_t>{k, k};
  q.attrs["strides"] = std::vector<int64_t>{stride, stride};
  q.attrs["pads"] = std::vector<int64_t>{pad, pad, pad, pad};
  Node f = q;
  f.op_type = "MaxPool", f.domain = "";
  Tensor y = run_node(q, {x})[0];
  std::vector<float> xf = x.to_f32_vector();
  for (float &v : xf)
    v = (v - z) * s;
  Tensor yf = run_node(f, {Tensor::from_vector<float>(x.shape(), xf)})[0];
  ASSERT_EQ(y.shape(), yf.shape());
  std::vector<float> yq = y.to_f32_vector();
  int bad = 0;
  for (int64_t i = 0; i < y.numel(); ++i)
    bad += (yq[i] - z) * s != yf.data<float>()[i];
  EXPECT_EQ(bad, 0) << "of " << y.numel();
}

TEST(QMaxPool, SppKernel13Stride1MatchesFloatMaxPool) {
  check_qmaxpool(DType::u8, 13, 1, 6);
}

TEST(QMaxPool, S8Kernel3Stride2MatchesFloatMaxPool) {
  check_qmaxpool(DType::i8, 3, 2, 1);
}

// ONNX QuantizeLinear on a float: saturate(round_half_even(x / s) + z).
int onnx_quantize(float x, float s, int z, DType t) {
  float lo = t == DType::u8 ? 0.f : -128.f, hi = t == DType::u8 ? 255.f : 127.f;
  return static_cast<int>(std::clamp(std::nearbyint(x / s) + z, lo, hi));
}

// Q -> QConv -> QMaxPool -> DQ through the executor, where Q writes NHWC for
// the int8 kernels and DQ reads their NHWC output (the layout opt-in). The
// hook sees every output in plain layout: Q and DQ must match the ONNX
// formulas exactly and the result must be within one step of the float
// reference.
TEST(QuantizeLinear, NhwcChainThroughExecutorMatchesOnnxFormulas) {
  const int64_t C = 16, H = 11, W = 9, OC = 24;
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0.f, 2.f);
  Tensor x(DType::f32, {1, C, H, W});
  for (float &v : x.span<float>())
    v = nd(rng);
  x.data<float>()[0] = 0.05f * 2.5f; // an exact tie: rounds to even
  const float xs = 0.05f, ys = 0.1f;
  const int xz = 128, yz = 60;
  Tensor w = random_int<int8_t>({OC, C, 3, 3}, -127, 127, rng);
  std::vector<float> ws(OC, 0.003f), b(OC, 0.1f);

  auto g = std::make_shared<Graph>();
  g->inputs.push_back({"x", DType::f32, {}, false});
  g->outputs.push_back({"y", DType::f32, {}, false});
  g->initializers["xs"] = Tensor::scalar_f32(xs);
  Tensor xzt(DType::u8, {});
  xzt.data<uint8_t>()[0] = xz;
  g->initializers["xz"] = xzt;
  g->initializers["ys"] = Tensor::scalar_f32(ys);
  Tensor yzt(DType::u8, {});
  yzt.data<uint8_t>()[0] = yz;
  g->initializers["yz"] = yzt;
  g->initializers["w"] = w;
  g->initializers["b"] = Tensor::from_vector<float>({OC}, b);
  Node q, conv, pool, dq;
  q.name = "q", q.op_type = "QuantizeLinear", q.inputs = {"x", "xs", "xz"}, q.outputs = {"xq"};
  conv.name = "conv", conv.op_type = "QConv", conv.domain = "qtune";
  conv.inputs = {"xq", "w", "b"}, conv.outputs = {"cq"};
  conv.attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  conv.attrs["x_scale"] = xs, conv.attrs["x_zero_point"] = int64_t{xz};
  conv.attrs["w_scales"] = ws, conv.attrs["y_dtype"] = std::string("u8");
  conv.attrs["y_scale"] = ys, conv.attrs["y_zero_point"] = int64_t{yz};
  pool.name = "pool", pool.op_type = "QMaxPool", pool.domain = "qtune";
  pool.inputs = {"cq"}, pool.outputs = {"pq"};
  pool.attrs["kernel_shape"] = std::vector<int64_t>{5, 5};
  pool.attrs["pads"] = std::vector<int64_t>{2, 2, 2, 2};
  dq.name = "dq", dq.op_type = "DequantizeLinear", dq.inputs = {"pq", "ys", "yz"};
  dq.outputs = {"y"};
  g->nodes = {q, conv, pool, dq};

  // The Q kernel opts into NHWC here because both readers are int8 kernels.
  auto qk = make_kernel(q, KernelEnv{.graph = g.get()});
  std::vector<const dnnl_memory_desc_t *> none(3, nullptr);
  qk->set_input_layouts(none);
  std::vector<Tensor> q_in{x, g->initializers["xs"], xzt};
  qk->infer(q_in);
  qk->prepare(q_in);
  EXPECT_NE(qk->output_layout(0), nullptr);

  std::map<std::string, Tensor> seen;
  Executor ex(g, {.threads = 2});
  ex.set_node_hook(
      [&](const Node &n, std::span<const Tensor> outs) { seen[n.name] = outs[0].clone(); });
  Tensor y = ex.run({{"x", x}})[0];

  const Tensor &xq = seen.at("q");
  int bad_q = 0;
  for (int64_t i = 0; i < x.numel(); ++i)
    bad_q += xq.data<uint8_t>()[i] != onnx_quantize(x.data<float>()[i], xs, xz, DType::u8);
  EXPECT_EQ(bad_q, 0);
  EXPECT_EQ(xq.data<uint8_t>()[0], 130); // 2.5 -> 2 (half to even) + 128

  const Tensor &pq = seen.at("pool");
  int bad_dq = 0;
  for (int64_t i = 0; i < y.numel(); ++i)
    bad_dq += y.data<float>()[i] != (pq.data<uint8_t>()[i] - yz) * ys;
  EXPECT_EQ(bad_dq, 0);

  // Float reference from the quantized input: conv + bias, 5x5 max, quantize.
  int bad = 0;
  for (int64_t o = 0; o < OC; ++o)
    for (int64_t i = 0; i < H; ++i)
      for (int64_t j = 0; j < W; ++j) {
        float best = -1e30f;
        for (int64_t pi = std::max<int64_t>(0, i - 2); pi <= std::min(H - 1, i + 2); ++pi)
          for (int64_t pj = std::max<int64_t>(0, j - 2); pj <= std::min(W - 1, j + 2); ++pj) {
            double acc = b[o];
            for (int64_t c = 0; c < C; ++c)
              for (int64_t ki = 0; ki < 3; ++ki)
                for (int64_t kj = 0; kj < 3; ++kj) {
                  int64_t yi = pi - 1 + ki, xj = pj - 1 + kj;
                  if (yi < 0 || yi >= H || xj < 0 || xj >= W)
                    continue;
                  int v = xq.data<uint8_t>()[(c * H + yi) * W + xj];
                  acc += (v - xz) * xs * w.data<int8_t>()[((o * C + c) * 3 + ki) * 3 + kj] * ws[o];
                }
            best = std::max(best, static_cast<float>(acc));
          }
        int want = onnx_quantize(best, ys, yz, DType::u8);
        int got = pq.data<uint8_t>()[(o * H + i) * W + j];
        bad += std::abs(got - want) > 1;
      }
  EXPECT_EQ(bad, 0) << "of " << OC * H * W;
}

// Q -> QConv -> QResize (2x nearest) -> Concat(with the conv output's
// pool) -> DQ through the executor: QResize reads and writes the conv's
// channels-last layout and the Concat joins channels-last inputs. The hook
// sees plain copies; both must be exact data movement of the conv output.
TEST(QResize, ChannelsLastChainThroughExecutorIsExactNearest) {
  const int64_t C = 8, H = 5, W = 7, OC = 24;
  std::mt19937 rng(11);
  std::normal_distribution<float> nd(0.f, 2.f);
  Tensor x(DType::f32, {1, C, 2 * H, 2 * W});
  for (float &v : x.span<float>())
    v = nd(rng);
  auto g = std::make_shared<Graph>();
  g->inputs.push_back({"x", DType::f32, {}, false});
  g->outputs.push_back({"y", DType::f32, {}, false});
  g->initializers["s"] = Tensor::scalar_f32(0.05f);
  Tensor zp(DType::u8, {});
  zp.data<uint8_t>()[0] = 100;
  g->initializers["z"] = zp;
  g->initializers["w"] = random_int<int8_t>({OC, C, 1, 1}, -127, 127, rng);
  g->initializers["scales"] = Tensor::from_vector<float>({4}, {1.f, 1.f, 2.f, 2.f});
  Node q, conv, pool, resize, concat, dq;
  q.name = "q", q.op_type = "QuantizeLinear", q.inputs = {"x", "s", "z"}, q.outputs = {"xq"};
  conv.name = "conv", conv.op_type = "QConv", conv.domain = "qtune";
  conv.inputs = {"xq", "w"}, conv.outputs = {"cq"};
  conv.attrs["strides"] = std::vector<int64_t>{2, 2};
  conv.attrs["x_scale"] = 0.05f, conv.attrs["x_zero_point"] = int64_t{100};
  conv.attrs["w_scales"] = std::vector<float>(OC, 0.002f),
  conv.attrs["y_dtype"] = std::string("u8");
  conv.attrs["y_scale"] = 0.05f, conv.attrs["y_zero_point"] = int64_t{100};
  pool.name = "pool", pool.op_type = "QMaxPool", pool.domain = "qtune";
  pool.inputs = {"xq"}, pool.outputs = {"pq"};
  pool.attrs["kernel_shape"] = std::vector<int64_t>{1, 1};
  resize.name = "resize", resize.op_type = "QResize", resize.domain = "qtune";
  resize.inputs = {"cq", "", "scales"}, resize.outputs = {"rq"};
  resize.attrs["mode"] = std::string("nearest");
  concat.name = "concat", concat.op_type = "Concat", concat.inputs = {"rq", "pq"};
  concat.outputs = {"cat"}, concat.attrs["axis"] = int64_t{1};
  dq.name = "dq", dq.op_type = "DequantizeLinear", dq.inputs = {"cat", "s", "z"};
  dq.outputs = {"y"};
  g->nodes = {q, conv, pool, resize, concat, dq};

  std::map<std::string, Tensor> seen = run_capturing(g, x);
  const Tensor &cq = seen.at("conv"), &rq = seen.at("resize"), &cat = seen.at("concat");
  const Tensor &pq = seen.at("pool");
  ASSERT_EQ(rq.shape(), (Shape{1, OC, 2 * H, 2 * W}));
  ASSERT_EQ(cat.shape(), (Shape{1, OC + C, 2 * H, 2 * W}));
  int bad_resize = 0, bad_concat = 0;
  for (int64_t c = 0; c < OC + C; ++c)
    for (int64_t i = 0; i < 2 * H; ++i)
      for (int64_t j = 0; j < 2 * W; ++j) {
        int64_t at = (c * 2 * H + i) * 2 * W + j;
        uint8_t want = c < OC ? cq.data<uint8_t>()[(c * H + i / 2) * W + j / 2]
                              : pq.data<uint8_t>()[((c - OC) * 2 * H + i) * 2 * W + j];
        if (c < OC)
          bad_resize += rq.data<uint8_t>()[at] != want;
        bad_concat += cat.data<uint8_t>()[at] != want;
      }
  EXPECT_EQ(bad_resize, 0);
  EXPECT_EQ(bad_concat, 0);

  // The kernel itself keeps channels-last for a channels-last input.
  auto rk = make_kernel(resize, KernelEnv{.graph = g.get()});
  dnnl::memory::desc nhwc({1, OC, H, W}, dnnl::memory::data_type::u8,
                          dnnl::memory::format_tag::nhwc);
  std::vector<const dnnl_memory_desc_t *> layouts{&nhwc.data, nullptr, nullptr};
  rk->set_input_layouts(layouts);
  std::vector<Tensor> r_in{cq, Tensor(), g->initializers["scales"]};
  rk->infer(r_in);
  rk->prepare(r_in);
  ASSERT_NE(rk->output_layout(0), nullptr);
  EXPECT_TRUE(dnnl::memory::desc(*rk->output_layout(0)) ==
              dnnl::memory::desc({1, OC, 2 * H, 2 * W}, dnnl::memory::data_type::u8,
                                 dnnl::memory::format_tag::nhwc));
}

// Runs QuantizeLinear(x, s, z) feeding a QConv through the executor (so it
// writes NHWC) and counts elements of its output (the hook's plain copy)
// that differ from the ONNX formula; s and z hold 1 or C values.
int64_t nhwc_quantize_mismatches(const Tensor &x, const Tensor &s, const Tensor &z,
                                 std::mt19937 &rng) {
  const int64_t C = x.shape()[1], plane = x.shape()[2] * x.shape()[3];
  auto g = std::make_shared<Graph>();
  g->inputs.push_back({"x", DType::f32, {}, false});
  g->outputs.push_back({"y", DType::f32, {}, false});
  g->initializers["s"] = s;
  g->initializers["z"] = z;
  g->initializers["w"] = random_int<int8_t>({3, C, 1, 1}, -5, 5, rng);
  Node q, conv;
  q.name = "q", q.op_type = "QuantizeLinear", q.inputs = {"x", "s", "z"}, q.outputs = {"xq"};
  conv.name = "conv", conv.op_type = "QConv", conv.domain = "qtune";
  conv.inputs = {"xq", "w"}, conv.outputs = {"y"};
  conv.attrs["x_scale"] = 1.f, conv.attrs["w_scales"] = std::vector<float>{1.f};
  conv.attrs["y_dtype"] = std::string("f32");
  g->nodes = {q, conv};
  Tensor xq = run_capturing(g, x).at("q");
  int64_t bad = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t c = s.numel() == 1 ? 0 : (i / plane) % C;
    int got = z.dtype() == DType::u8 ? xq.data<uint8_t>()[i] : xq.data<int8_t>()[i];
    bad += got != onnx_quantize(x.data<float>()[i], s.data<float>()[c],
                                static_cast<int>(z.get_i64(c)), z.dtype());
  }
  return bad;
}

// Per-channel QuantizeLinear (axis 1) written as NHWC for a QConv reader.
TEST(QuantizeLinear, PerChannelNhwcMatchesOnnxFormula) {
  const int64_t C = 5, H = 4, W = 7;
  Tensor x(DType::f32, {2, C, H, W});
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> u(-3.f, 3.f);
  for (float &v : x.span<float>())
    v = u(rng);
  Tensor s = Tensor::from_vector<float>({C}, {0.01f, 0.02f, 0.03f, 0.05f, 0.1f});
  Tensor z = Tensor::from_vector<int8_t>({C}, {0, -5, 3, 10, -20});
  EXPECT_EQ(nhwc_quantize_mismatches(x, s, z, rng), 0);
}

// Image-like inputs (C = 2..4, the AVX-512 VBMI interleaving path; W = 37
// leaves a partial 16-pixel group): u8 and s8, per tensor and per channel,
// with exact rounding ties and values far outside the int8 range.
TEST(QuantizeLinear, ImageNhwcSmallChannelCountsMatchOnnxFormula) {
  std::mt19937 rng(13);
  std::uniform_real_distribution<float> u(-40.f, 300.f);
  for (int64_t C : {2, 3, 4})
    for (bool per_channel : {false, true})
      for (DType t : {DType::u8, DType::i8}) {
        Tensor x(DType::f32, {2, C, 5, 37});
        for (float &v : x.span<float>())
          v = u(rng);
        for (int64_t i = 0; i < x.numel(); i += 7)
          x.data<float>()[i] = 0.5f * static_cast<float>(i % 301); // ties for scale 1
        int64_t k = per_channel ? C : 1;
        std::vector<float> scales(k, 1.f);
        for (int64_t c = 1; c < k; ++c)
          scales[c] = 0.37f * static_cast<float>(c);
        Tensor s = Tensor::from_vector<float>({k}, scales);
        Tensor z = t == DType::u8 ? Tensor::from_vector<uint8_t>({k}, std::vector<uint8_t>(k, 3))
                                  : Tensor::from_vector<int8_t>({k}, std::vector<int8_t>(k, -7));
        if (!per_channel)
          s = Tensor::scalar_f32(1.f), z = z.reshaped({});
        EXPECT_EQ(nhwc_quantize_mismatches(x, s, z, rng), 0)
            << "C " << C << (per_channel ? " per channel " : " per tensor ") << dtype_name(t);
      }
}

// The image path (AVX-512 VBMI; the generic one elsewhere) on inputs at and
// one or two ulps around every rounding tie (k + 1/2) * scale, for scales
// whose reciprocal is inexact, and the extremes (+-inf, +-FLT_MAX, tiny
// values, signed zeros): the formula's level.
TEST(QuantizeLinear, ImageNhwcNearTiesAndExtremesMatchOnnxFormula) {
  std::mt19937 rng(17);
  const float inf = std::numeric_limits<float>::infinity();
  for (float scale : {1.f / 255.f, 0.01865f, 0.37f, 1.7f, 3.f})
    for (DType t : {DType::u8, DType::i8}) {
      std::vector<float> v = {inf, -inf, 3.4e38f, -3.4e38f, 1e-35f, -1e-35f, 0.f, -0.f, 1e-30f};
      for (int k = -140; k < 300; ++k) {
        const auto tie = static_cast<float>((k + 0.5) * static_cast<double>(scale));
        float up = tie, down = tie;
        v.push_back(tie);
        for (int i = 0; i < 2; ++i) {
          up = std::nextafter(up, inf), down = std::nextafter(down, -inf);
          v.push_back(up), v.push_back(down);
        }
      }
      Tensor x(DType::f32, {1, 3, 7, 129});
      for (int64_t i = 0; i < x.numel(); ++i)
        x.data<float>()[i] = v[static_cast<size_t>(i) % v.size()];
      Tensor z = t == DType::u8 ? Tensor::from_vector<uint8_t>({}, {3})
                                : Tensor::from_vector<int8_t>({}, {-7});
      EXPECT_EQ(nhwc_quantize_mismatches(x, Tensor::scalar_f32(scale), z, rng), 0)
          << "scale " << scale << " " << dtype_name(t);
    }
}

// A per-tensor QuantizeLinear spanning many chunks (threaded): every element
// against the formula.
TEST(QuantizeLinear, LargePerTensorThreadedMatchesOnnxFormula) {
  Tensor x(DType::f32, {1, 3, 211, 197});
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-40.f, 40.f);
  for (float &v : x.span<float>())
    v = u(rng);
  Node node;
  node.name = "q", node.op_type = "QuantizeLinear";
  Tensor zp(DType::u8, {});
  zp.data<uint8_t>()[0] = 100;
  Tensor y = run_node(node, {x, Tensor::scalar_f32(0.25f), zp})[0];
  int bad = 0;
  for (int64_t i = 0; i < x.numel(); ++i)
    bad += y.data<uint8_t>()[i] != onnx_quantize(x.data<float>()[i], 0.25f, 100, DType::u8);
  EXPECT_EQ(bad, 0);
}

// An FP32 Conv (which writes a blocked layout) feeding QuantizeLinear feeding
// a QConv: Q reorders the blocked input itself and writes NHWC; its output
// must still be the ONNX formula applied to the plain conv output.
TEST(QuantizeLinear, BlockedFloatInputFromConvMatchesOnnxFormula) {
  const int64_t C = 8, OC = 32, H = 10, W = 12;
  std::mt19937 rng(13);
  std::normal_distribution<float> nd(0.f, 1.f);
  Tensor x(DType::f32, {1, C, H, W}), wf(DType::f32, {OC, C, 3, 3});
  for (float &v : x.span<float>())
    v = nd(rng);
  for (float &v : wf.span<float>())
    v = 0.3f * nd(rng);
  auto g = std::make_shared<Graph>();
  g->inputs.push_back({"x", DType::f32, {}, false});
  g->outputs.push_back({"y", DType::f32, {}, false});
  g->initializers["wf"] = wf;
  g->initializers["s"] = Tensor::scalar_f32(0.07f);
  Tensor z(DType::u8, {});
  z.data<uint8_t>()[0] = 120;
  g->initializers["z"] = z;
  g->initializers["w"] = random_int<int8_t>({4, OC, 1, 1}, -9, 9, rng);
  Node conv, q, qconv;
  conv.name = "conv", conv.op_type = "Conv", conv.inputs = {"x", "wf"}, conv.outputs = {"c"};
  conv.attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  q.name = "q", q.op_type = "QuantizeLinear", q.inputs = {"c", "s", "z"}, q.outputs = {"cq"};
  qconv.name = "qconv", qconv.op_type = "QConv", qconv.domain = "qtune";
  qconv.inputs = {"cq", "w"}, qconv.outputs = {"y"};
  qconv.attrs["x_scale"] = 0.07f, qconv.attrs["x_zero_point"] = int64_t{120};
  qconv.attrs["w_scales"] = std::vector<float>{0.01f}, qconv.attrs["y_dtype"] = std::string("f32");
  // A second Q whose reader wants plain data: it reorders the blocked input.
  Node q2 = q, dq2;
  q2.name = "q2", q2.outputs = {"cq2"};
  dq2.name = "dq2", dq2.op_type = "DequantizeLinear", dq2.inputs = {"cq2", "s", "z"};
  dq2.outputs = {"y2"};
  g->outputs.push_back({"y2", DType::f32, {}, false});
  g->nodes = {conv, q, qconv, q2, dq2};
  std::map<std::string, Tensor> seen = run_capturing(g, x);
  const Tensor &c = seen.at("conv"), &cq = seen.at("q"), &cq2 = seen.at("q2");
  int bad = 0, bad2 = 0;
  for (int64_t i = 0; i < c.numel(); ++i) {
    int want = onnx_quantize(c.data<float>()[i], 0.07f, 120, DType::u8);
    bad += cq.data<uint8_t>()[i] != want;
    bad2 += cq2.data<uint8_t>()[i] != want;
  }
  EXPECT_EQ(bad, 0) << "of " << c.numel();
  EXPECT_EQ(bad2, 0) << "of " << c.numel();
}

} // namespace
} // namespace qtune
