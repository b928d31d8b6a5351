// qtune:QConv: int8 2-D convolution on oneDNN, made by the QDQ lowering pass
// from DQ(x) -> Conv(DQ(w), b) [-> act] [-> Add(sum)] -> Q.
//
// Inputs: X (u8/i8, zero point x_zero_point, scale x_scale), W (i8 [O,C/g,KH,KW],
// symmetric, per-output-channel w_scales), B (f32 in real units, optional),
// Sum (optional, added after the activation; dtype of the output, with
// sum_scale / sum_zero_point when int8), T (optional: 256 u8/i8 entries; the
// int8 result y is replaced by T[u8(y)], whose type is the output's: an
// activation table the lowering folded in, quant/lowering/lut.cpp).
// Attrs: Conv attrs plus QConvParams (qconv.h).
//
// oneDNN 2.6 adds the bias *before* output scales, so the real-unit bias is
// divided by x_scale * w_scale. The output scale takes the accumulator to real
// units, activations then run in real units (so SiLU etc. are exact), the sum
// post-op adds sum_scale * (sum - sum_zero_point), and a final linear post-op
// requantises with 1 / y_scale and + y_zero_point; the dst conversion rounds and
// saturates. `channel_scale` (one factor per output channel, applied after the
// activation) is a binary multiply post-op before that requantisation.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fmt/format.h>
#include <limits>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "qtune/error.h"
#include "runtime/dnnl_util.h"
#include "runtime/kernel.h"
#include "runtime/kernels/kernel_util.h"
#include "runtime/kernels/lut_simd.h"
#include "runtime/kernels/qconv.h"
#include "runtime/kernels/qconv_1x1.h"
#include "runtime/kernels/qconv_dw.h"
#include "runtime/kernels/silu.h"

namespace qtune {

QConvParams QConvParams::from(const Node &n) {
  QConvParams p;
  p.x = int8::InputParams::from(n, "x");
  p.w_scales = int8::required_floats(n, "w_scales");
  p.y = int8::OutputParams::from(n);
  p.activation = int8::FusedActivation::from(n, "activation");
  p.sum = n.attr_int("sum", 0) != 0;
  if (p.sum)
    p.sum_q = int8::InputParams::from(n, "sum");
  p.post_activation = int8::FusedActivation::from(n, "post_activation");
  if (n.has_attr("channel_scale"))
    p.channel_scale = n.attr_floats("channel_scale");
  return p;
}

void QConvParams::write(Node &n) const {
  x.write(n, "x");
  n.attrs["w_scales"] = w_scales;
  y.write(n);
  activation.write(n, "activation");
  for (const char *a : {"sum", "sum_scale", "sum_zero_point"})
    n.attrs.erase(a);
  if (sum) {
    n.attrs["sum"] = int64_t{1};
    sum_q.write(n, "sum");
  }
  post_activation.write(n, "post_activation");
  n.attrs.erase("channel_scale");
  if (!channel_scale.empty())
    n.attrs["channel_scale"] = channel_scale;
}

namespace {

using dnnl::memory;
using tag = memory::format_tag;

class QConvKernel : public Kernel {
  // The bounds of the clamp epilogue (kernels::ClampRequantize).
  struct Clamp {
    float lo, hi, post_lo, post_hi;
  };

public:
  QConvKernel(const Node &n, const KernelEnv &env)
      : node_(n), env_(env), p_(QConvParams::from(n)) {}

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    const Tensor &x = in[0];
    if (x.dtype() != DType::u8 && x.dtype() != DType::i8)
      throw InputError(
          fmt::format("{}: input type {} is not int8", node_.describe(), dtype_name(x.dtype())));
    if (in[1].dtype() != DType::i8)
      throw InputError(
          fmt::format("{}: weight type {} is not i8", node_.describe(), dtype_name(in[1].dtype())));
    geo_ = int8::conv_geometry(node_, x.shape(), in[1].shape());
    if (p_.w_scales.size() != 1 && static_cast<int64_t>(p_.w_scales.size()) != geo_.oc)
      throw InputError(fmt::format("{}: {} weight scales for {} output channels", node_.describe(),
                                   p_.w_scales.size(), geo_.oc));
    if (!p_.channel_scale.empty() &&
        (static_cast<int64_t>(p_.channel_scale.size()) != geo_.oc || p_.sum))
      throw InputError(fmt::format("{}: channel_scale needs {} factors and no sum, has {}{}",
                                   node_.describe(), geo_.oc, p_.channel_scale.size(),
                                   p_.sum ? " and a sum" : ""));
    table_ = in.size() > 4 && in[4].defined();
    DType out = p_.y.dtype;
    if (table_) {
      const DType t = in[4].dtype();
      if ((t != DType::u8 && t != DType::i8) || in[4].numel() != 256 || p_.y.dtype == DType::f32)
        throw InputError(fmt::format("{}: table (input 4) must be 256 int8 entries after an int8 "
                                     "output, is {} {} after {}",
                                     node_.describe(), in[4].numel(), dtype_name(t),
                                     dtype_name(p_.y.dtype)));
      out = t;
    }
    return {{out, {geo_.n, geo_.oc, geo_.oh, geo_.ow}}};
  }

