// Conv and qtune:FusedConv (FP32) on oneDNN: 1-D/2-D/3-D, groups (depthwise),
// dilations, pads and auto_pad. The fused form adds the activation, the sum
// (input 3, added after the activation) and a post-sum activation as oneDNN
// post-ops. The primitive picks its own layouts (tag::any); weights are reordered
// once in prepare() when they are initializers. With layout opt-in the input
// is read in whatever oneDNN layout its producer wrote and the output is left
// in the primitive's preferred (blocked) layout.
//
// BF16: a node carrying kPrecisionAttr = "bf16" (planned bf16 by the precision
// plan) gets a bf16-src/bf16-weights primitive with f32 bias and f32 dst: the
// source reorder that already handles layouts also converts f32 -> bf16, the
// weights are converted once with the packing reorder, and the node's output
// stays an f32 tensor. When oneDNN has no bf16 convolution for this ISA
// (below avx512_core), or only its reference one, the kernel quietly builds
// the f32 primitive instead.
#include <cstring>
#include <fmt/format.h>

#include "qtune/error.h"
#include "runtime/dnnl_util.h"
#include "runtime/kernel.h"
#include "runtime/kernels/conv_gemm_f32.h"
#include "runtime/kernels/silu.h"

namespace qtune {
namespace {

using dnnl::memory;
namespace du = dnnl_util;

// True when the graph has any (de)quantize op: an int8 or QDQ model.
bool quantizes_activations(const Graph *g) {
  if (!g)
    return false;
  for (const Node &n : g->nodes)
    if (n.op_type.find("Quantize") != std::string::npos || n.op_type.rfind("FakeQuant", 0) == 0 ||
        n.op_type == "QuantSwitch") // the tuner's per-op fake-quantize switch
      return true;
  return false;
}

class ConvKernel : public Kernel {
public:
  ConvKernel(const Node &n, const KernelEnv &env, bool fused) : node_(n), env_(env) {
    if (fused) {
      activation_ = n.attr_string("activation", "");
      activation_params_ = n.attr_floats("activation_params");
      has_sum_ = n.attr_int("sum", 0) != 0;
      post_activation_ = n.attr_string("post_activation", "");
      post_activation_params_ = n.attr_floats("post_activation_params");
    }
    // A lone SiLU runs as our own pass over the conv's output: oneDNN's swish
    // post-op is about twice as slow (silu.h), and the pass gives its bits, so
    // also in a graph that quantizes activations. There the last bits matter
    // (a value that is later requantized can sit on a rounding tie), so
    // Winograd and the image conv below stay off, and so does the pass with a
    // residual sum: oneDNN's conv with a sum post-op rounds differently from
    // the conv alone (YOLOX-Nano: ~6 % of such outputs differ in the last bit).
    exact_fp32_ = quantizes_activations(env.graph);
    // With a residual sum (YOLOX's CSP shortcuts: silu(conv) + x) the pass
    // adds the addend too; a post-sum activation keeps oneDNN's post-ops.
    own_silu_ = activation_ == "SiLU" && post_activation_.empty() && !(exact_fp32_ && has_sum_) &&
                kernels::silu_inplace_is_fast();
    // A lone Sigmoid (detection score heads) likewise: oneDNN's logistic
    // post-op cost ~2x the conv itself on YOLOX-Nano's cls_preds (52x52x80).
    want_sigmoid_ = activation_ == "Sigmoid" && !has_sum_ && post_activation_.empty() &&
                    kernels::silu_inplace_is_fast();
    const_weights_ = env.is_constant(n.inputs.size() > 1 ? n.inputs[1] : "");
    const_bias_ = n.inputs.size() < 3 || n.inputs[2].empty() || env.is_constant(n.inputs[2]);
    want_bf16_ = n.attr_string(kPrecisionAttr, "") == "bf16";
    // Validate activation names now so a bad model fails at load time.
    dnnl::post_ops probe;
    du::append_activation(probe, n, activation_, activation_params_);
    du::append_activation(probe, n, post_activation_, post_activation_params_);
  }

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    if (in.size() < 2 || !in[0].defined() || !in[1].defined())
      throw InputError(fmt::format("{}: needs inputs X and W", node_.describe()));
    const Shape &x = in[0].shape();
    const Shape &w = in[1].shape();
    if (in[0].dtype() != DType::f32 || in[1].dtype() != DType::f32)
      throw UnsupportedError(fmt::format("{}: only f32 is supported (got {} and {})",
                                         node_.describe(), dtype_name(in[0].dtype()),
                                         dtype_name(in[1].dtype())));
    if (x.size() < 3 || x.size() > 5 || w.size() != x.size())
      throw InputError(fmt::format("{}: input {} and weight {} are not a 1-D/2-D/3-D conv",
                                   node_.describe(), shape_str(x), shape_str(w)));
    group_ = node_.attr_int("group", 1);
    if (group_ < 1 || x[1] != w[1] * group_ || w[0] % group_ != 0)
      throw InputError(fmt::format("{}: input {} does not match weight {} with group {}",
                                   node_.describe(), shape_str(x), shape_str(w), group_));
    std::vector<int64_t> kernel(w.begin() + 2, w.end());
    auto ks = node_.attr_ints("kernel_shape");
    if (!ks.empty() && ks != kernel)
      throw InputError(fmt::format("{}: kernel_shape {} does not match weight {}", node_.describe(),
                                   shape_str(ks), shape_str(w)));
    if (in.size() > 2 && in[2].defined() && in[2].numel() != w[0])
      throw InputError(fmt::format("{}: bias has {} values for {} output channels",
                                   node_.describe(), in[2].numel(), w[0]));
    win_ = du::resolve_window(node_, x, kernel, false);
    Shape y{x[0], w[0]};
    y.insert(y.end(), win_.out.begin(), win_.out.end());
    if (has_sum_ &&
        (in.size() < 4 || !in[3].defined() || in[3].shape() != y || in[3].dtype() != DType::f32))
      throw InputError(fmt::format("{}: sum input must be f32 of the output shape {}",
                                   node_.describe(), shape_str(y)));
    y_shape_ = y;
    return {{DType::f32, y}};
  }