  void prepare(std::span<const Tensor> in) override {
    const auto &g = geo_;
    dnnl::engine &eng = dnnl_util::engine(env_);
    auto src_dt = dnnl_util::dtype(in[0].dtype());
    auto dst_dt = dnnl_util::dtype(p_.y.dtype);
    memory::dims src_dims{g.n, g.c, g.h, g.w}, dst_dims{g.n, g.oc, g.oh, g.ow};
    memory::dims w_dims = g.group == 1
                              ? memory::dims{g.oc, g.c, g.kh, g.kw}
                              : memory::dims{g.group, g.oc / g.group, g.c / g.group, g.kh, g.kw};
    tag w_plain = g.group == 1 ? tag::oihw : tag::goihw;

    memory::desc w_any(w_dims, memory::data_type::s8, tag::any);
    memory::desc b_md({g.oc}, memory::data_type::f32, tag::x);
    bool has_bias = has_bias_input(in);
    // Without VNNI the weights are halved to 7 bits (see int8_util.h).
    bool halve = int8::weights_need_7bit() && !int8::fits_7bit(in[1]);
    std::vector<float> out_scales = int8::output_scales(p_.x.scale, p_.w_scales, halve);
    Tensor w = halve ? int8::halved(in[1]) : in[1];
    std::vector<double> acc_bias = bias_plan(in, w, out_scales);
    has_bias = has_bias || fold_zp_;
    int32_t attr_zp = fold_zp_ ? 0 : p_.x.zero_point;

    // Source: the layout the producer wrote (plain unless the executor says
    // otherwise). A blocked one (NHWC from QuantizeLinear, QConv, QMaxPool) is
    // asked for first so no reorder is needed; else oneDNN picks and the
    // source is reordered to its choice.
    memory::desc src_plain(src_dims, src_dt, tag::nchw);
    memory::desc given = layout_of(0, src_plain);
    auto attr_for = [&](bool silu_pass) {
      dnnl::primitive_attr attr;
      int8::set_scales_and_zero_point(attr, out_scales, attr_zp);
      attr.set_post_ops(make_post_ops(in, silu_pass));
      return attr;
    };
    auto pd = make_pd(given, w_any, b_md, has_bias, memory::desc(dst_dims, dst_dt, tag::any),
                      attr_for(false));
    own_silu_ = false;
    if (wants_own_silu(in, pd.dst_desc())) {
      // The same kernel with an f32 output in the int8 output's layout
      // (consumers of int8 activations expect the layout oneDNN picks for
      // them); another kernel could order bias and scale differently.
      memory::desc f32_dst = pd.dst_desc();
      f32_dst.data.data_type = dnnl_f32;
      try {
        auto own = make_pd(given, w_any, b_md, has_bias, f32_dst, attr_for(true));
        own_silu_ = own.src_desc() == pd.src_desc() &&
                    std::string(own.impl_info_str()) == pd.impl_info_str();
        if (own_silu_)
          pd = own;
      } catch (const UnsupportedError &) { // no such kernel: oneDNN's post-ops then
      }
    }
    border_.clear();
    if (own_silu_ && p_.y.dtype != DType::f32 && attr_zp != 0) {
      const int32_t zp = std::exchange(attr_zp, 0);
      if (auto folded = fold_padded_zero_point(in, w, out_scales, acc_bias, given, w_any, b_md, pd,
                                               attr_for(true))) {
        pd = *folded;
        has_bias = true;
      } else {
        attr_zp = zp;
      }
    }
    conv_ = dnnl::convolution_forward(pd);
    const char *pass =
        p_.activation.op == "Sigmoid" ? " + qtune sigmoid pass" : " + qtune SiLU pass";
    impl_ = std::string(pd.impl_info_str()) + (own_silu_ ? pass : "") +
            (border_.empty() ? "" : " (zero point folded, borders corrected)");

    x_mem_ = memory(given, eng, nullptr);
    src_reorder_ = {};
    src_mem_ = x_mem_;
    if (given != pd.src_desc()) {
      src_mem_ = memory(pd.src_desc(), eng);
      src_reorder_ = dnnl::reorder(x_mem_, src_mem_);
    }
    // Destination: the primitive's layout when the executor keeps oneDNN
    // layouts between kernels, else a private buffer reordered to plain. With
    // our own SiLU pass the conv writes f32 into a scratch buffer in that
    // layout and the pass writes the int8 output.
    memory::desc dst_plain(dst_dims, dst_dt, tag::nchw);
    dst_desc_ = pd.dst_desc();
    f32_dst_ = own_silu_ && p_.y.dtype != DType::f32 ? memory(dst_desc_, eng, nullptr) : memory();
    dst_desc_.data.data_type = static_cast<dnnl_data_type_t>(dst_dt);
    dst_is_plain_ = dst_desc_ == dst_plain;
    out_desc_ = dst_desc_; // what consumers see: the table's type when there is one
    if (table_)
      out_desc_.data.data_type = static_cast<dnnl_data_type_t>(dnnl_util::dtype(in[4].dtype()));
    dst_reorder_ = {};
    if (layouts_enabled_ || dst_is_plain_) {
      y_mem_ = memory(dst_desc_, eng, nullptr);
      conv_dst_ = y_mem_;
    } else {
      y_mem_ = memory(dst_plain, eng, nullptr);
      conv_dst_ = memory(dst_desc_, eng);
      dst_reorder_ = dnnl::reorder(conv_dst_, y_mem_);
    }
    if (p_.sum) {
      // The sum post-op reads the addend from dst, in the addend's dtype.
      auto sum_dt = dnnl_util::dtype(in[3].dtype());
      memory::desc sum_given = layout_of(3, memory::desc(dst_dims, sum_dt, tag::nchw));
      memory::desc dst_as_sum = conv_dst_.get_desc();
      dst_as_sum.data.data_type = static_cast<dnnl_data_type_t>(sum_dt);
      sum_mem_ = memory(sum_given, eng, nullptr);
      sum_copy_ = sum_given == dst_as_sum;
      sum_dst_ = memory(dst_as_sum, eng, nullptr);
      sum_reorder_ = sum_copy_ ? dnnl::reorder() : dnnl::reorder(sum_mem_, sum_dst_);
    }

    // Weights: reorder once into the primitive's layout (which may carry the
    // zero-point compensation oneDNN computes during this reorder).
    memory w_user({w_dims, memory::data_type::s8, w_plain}, eng, const_cast<void *>(w.raw()));
    weights_ = memory(pd.weights_desc(), eng);
    dnnl::reorder(w_user, weights_).execute(dnnl_util::stream(env_), w_user, weights_);
    bias_ = has_bias ? int8::bias_memory(eng, b_md, acc_bias) : memory();
    zp_mem_ = int8::zero_point_memory(eng, attr_zp);
    channel_scale_mem_ = p_.channel_scale.empty()
                             ? memory()
                             : memory({{1, g.oc, 1, 1}, memory::data_type::f32, tag::abcd}, eng,
                                      const_cast<float *>(p_.channel_scale.data()));
    dnnl_util::stream(env_).wait();
    own_1x1_.reset();
    own_dw_.reset();
    clamp_ = own_silu_ ? std::nullopt : clamp_epilogue(in);
    if (own_1x1_fits(in, given, attr_zp, halve)) {
      std::vector<float> b(g.oc, 0.f);
      if (has_bias)
        std::transform(acc_bias.begin(), acc_bias.end(), b.begin(),
                       [](double v) { return static_cast<float>(v); });
      own_1x1_ = std::make_unique<kernels::Conv1x1U8>(w.data<int8_t>(), g.oc, g.c, b, out_scales);
      impl_ = "qtune vnni 1x1 conv + fused " + epilogue_name();
    } else if (own_dw_fits(in, given, halve)) {
      // The zero point and the model's own bias (not a folded one): the
      // kernel computes what oneDNN's zero-point conv computes.
      const std::vector<double> raw = has_bias_input(in)
                                          ? int8::accumulator_bias(in[2], g.oc, out_scales)
                                          : std::vector<double>(g.oc, 0.0);
      const std::vector<float> b(raw.begin(), raw.end());
      own_dw_ =
          std::make_unique<kernels::ConvDwU8>(g, w.data<int8_t>(), p_.x.zero_point, b, out_scales);
      impl_ = "qtune depthwise conv + fused SiLU";
    }
    if (table_ && !own_1x1_) {
      impl_ += " + table";
    }
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    if (own_1x1_ || own_dw_) { // qtune's own conv with the SiLU epilogue
      const auto &g = geo_;
      const kernels::Int8Addend add{p_.sum ? in[3].raw() : nullptr,
                                    p_.sum && in[3].dtype() == DType::u8, p_.sum_q.scale,
                                    static_cast<float>(p_.sum_q.zero_point)};
      const bool u8 = p_.y.dtype == DType::u8;
      const float inv_scale = 1.f / p_.y.scale, zp = static_cast<float>(p_.y.zero_point);
      const kernels::SiluRequantize e{u8, inv_scale, zp, p_.sum ? &add : nullptr};
      const int64_t pixels = g.n * g.h * g.w;
      if (own_1x1_ && clamp_)
        own_1x1_->clamp_quantize(in[0].data<uint8_t>(), pixels, out[0].raw(),
                                 {u8, inv_scale, zp, clamp_->lo, clamp_->hi,
                                  p_.sum ? &add : nullptr, clamp_->post_lo, clamp_->post_hi});
      else if (own_1x1_)
        own_1x1_->silu_quantize(in[0].data<uint8_t>(), pixels, out[0].raw(), e);
      else
        own_dw_->silu_quantize(in[0].data<uint8_t>(), out[0].raw(), e);
      if (table_)
        apply_table(out[0], static_cast<const uint8_t *>(in[4].raw()));
      return;
    }
    dnnl::stream &s = dnnl_util::stream(env_);
    x_mem_.set_data_handle(const_cast<void *>(in[0].raw()));
    y_mem_.set_data_handle(out[0].raw());
    if (src_reorder_)
      src_reorder_.execute(s, x_mem_, src_mem_);
    // The sum post-op reads the addend from dst; the SiLU pass reads it in
    // place when its layout is the output's.
    const bool addend_in_place = p_.sum && sum_copy_ && own_silu_;
    if (p_.sum && !addend_in_place) {
      sum_dst_.set_data_handle(conv_dst_.get_data_handle());
      if (sum_copy_) {
        if (conv_dst_.get_data_handle() != in[3].raw()) // see output_may_overwrite_input
          std::memcpy(conv_dst_.get_data_handle(), in[3].raw(), conv_dst_.get_desc().get_size());
      } else {
        sum_mem_.set_data_handle(const_cast<void *>(in[3].raw()));
        sum_reorder_.execute(s, sum_mem_, sum_dst_);
      }
    }
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, src_mem_}, {DNNL_ARG_WEIGHTS, weights_}, {DNNL_ARG_DST, conv_dst_}};
    if (bias_)
      args[DNNL_ARG_BIAS] = bias_;
    if (zp_mem_)
      args[DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC] = zp_mem_;
    if (channel_scale_mem_)
      args[channel_scale_arg_] = channel_scale_mem_;
    if (own_silu_)
      run_silu_pass(args, addend_in_place ? in[3].raw() : conv_dst_.get_data_handle(),
                    p_.sum && in[3].dtype() == DType::u8);
    else
      conv_.execute(s, args);
    if (dst_reorder_)
      dst_reorder_.execute(s, conv_dst_, y_mem_);
    s.wait();
    if (table_)
      apply_table(out[0], static_cast<const uint8_t *>(in[4].raw()));
  }

  // oneDNN layout opt-in (runtime/kernel.h): int8 activations stay in the
  // convolution's blocked layout between int8 kernels.
  bool accepts_dnnl_layouts() const override { return true; }
  std::string implementation() const override { return impl_; }
  // The sum post-op reads the addend from dst: in place when the conv writes
  // the output directly in the addend's layout.
  int output_may_overwrite_input(size_t k) const override {
    return k == 0 && p_.sum && sum_copy_ && !dst_reorder_ ? 3 : -1; // also with the SiLU pass
  }
  void set_input_layouts(std::span<const dnnl_memory_desc_t *const> layouts) override {
    layouts_enabled_ = true;
    in_layouts_.assign(layouts.begin(), layouts.end());
  }
  const dnnl_memory_desc_t *output_layout(size_t) const override {
    return dst_is_plain_ ? nullptr : &out_desc_.data;
  }

private:
  // The table over the int8 output as written: every byte of a blocked
  // layout, padded channels included (they then hold T[0], which the next
  // conv multiplies by zero-padded weights, as QLut's blocked form).
  void apply_table(Tensor &y, const uint8_t *t) const {
    auto *bytes = static_cast<uint8_t *>(y.raw());
    const auto n =
        static_cast<int64_t>(dst_reorder_ || dst_is_plain_ ? y.nbytes() : dst_desc_.get_size());
    kernels::lut_map(bytes, bytes, n, t);
  }

  // The bias in accumulator units, with the source zero point folded in
  // (fold_zp_) when the conv is unpadded and the fold is exact. oneDNN 2.6
  // runs a zero-point conv on this CPU with its jit kernels (its brgconv takes
  // none), which were 2-3x slower per call than the brgconv on every 1x1 conv
  // of YOLOX-Nano (sum of best-call times 12.3 vs 6.8 ms).
  std::vector<double> bias_plan(std::span<const Tensor> in, const Tensor &w,
                                const std::vector<float> &out_scales) {
    const auto &g = geo_;
    bool has_bias = has_bias_input(in);
    std::vector<double> acc_bias =
        has_bias ? int8::accumulator_bias(in[2], g.oc, out_scales) : std::vector<double>(g.oc, 0.0);
    bool unpadded = g.pad_t == 0 && g.pad_l == 0 && g.pad_b == 0 && g.pad_r == 0;
    fold_zp_ = false;
    if (p_.x.zero_point == 0 || !unpadded)
      return acc_bias;
    auto folded = folded_bias(acc_bias, w, in[0].dtype());
    fold_zp_ = folded.has_value();
    return folded ? *folded : acc_bias;
  }

  // conv(x - zp) + b = conv(x) + (b - zp * sum(w)): the bias to use without
  // the zero point, or nothing when that would not be exact. oneDNN converts
  // the int32 accumulator to f32 and adds the bias in f32, so the result equals
  // its int32 zero-point compensation bit for bit only if the bias is an
  // integer (an int32 QDQ bias) and every value added -- the raw accumulator,
  // the folded bias, their sum -- is an integer below 2^24. A fractional bias
  // next to a large zp * sum(w) lost its fraction in f32 and moved outputs by
  // a quantization step (untuned all-int8 YOLOX-Nano AP -0.0027). `padded`:
  // the bounds correct_borders needs too (raw sum below 2^23 so it can be
  // recovered from oneDNN's output, the centred accumulator + bias below 2^24).
  std::optional<std::vector<double>> folded_bias(const std::vector<double> &acc_bias,
                                                 const Tensor &w, DType x_dtype,
                                                 bool padded = false) const {
    const double exact = 16777216.0; // 2^24
    const double raw_limit = padded ? exact / 2 : exact;
    double x_max = x_dtype == DType::u8 ? 255.0 : 128.0;
    const auto *wd = static_cast<const int8_t *>(w.raw());
    int64_t per_oc = w.numel() / geo_.oc;
    std::vector<double> folded(geo_.oc);
    for (int64_t o = 0; o < geo_.oc; ++o) {
      if (acc_bias[o] != std::nearbyint(acc_bias[o]) || std::abs(acc_bias[o]) >= exact)
        return std::nullopt;
      int64_t sum = 0, abs_sum = 0;
      for (int64_t k = 0; k < per_oc; ++k) {
        sum += wd[o * per_oc + k];
        abs_sum += std::abs(wd[o * per_oc + k]);
      }
      folded[o] = acc_bias[o] - static_cast<double>(int64_t{p_.x.zero_point} * sum);
      if (x_max * static_cast<double>(abs_sum) + std::abs(folded[o]) >= raw_limit ||
          (padded && 255.0 * static_cast<double>(abs_sum) + std::abs(acc_bias[o]) >= exact))
        return std::nullopt;
    }
    return folded;
  }

  // With own_silu_: an f32 output gets the SiLU pass in place; else the conv
  // writes an f32 scratch buffer, then SiLU [+ the int8 addend at `addend`,
  // u8 or i8] and requantisation go into the int8 output.
  void run_silu_pass(std::unordered_map<int, memory> &args, const void *addend, bool addend_u8) {
    dnnl::stream &s = dnnl_util::stream(env_);
    if (p_.y.dtype == DType::f32) {
      conv_.execute(s, args);
      s.wait();
      auto *y = static_cast<float *>(conv_dst_.get_data_handle());
      const auto n = static_cast<int64_t>(dst_desc_.get_size() / sizeof(float));
      p_.activation.op == "Sigmoid" ? kernels::sigmoid_inplace(y, n) : kernels::silu_inplace(y, n);
      return;
    }
    // One scratch per thread, shared by every such conv that thread runs and
    // kept for the thread's life (the largest such output, in f32), 64-byte
    // aligned as oneDNN's own buffers.
    thread_local std::vector<float> scratch;
    const size_t n = f32_dst_.get_desc().get_size() / sizeof(float);
    if (scratch.size() < n + 16)
      scratch.resize(n + 16);
    float *f32 = scratch.data();
    f32 += kernels::to_64_byte_boundary(f32);
    f32_dst_.set_data_handle(f32);
    args[DNNL_ARG_DST] = f32_dst_;
    conv_.execute(s, args);
    s.wait();
    correct_borders(f32);
    const kernels::Int8Addend add{addend, addend_u8, p_.sum_q.scale,
                                  static_cast<float>(p_.sum_q.zero_point)};
    kernels::silu_quantize(f32, conv_dst_.get_data_handle(), p_.y.dtype == DType::u8,
                           1.f / p_.y.scale, static_cast<float>(p_.y.zero_point),
                           static_cast<int64_t>(n), p_.sum ? &add : nullptr);
  }

  // A padded conv with a source zero point runs on oneDNN 2.6's jit_int8
  // kernels (brdgmm / brgconv take no zero point): 1.3-4.6x slower than
  // brdgmm_dw on YOLOX-Nano's depthwise shapes (bench_int8_kernels
  // BM_qconv_dw_zero_point). Before the SiLU pass the zero point can go: the
  // conv runs without it on the folded bias (conv(x - zp) = conv(x) - zp *
  // sum(w), exact in integers: folded_bias), which is right wherever every
  // tap reads the image; at the border oneDNN's zero padding dropped taps
  // that the fold subtracted, and correct_borders puts zp * (those weights)
  // back. Bit for bit oneDNN's zero-point conv: its f32 output is fl(K * s)
  // for the integer K = accumulator + bias, which folded_bias's padded bounds
  // keep below 2^23 (so K = round(y / s) is recovered exactly) and 2^24 once
  // corrected. Only for an int8 output, kernels up to 32 taps a side, the f32
  // buffer channels-last, and oneDNN's source layout unchanged: returns the
  // primitive, or nothing (no change). `attr`: the SiLU pass's attributes
  // without a zero point.
  std::optional<dnnl::convolution_forward::primitive_desc> fold_padded_zero_point(
      std::span<const Tensor> in, const Tensor &w, const std::vector<float> &out_scales,
      std::vector<double> &acc_bias, const memory::desc &given, const memory::desc &w_any,
      const memory::desc &b_md, const dnnl::convolution_forward::primitive_desc &pd,
      const dnnl::primitive_attr &attr) {
    const auto &g = geo_;
    const memory::desc f32_nhwc({g.n, g.oc, g.oh, g.ow}, memory::data_type::f32, tag::nhwc);
    if (g.kh > 32 || g.kw > 32 ||
        pd.dst_desc() !=
            memory::desc({g.n, g.oc, g.oh, g.ow}, pd.dst_desc().data_type(), tag::nhwc))
      return std::nullopt;
    auto folded = folded_bias(acc_bias, w, in[0].dtype(), true);
    if (!folded)
      return std::nullopt;
    try {
      auto own = make_pd(given, w_any, b_md, true, f32_nhwc, attr);
      if (own.src_desc() != pd.src_desc() || own.dst_desc() != f32_nhwc)
        return std::nullopt;
      acc_bias = *folded;
      plan_borders(w, out_scales);
      return own;
    } catch (const UnsupportedError &) {
      return std::nullopt;
    }
  }

  // The border outputs and what to add to each in accumulator units: zp *
  // the sum of w[o] over the taps that fall in the padding, one vector per
  // distinct pattern of such taps (9 for a 3x3 pad-1 conv: 4 edges, 4 corners).
  void plan_borders(const Tensor &w, const std::vector<float> &out_scales) {
    const auto &g = geo_;
    const auto oob_taps = [](int64_t out, int64_t stride, int64_t pad, int64_t dil, int64_t k,
                             int64_t size) {
      uint32_t mask = 0; // k <= 32 (fold_padded_zero_point)
      for (int64_t i = 0; i < k; ++i) {
        const int64_t at = out * stride - pad + i * dil;
        if (at < 0 || at >= size)
          mask |= uint32_t{1} << i;
      }
      return mask;
    };
    const int64_t per_group = g.c / g.group;
    const auto *wd = w.data<int8_t>();
    std::map<std::pair<uint32_t, uint32_t>, int> pattern;
    border_.clear();
    border_fix_.clear();
    border_scale_.resize(static_cast<size_t>(g.oc));
    border_inv_scale_.resize(static_cast<size_t>(g.oc));
    for (int64_t o = 0; o < g.oc; ++o) {
      border_scale_[o] = out_scales.size() == 1 ? out_scales[0] : out_scales[o];
      border_inv_scale_[o] = 1.0 / border_scale_[o];
    }
    for (int64_t y = 0; y < g.oh; ++y) {
      const uint32_t rows = oob_taps(y, g.stride_h, g.pad_t, g.dil_h, g.kh, g.h);
      for (int64_t x = 0; x < g.ow; ++x) {
        const uint32_t cols = oob_taps(x, g.stride_w, g.pad_l, g.dil_w, g.kw, g.w);
        if (!rows && !cols)
          continue;
        auto [it, added] = pattern.try_emplace({rows, cols}, static_cast<int>(border_fix_.size()));
        if (added) {
          std::vector<double> fix(g.oc);
          for (int64_t o = 0; o < g.oc; ++o) {
            int64_t sum = 0;
            for (int64_t ci = 0; ci < per_group; ++ci)
              for (int64_t i = 0; i < g.kh; ++i)
                for (int64_t j = 0; j < g.kw; ++j)
                  if ((rows >> i & 1) || (cols >> j & 1))
                    sum += wd[((o * per_group + ci) * g.kh + i) * g.kw + j];
            fix[o] = static_cast<double>(int64_t{p_.x.zero_point} * sum);
          }
          border_fix_.push_back(std::move(fix));
        }
        border_.push_back({y * g.ow + x, it->second});
      }
    }
  }

  // The border correction over the conv's f32 output (NHWC), every image:
  // K = round(y / s) exactly (y * (1 / s) in double: |K| < 2^23 leaves the
  // error far below 1/2), then fl((K + fix) * s) as oneDNN's zero-point conv
  // computes it.
  void correct_borders(float *y) const {
    const auto &g = geo_;
    const float *scale = border_scale_.data();
    const double *inv_scale = border_inv_scale_.data();
    constexpr double kRound = 6755399441055744.0; // 1.5 * 2^52
    for (int64_t n = 0; n < g.n; ++n)
      for (const auto &[pixel, k] : border_) {
        float *row = y + (n * g.oh * g.ow + pixel) * g.oc;
        const double *fix = border_fix_[static_cast<size_t>(k)].data();
        for (int64_t o = 0; o < g.oc; ++o) {
          // Round to the nearest integer by 1.5 * 2^52 (no libm call: the
          // loop vectorizes); |K| < 2^23 is well inside its range.
          const double acc = (double{row[o]} * inv_scale[o] + kRound) - kRound;
          row[o] = static_cast<float>(acc + fix[o]) * scale[o];
        }
      }
  }

  // The primitive for source layout `given`, falling back to oneDNN's choice
  // when it has no fast kernel for that layout.
  dnnl::convolution_forward::primitive_desc
  make_pd(const memory::desc &given, const memory::desc &w_any, const memory::desc &b_md,
          bool has_bias, const memory::desc &dst_any, const dnnl::primitive_attr &attr) const {
    const auto &g = geo_;
    dnnl::engine &eng = dnnl_util::engine(env_);
    auto make = [&](const memory::desc &src) {
      dnnl::convolution_forward::desc desc(
          dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src, w_any,
          has_bias ? b_md : memory::desc(), dst_any, {g.stride_h, g.stride_w},
          {g.dil_h - 1, g.dil_w - 1}, {g.pad_t, g.pad_l}, {g.pad_b, g.pad_r});
      return dnnl::convolution_forward::primitive_desc(desc, attr, eng);
    };
    memory::desc src_any({g.n, g.c, g.h, g.w}, given.data_type(), tag::any);
    bool plain = given == memory::desc({g.n, g.c, g.h, g.w}, given.data_type(), tag::nchw);
    try {
      auto pd = plain ? make(src_any) : make(given);
      if (!plain && std::string(pd.impl_info_str()).rfind("ref", 0) == 0)
        pd = make(src_any); // no fast kernel for that layout
      return pd;
    } catch (const dnnl::error &) {
      try {
        return make(src_any);
      } catch (const dnnl::error &e) {
        throw UnsupportedError(fmt::format("{}: oneDNN has no int8 convolution for this case ({})",
                                           node_.describe(), e.what()));
      }
    }
  }

  // SiLU then requantisation as our own pass (kernels::silu_quantize: the
  // exact SiLU's level but for values within 6.5e-5 of the SiLU of a tie;
  // oneDNN's sum, linear post-op and conversion) after an f32-output conv,
  // f32 outputs by oneDNN's swish bits: the swish post-op inside oneDNN 2.6's int8 kernels
  // costs more than the conv itself on YOLOX-Nano's convs (bench_int8_kernels
  // BM_qconv_1x1). A SiLU alone or followed by an int8 residual sum; an f32
  // output (a conv feeding an fp32 op, such as YOLOX's tuned stem) gets the
  // SiLU pass in place.
  bool wants_own_silu(std::span<const Tensor> in, const memory::desc &dst) const {
    const bool int8_sum = has_int8_sum(in);
    // The pass writes every element of the layout: none may be padding,
    // which oneDNN expects to stay zero (sigmoid(0) is not 0).
    const bool unpadded = dnnl_util::unpadded(dst);
    // A Sigmoid with an f32 output (the score heads of a tuned detector)
    // gets the sigmoid pass: oneDNN's logistic post-op bits, ~2x faster.
    if (p_.activation.op == "Sigmoid")
      return p_.y.dtype == DType::f32 && !p_.sum && p_.post_activation.op.empty() &&
             p_.channel_scale.empty() && unpadded && kernels::silu_inplace_is_fast();
    return p_.activation.op == "SiLU" && (!p_.sum || int8_sum) && p_.post_activation.op.empty() &&
           p_.channel_scale.empty() && unpadded &&
           (p_.y.dtype == DType::f32 ? kernels::silu_inplace_is_fast()
                                     : kernels::silu_quantize_is_fast());
  }

  // Our VNNI 1x1 kernel (qconv_1x1.h) in place of oneDNN's conv + the SiLU
  // pass: a pointwise u8 conv with SiLU into int8, channels-last in and out
  // with no reorder, and the numbers oneDNN would see (no runtime zero point,
  // no 7-bit weights). It writes the int8 output in one pass where oneDNN
  // writes f32 for the pass to read back.
  bool own_1x1_fits(std::span<const Tensor> in, const memory::desc &given, int32_t attr_zp,
                    bool halve) const {
    const auto &g = geo_;
    const auto nhwc = [&](memory::data_type dt) {
      return memory::desc({g.n, g.c, g.h, g.w}, dt, tag::nhwc);
    };
    const memory::desc y_nhwc({g.n, g.oc, g.oh, g.ow}, dnnl_util::dtype(p_.y.dtype), tag::nhwc);
    const bool pointwise = g.kh == 1 && g.kw == 1 && g.stride_h == 1 && g.stride_w == 1 &&
                           g.group == 1 && g.pad_t == 0 && g.pad_l == 0 && g.pad_b == 0 &&
                           g.pad_r == 0 && g.oh == g.h && g.ow == g.w;
    // Any weight size: with its next-group prefetch the kernel is as fast or
    // faster than oneDNN's brgconv_1x1 once the weights come from memory, as
    // they do in a model (bench_qconv_1x1 BM_qconv1x1_*_clip_cold: ResNet-50's
    // 2048 x 512 at 7x7 184 vs 229 us, 256 x 1024 at 14x14 160 vs 190).
    return (own_silu_ || clamp_) && p_.y.dtype != DType::f32 && in[0].dtype() == DType::u8 &&
           pointwise && g.c % 4 == 0 && attr_zp == 0 && !halve &&
           given == nhwc(memory::data_type::u8) && dst_desc_ == y_nhwc && !dst_reorder_ &&
           (!p_.sum || sum_copy_) && kernels::Conv1x1U8::available();
  }

  // The clamp epilogue's bounds (none, Relu, Clip before and after an int8
  // addend) when oneDNN's post-ops are only those around the requantisation.
  std::optional<Clamp> clamp_epilogue(std::span<const Tensor> in) const {
    constexpr float inf = std::numeric_limits<float>::infinity();
    const auto bounds =
        [&](const int8::FusedActivation &a) -> std::optional<std::pair<float, float>> {
      const auto param = [&](size_t i, float def) {
        return i < a.params.size() ? a.params[i] : def;
      };
      if (a.op.empty())
        return std::pair{-inf, inf};
      if (a.op == "Relu")
        return std::pair{0.f, inf};
      if (a.op == "Clip") // append_activation's defaults
        return std::pair{param(0, -3.4e38f), param(1, 3.4e38f)};
      return std::nullopt;
    };
    const bool int8_sum = has_int8_sum(in);
    const auto pre = bounds(p_.activation), post = bounds(p_.post_activation);
    // Two activations with no sum between them stay on oneDNN, whose 2.6
    // post-ops give the first clip's result for disjoint clips.
    const bool two_without_sum =
        !p_.sum && !p_.activation.op.empty() && !p_.post_activation.op.empty();
    // ClampPlan moves clamps across the requantisation: monotone only for a
    // positive scale.
    const bool positive_scale = p_.y.scale > 0.f && std::isfinite(p_.y.scale);
    if (!pre || !post || p_.y.dtype == DType::f32 || !p_.channel_scale.empty() ||
        (p_.sum && !int8_sum) || two_without_sum || !positive_scale)
      return std::nullopt;
    return Clamp{pre->first, pre->second, post->first, post->second};
  }

  std::string epilogue_name() const {
    if (!clamp_)
      return "SiLU";
    std::string name;
    for (const std::string &part :
         {p_.activation.op, std::string(p_.sum ? "sum" : ""), p_.post_activation.op})
      if (!part.empty())
        name += (name.empty() ? "" : " + ") + part;
    return (name.empty() ? "" : name + " + ") + "requantize";
  }

  // Our depthwise kernel (qconv_dw.h) in place of oneDNN's conv + the SiLU
  // pass: a u8 depthwise conv with SiLU into int8, channels-last in and out,
  // any padding and source zero point (it subtracts the zero point itself),
  // full-range weights as oneDNN sees them on a VNNI CPU.
  bool own_dw_fits(std::span<const Tensor> in, const memory::desc &given, bool halve) const {
    const auto &g = geo_;
    const memory::desc x_nhwc({g.n, g.c, g.h, g.w}, memory::data_type::u8, tag::nhwc);
    const memory::desc y_nhwc({g.n, g.oc, g.oh, g.ow}, dnnl_util::dtype(p_.y.dtype), tag::nhwc);
    return own_silu_ && p_.y.dtype != DType::f32 && in[0].dtype() == DType::u8 && !halve &&
           given == x_nhwc && dst_desc_ == y_nhwc && !dst_reorder_ && (!p_.sum || sum_copy_) &&
           kernels::ConvDwU8::available() && kernels::ConvDwU8::fits(g, in[1].data<int8_t>());
  }

  // A residual sum whose addend (input 3) is int8: the own epilogues add it.
  bool has_int8_sum(std::span<const Tensor> in) const {
    return p_.sum && in.size() > 3 && in[3].defined() &&
           (in[3].dtype() == DType::u8 || in[3].dtype() == DType::i8);
  }

  static bool has_bias_input(std::span<const Tensor> in) {
    return in.size() > 2 && in[2].defined();
  }

  // oneDNN's post-ops; none with the SiLU pass (output scales only: the conv
  // writes real units in f32).
  dnnl::post_ops make_post_ops(std::span<const Tensor> in, bool silu_pass) {
    dnnl::post_ops ops;
    if (silu_pass)
      return ops;
    dnnl_util::append_activation(ops, node_, p_.activation.op, p_.activation.params);
    if (p_.sum) {
      if (in.size() < 4 || !in[3].defined())
        throw InputError(fmt::format("{}: sum=1 but input 3 is missing", node_.describe()));
      DType sum_t = in[3].dtype();
      if (dtype_size(sum_t) != dtype_size(p_.y.dtype))
        throw UnsupportedError(fmt::format("{}: sum input {} does not fit output {}",
                                           node_.describe(), dtype_name(sum_t),
                                           dtype_name(p_.y.dtype)));
      ops.append_sum(p_.sum_q.scale, p_.sum_q.zero_point, dnnl_util::dtype(sum_t));
    }
    dnnl_util::append_activation(ops, node_, p_.post_activation.op, p_.post_activation.params);
    channel_scale_arg_ = 0;
    if (!p_.channel_scale.empty()) {
      ops.append_binary(dnnl::algorithm::binary_mul,
                        memory::desc({1, geo_.oc, 1, 1}, memory::data_type::f32, tag::abcd));
      channel_scale_arg_ = DNNL_ARG_ATTR_MULTIPLE_POST_OP(ops.len() - 1) | DNNL_ARG_SRC_1;
    }
    int8::append_requantize(ops, p_.y.dtype, p_.y.scale, p_.y.zero_point);
    return ops;
  }

  memory::desc layout_of(size_t i, const memory::desc &plain) const {
    if (i < in_layouts_.size() && in_layouts_[i])
      return memory::desc(*in_layouts_[i]);
    return plain;
  }

  Node node_;
  KernelEnv env_;
  QConvParams p_;
  int8::ConvGeometry geo_;
  dnnl::convolution_forward conv_;
  memory channel_scale_mem_; // over p_.channel_scale
  int channel_scale_arg_ = 0;
  std::string impl_; // the primitive oneDNN chose
  std::vector<const dnnl_memory_desc_t *> in_layouts_;
  bool layouts_enabled_ = false, dst_is_plain_ = true, sum_copy_ = false, fold_zp_ = false;
  bool own_silu_ = false;      // our activation pass: SiLU, or Sigmoid into f32
  std::optional<Clamp> clamp_; // own_1x1_'s epilogue when not the SiLU
  // fold_padded_zero_point's border outputs (pixel within an image, index
  // into border_fix_) and their per-channel corrections.
  std::vector<std::pair<int64_t, int>> border_;
  std::vector<std::vector<double>> border_fix_; // integers (exact in double)
  std::vector<float> border_scale_;             // the output scale of each channel
  std::vector<double> border_inv_scale_;        // 1 / it: y * (1 / s) still recovers K
  bool table_ = false;                          // input 4: a 256-entry table over the int8 output
  memory::desc dst_desc_;                       // the conv's own output (p_.y's type)
  memory::desc out_desc_;                       // the output as consumers see it (the table's type)
  dnnl::reorder src_reorder_, dst_reorder_, sum_reorder_;
  memory f32_dst_; // the conv's f32 output (own_silu_), over a scratch buffer
  std::unique_ptr<kernels::Conv1x1U8> own_1x1_; // in place of conv_ when own_1x1_fits
  std::unique_ptr<kernels::ConvDwU8> own_dw_;   // in place of conv_ when own_dw_fits
  memory x_mem_, src_mem_, y_mem_, conv_dst_, sum_mem_, sum_dst_, weights_, bias_, zp_mem_;
};

} // namespace

void register_qconv_kernels(KernelRegistry &r) {
  int8::register_nhwc_int8_reader("qtune", "QConv"); // NHWC is what it picks for u8/s8
  r.add(
      "QConv",
      [](const Node &n, const KernelEnv &env) { return std::make_unique<QConvKernel>(n, env); },
      "qtune");
}

} // namespace qtune