  bool accepts_dnnl_layouts() const override { return true; }
  void set_input_layouts(std::span<const dnnl_memory_desc_t *const> layouts) override {
    in_layouts_.assign(layouts.begin(), layouts.end());
  }
  const dnnl_memory_desc_t *output_layout(size_t k) const override {
    return dst_is_plain_ ? nullptr : &dst_desc_.data;
  }
  std::string implementation() const override {
    if (own_sigmoid_)
      return impl_ + (fast_silu() ? " + qtune fast sigmoid pass" : " + qtune sigmoid pass");
    if (!own_silu_)
      return impl_;
    const char *fast = fast_silu() ? " fast" : "";
    return impl_ + " + qtune" + fast + (has_sum_ ? " SiLU+add pass" : " SiLU pass");
  }
  // The sum post-op reads the addend from dst: in place when the layouts
  // match. Not with the SiLU+add pass: the conv overwrites dst before it.
  int output_may_overwrite_input(size_t k) const override {
    return k == 0 && has_sum_ && sum_copy_ && !own_silu_ ? 3 : -1;
  }

  void prepare(std::span<const Tensor> in) override {
    dnnl::engine &eng = du::engine(env_);
    const Shape &x = in[0].shape();
    const Shape &w = in[1].shape();
    auto f32 = memory::data_type::f32;
    gemm_.reset();
    if (gemm_pays(x, w)) {
      prepare_gemm(in);
      return;
    }
    memory::dims w_dims = du::to_dims(w);
    if (group_ > 1) {
      w_dims[0] /= group_;
      w_dims.insert(w_dims.begin(), group_);
    }
    bool has_bias = in.size() > 2 && in[2].defined();
    memory::desc b_md({w[0]}, f32, memory::format_tag::a);
    dnnl::convolution_forward::primitive_desc pd;
    // oneDNN's reference bf16 convolution is ~100x slower than any f32 one:
    // a plan asking for bf16 wants speed or size, so f32 serves it better.
    auto choose = [&] {
      const bool bf16 = want_bf16_ && make_pd(x, w_dims, has_bias, memory::data_type::bf16, pd) &&
                        std::string(pd.impl_info_str()).rfind("ref", 0) != 0;
      if (!bf16 && !make_pd(x, w_dims, has_bias, f32, pd))
        throw UnsupportedError(fmt::format("{}: oneDNN has no convolution for this case ({})",
                                           node_.describe(), pd_error_));
    };
    own_sigmoid_ = want_sigmoid_;
    choose();
    // The sigmoid pass writes every element of the layout, and sigmoid(0) is
    // not 0: with padded channels (24 in nChw16c) the post-op stays.
    if (own_sigmoid_ && !du::unpadded(pd.dst_desc())) {
      own_sigmoid_ = false;
      choose();
    }
    conv_ = dnnl::convolution_forward(pd);
    impl_ = pd.impl_info_str();

    // Source: the layout the producer wrote (plain unless it opted in).
    memory::desc given = layout_of(0, x);
    if (du::same_bytes(given, pd.src_desc()))
      given = pd.src_desc(); // e.g. 16 channels: nChw16c is nhwc, no reorder
    x_mem_ = memory(given, eng, nullptr);
    src_reorder_ = {};
    if (given != pd.src_desc()) {
      src_mem_ = memory(pd.src_desc(), eng);
      src_reorder_ = dnnl::reorder(x_mem_, src_mem_);
    } else {
      src_mem_ = x_mem_;
    }
    // Destination: keep the primitive's layout when the executor handles it.
    dst_desc_ = pd.dst_desc();
    memory::desc y_plain = du::plain_desc(y_shape_);
    dst_is_plain_ = dst_desc_ == y_plain;
    y_mem_ = memory(dst_desc_, eng, nullptr);
    plan_sum();

    w_user_ = memory(memory::desc(w_dims, f32, du::plain_tag(w_dims.size())), eng, nullptr);
    weights_ = memory(pd.weights_desc(), eng);
    w_reorder_ = dnnl::reorder(w_user_, weights_);
    if (const_weights_)
      pack_weights(in[1]);
    b_mem_ = has_bias ? memory(b_md, eng, nullptr) : memory();
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    if (gemm_)
      return run_gemm(in, out);
    dnnl::stream &s = du::stream(env_);
    if (!const_weights_)
      pack_weights(in[1]);
    x_mem_.set_data_handle(const_cast<void *>(in[0].raw()));
    y_mem_.set_data_handle(out[0].raw());
    if (src_reorder_)
      src_reorder_.execute(s, x_mem_, src_mem_);
    const float *addend = nullptr; // for the SiLU+add pass
    if (has_sum_ && own_silu_) {
      addend = static_cast<const float *>(in[3].raw());
      if (!sum_copy_) {
        sum_mem_.set_data_handle(const_cast<void *>(in[3].raw()));
        sum_reorder_.execute(s, sum_mem_, sum_scratch_);
        addend = static_cast<const float *>(sum_scratch_.get_data_handle());
      }
    } else if (has_sum_) {
      addend_into_output(in, out); // the sum post-op reads it from dst
    }
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, src_mem_}, {DNNL_ARG_WEIGHTS, weights_}, {DNNL_ARG_DST, y_mem_}};
    if (b_mem_) {
      b_mem_.set_data_handle(const_cast<void *>(in[2].raw()));
      args[DNNL_ARG_BIAS] = b_mem_;
    }
    conv_.execute(s, args);
    s.wait();
    const auto n = static_cast<int64_t>(dst_desc_.get_size() / sizeof(float));
    auto *y = static_cast<float *>(out[0].raw());
    // In a graph with no quantized activation the faster SiLU (not oneDNN's
    // bits, like Winograd): YOLOX-Nano FP32, 1 thread, README "Session 15".
    const bool fast = fast_silu();
    if (own_silu_ && addend)
      fast ? kernels::silu_fast_add_inplace(y, addend, n) : kernels::silu_add_inplace(y, addend, n);
    else if (own_silu_)
      fast ? kernels::silu_fast_inplace(y, n) : kernels::silu_inplace(y, n);
    else if (own_sigmoid_)
      fast ? kernels::sigmoid_fast_inplace(y, n) : kernels::sigmoid_inplace(y, n);
  }

private:
  bool fast_silu() const { return !exact_fp32_ && kernels::silu_fast_is_available(); }

  // The primitive for src/weights of type `dt` (dst and bias stay f32);
  // false when oneDNN has none (e.g. bf16 below avx512_core).
  bool make_pd(const Shape &x, const memory::dims &w_dims, bool has_bias, memory::data_type dt,
               dnnl::convolution_forward::primitive_desc &pd) {
    auto f32 = memory::data_type::f32;
    // An image (<= 4 channels) arriving plain is read plain: oneDNN's
    // first-layer kernel takes NCHW directly (YOLOX's 6x6 stem: 1.06 ms against
    // 1.39 ms for its channels-last conv after a 0.33 ms reorder of the image).
    // Only for 16 output channels: its nChw16c output is then channels-last
    // byte for byte; with more, the reorder comes back after the conv
    // (ResNet-50's 64-channel stem: 0.23 ms after the max-pool).
    const bool image = dt == f32 && !exact_fp32_ && group_ == 1 && x.size() == 4 && x[1] <= 4 &&
                       w_dims[0] == 16 && layout_of(0, x) == du::plain_desc(x);
    memory::desc src_any(du::to_dims(x), dt,
                         image ? memory::format_tag::nchw : memory::format_tag::any);
    memory::desc w_any(w_dims, dt, memory::format_tag::any);
    memory::desc dst_any(du::to_dims(y_shape_), f32, memory::format_tag::any);
    memory::desc b_md({y_shape_[1]}, f32, memory::format_tag::a);
    dnnl::post_ops ops;
    if (!own_silu_ && !own_sigmoid_)
      du::append_activation(ops, node_, activation_, activation_params_);
    if (has_sum_ && !own_silu_)
      ops.append_sum(1.f);
    du::append_activation(ops, node_, post_activation_, post_activation_params_);
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    auto make = [&](dnnl::algorithm alg) {
      dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, alg, src_any, w_any,
                                           has_bias ? b_md : memory::desc(), dst_any,
                                           du::to_dims(win_.strides), win_.dnnl_dilations(),
                                           du::to_dims(win_.pad_begin), du::to_dims(win_.pad_end));
      pd = dnnl::convolution_forward::primitive_desc(desc, attr, du::engine(env_));
    };
    if (dt == f32 && !exact_fp32_ && const_weights_ && winograd_pays(x, w_dims)) {
      try {
        make(dnnl::algorithm::convolution_winograd);
        return true;
      } catch (const dnnl::error &) { // no Winograd kernel on this CPU: direct below
      }
    }
    try {
      make(dnnl::algorithm::convolution_direct);
      if (image && std::string(pd.impl_info_str()).rfind("ref", 0) == 0) {
        src_any = memory::desc(du::to_dims(x), dt, memory::format_tag::any);
        make(dnnl::algorithm::convolution_direct); // no plain-input kernel here
      }
    } catch (const dnnl::error &e) {
      pd_error_ = e.what();
      return false;
    }
    return true;
  }

  // oneDNN's F(2x2, 3x3) Winograd convolution (AVX-512 only) does 2.25x fewer
  // multiplications than a direct 3x3 stride-1 conv and ran 30-60 % faster per
  // conv on ResNet-50's 64- and 128-channel shapes (bench_conv_fp32). It needs
  // a blocked layout, so a plain or channels-last neighbour pays a reorder on
  // each side; below 64 channels that ate the gain. Its rounding differs from
  // the direct conv's by ~1e-6 relative (transforms in f32). Constant weights
  // only: transforming them costs 1-26 ms per conv, fine once in prepare().
  bool winograd_pays(const Shape &x, const memory::dims &w_dims) const {
    const bool two_d = x.size() == 4 && w_dims.size() == 4;
    if (!two_d || group_ != 1 || w_dims[2] != 3 || w_dims[3] != 3)
      return false;
    for (int64_t v : win_.strides)
      if (v != 1)
        return false;
    for (int64_t v : win_.dilations)
      if (v != 1)
        return false;
    // Its transformed weights are 16/9 the size of the plain ones: on small
    // maps (14x14 and below in ResNet-50) the conv streams its weights from
    // memory and Winograd lost what it saved in arithmetic.
    const int64_t ic = w_dims[1], oc = w_dims[0], pixels = y_shape_[2] * y_shape_[3];
    return ic >= 64 && oc >= 64 && ic % 16 == 0 && oc % 16 == 0 && pixels >= 28 * 28;
  }

  // qtune's GEMM-tile conv (conv_gemm_f32.h) for 1x1 / 3x3 convs on
  // small channels-last maps, where a conv's weights come from memory on
  // every run and oneDNN's brgconv waits on them: ResNet-50's 7x7 and 14x14
  // stages (bench_conv_fp32 BM_conv_gemm, cold weights). Constant weights
  // and bias, a Relu or nothing around the sum, FP32 graphs only (other
  // bits than oneDNN's, as Winograd).
  bool gemm_pays(const Shape &x, const Shape &w) const {
    const auto is_relu_or_none = [](const std::string &a) { return a.empty() || a == "Relu"; };
    if (exact_fp32_ || !const_weights_ || !const_bias_ || want_bf16_ || group_ != 1 ||
        x.size() != 4 || w[2] != w[3] || !is_relu_or_none(activation_) ||
        !is_relu_or_none(post_activation_) || !kernels::ConvGemmF32::available())
      return false;
    // Its window: pad k / 2 before (after, as much as the output reads),
    // stride 1 or 2 both ways.
    const int64_t k = w[2], pad = k / 2, stride = win_.strides[0];
    for (size_t i = 0; i < 2; ++i)
      if (win_.strides[i] != stride || win_.dilations[i] != 1 || win_.pad_begin[i] != pad ||
          y_shape_[2 + i] != (x[2 + i] + 2 * pad - k) / stride + 1)
        return false;
    const memory::desc nhwc(du::to_dims(x), memory::data_type::f32, memory::format_tag::nhwc);
    return kernels::ConvGemmF32::fits(k, pad, stride, w[0], y_shape_[3]) &&
           y_shape_[2] * y_shape_[3] <= (k == 1 ? kGemmMaxPixels1x1 : kGemmMaxPixels3x3) &&
           w[0] * w[1] * k * k >= kGemmMinWeights && layout_of(0, x) == nhwc;
  }

  void prepare_gemm(std::span<const Tensor> in) {
    dnnl::engine &eng = du::engine(env_);
    const Shape &w = in[1].shape();
    std::vector<float> bias;
    if (in.size() > 2 && in[2].defined())
      bias.assign(in[2].data<float>(), in[2].data<float>() + in[2].numel());
    gemm_ = std::make_unique<kernels::ConvGemmF32>(in[1].data<float>(), w[0], w[1], w[2],
                                                   win_.strides[0], std::move(bias));
    impl_ = "qtune gemm-tile conv (f32, weights prefetched)";
    dst_desc_ =
        memory::desc(du::to_dims(y_shape_), memory::data_type::f32, memory::format_tag::nhwc);
    dst_is_plain_ = dst_desc_ == du::plain_desc(y_shape_);
    y_mem_ = memory(dst_desc_, eng, nullptr);
    plan_sum();
  }

  // The residual addend goes into the output first, and the kernel adds it
  // from there.
  void run_gemm(std::span<const Tensor> in, std::span<Tensor> out) {
    auto *y = static_cast<float *>(out[0].raw());
    if (has_sum_) {
      y_mem_.set_data_handle(y);
      addend_into_output(in, out);
      du::stream(env_).wait();
    }
    const Shape &x = in[0].shape();
    const int64_t oh = y_shape_[2], ow = y_shape_[3];
    const auto *src = static_cast<const float *>(in[0].raw());
    for (int64_t n = 0; n < x[0]; ++n) {
      float *yn = y + n * oh * ow * y_shape_[1];
      gemm_->run(src + n * x[1] * x[2] * x[3], x[2], x[3], yn,
                 {activation_ == "Relu", has_sum_ ? yn : nullptr, post_activation_ == "Relu"});
    }
  }

  // The addend's memory and, unless it arrives in dst's layout, its reorder:
  // into dst (where oneDNN's sum post-op and the GEMM-tile conv read it) or,
  // for the SiLU+add pass, into a scratch buffer in dst's layout.
  void plan_sum() {
    if (!has_sum_)
      return;
    dnnl::engine &eng = du::engine(env_);
    const memory::desc s_desc = layout_of(3, y_shape_);
    sum_mem_ = memory(s_desc, eng, nullptr);
    sum_copy_ = s_desc == dst_desc_;
    sum_scratch_ = own_silu_ && !sum_copy_ ? memory(dst_desc_, eng) : memory();
    sum_reorder_ =
        sum_copy_ ? dnnl::reorder() : dnnl::reorder(sum_mem_, own_silu_ ? sum_scratch_ : y_mem_);
  }

  // The addend into the output (y_mem_ set to it): copied, unless the
  // executor already placed the output over it (output_may_overwrite_input),
  // or reordered from its own layout.
  void addend_into_output(std::span<const Tensor> in, std::span<Tensor> out) {
    if (sum_copy_) {
      if (out[0].raw() != in[3].raw())
        std::memcpy(out[0].raw(), in[3].raw(), y_mem_.get_desc().get_size());
      return;
    }
    sum_mem_.set_data_handle(const_cast<void *>(in[3].raw()));
    sum_reorder_.execute(du::stream(env_), sum_mem_, y_mem_);
  }

  memory::desc layout_of(size_t i, const Shape &shape) const {
    if (i < in_layouts_.size() && in_layouts_[i])
      return memory::desc(*in_layouts_[i]);
    return du::plain_desc(shape);
  }

  void pack_weights(const Tensor &w) {
    w_user_.set_data_handle(const_cast<void *>(w.raw()));
    dnnl::stream &s = du::stream(env_);
    w_reorder_.execute(s, w_user_, weights_);
    s.wait();
  }

  Node node_;
  KernelEnv env_;
  std::string activation_, post_activation_;
  std::vector<float> activation_params_, post_activation_params_;
  // Where the GEMM-tile conv pays (bench_conv_fp32 BM_conv_gemm, cold
  // weights, 1 and 2 threads): 1x1 convs up to 14x14 (ResNet-50's 2048 x 512
  // at 7x7 993 -> 689 us at 1 thread; at 28x28 even in the bench, 5-10 %
  // slower in the model), 3x3 at 7x7 (512 x 512 2142 -> 1626 us; at 14x14
  // even; at 28x28 oneDNN's Winograd is faster).
  static constexpr int64_t kGemmMaxPixels1x1 = 14 * 14, kGemmMaxPixels3x3 = 7 * 7;
  // and weights of 1 MB or more, the ones that stream from memory (MobileNetV2's
  // 960 x 160 projection at 7x7, 0.6 MB, ran slower at 2 threads: 2.95 -> 3.34
  // ms for the model).
  static constexpr int64_t kGemmMinWeights = 256 * 1024;
  bool has_sum_ = false, const_weights_ = false, const_bias_ = false, want_bf16_ = false,
       own_silu_ = false;
  std::unique_ptr<kernels::ConvGemmF32> gemm_;      // in place of conv_ when gemm_pays
  bool want_sigmoid_ = false, own_sigmoid_ = false; // the sigmoid pass, if the layout allows
  bool exact_fp32_ = false; // int8 graph: keep oneDNN's direct conv and post-ops
  std::string pd_error_;    // why the last make_pd() failed
  std::string impl_;        // the primitive oneDNN chose
  int64_t group_ = 1;
  du::Window win_;
  Shape y_shape_;
  std::vector<const dnnl_memory_desc_t *> in_layouts_;
  dnnl::convolution_forward conv_;
  dnnl::reorder src_reorder_, w_reorder_, sum_reorder_;
  memory::desc dst_desc_;
  bool dst_is_plain_ = true, sum_copy_ = false;
  memory x_mem_, src_mem_, y_mem_, sum_mem_, sum_scratch_, w_user_, weights_, b_mem_;
};

} // namespace

void register_conv_kernels(KernelRegistry &r) {
  r.add("Conv", [](const Node &n, const KernelEnv &env) {
    return std::make_unique<ConvKernel>(n, env, false);
  });
  r.add(
      "FusedConv",
      [](const Node &n, const KernelEnv &env) {
        return std::make_unique<ConvKernel>(n, env, true);
      },
      "qtune");
}

} // namespace qtune
