// ConvTranspose (FP32) on oneDNN deconvolution: 1-D (run as 2-D with a unit
// height), 2-D and 3-D, groups, dilations, pads, output_padding, output_shape
// and auto_pad, with ONNX's output-size rules. Plain layouts in and out.
#include <fmt/format.h>

#include "qtune/error.h"
#include "runtime/dnnl_util.h"
#include "runtime/kernel.h"

namespace qtune {
namespace {

using dnnl::memory;
namespace du = dnnl_util;

std::vector<int64_t> ints_or(const Node &n, const char *k, size_t len, int64_t def) {
  auto v = n.attr_ints(k);
  if (v.empty())
    return std::vector<int64_t>(len, def);
  if (v.size() != len)
    throw InputError(fmt::format("{}: attribute '{}' has {} values for {} spatial dims",
                                 n.describe(), k, v.size(), len));
  return v;
}

class ConvTransposeKernel : public Kernel {
public:
  ConvTransposeKernel(const Node &n, const KernelEnv &env) : node_(n), env_(env) {}

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    if (in.size() < 2 || !in[0].defined() || !in[1].defined())
      throw InputError(fmt::format("{}: needs inputs X and W", node_.describe()));
    const Shape &x = in[0].shape();
    const Shape &w = in[1].shape();
    if (in[0].dtype() != DType::f32 || in[1].dtype() != DType::f32)
      throw UnsupportedError(fmt::format("{}: only f32 is supported", node_.describe()));
    if (x.size() < 3 || x.size() > 5 || w.size() != x.size())
      throw InputError(fmt::format("{}: input {} and weight {} are not a 1-D/2-D/3-D deconv",
                                   node_.describe(), shape_str(x), shape_str(w)));
    group_ = node_.attr_int("group", 1);
    if (group_ < 1 || x[1] != w[0] || w[0] % group_ != 0)
      throw InputError(fmt::format("{}: input {} does not match weight {} with group {}",
                                   node_.describe(), shape_str(x), shape_str(w), group_));
    size_t sp = x.size() - 2;
    kernel_.assign(w.begin() + 2, w.end());
    strides_ = ints_or(node_, "strides", sp, 1);
    dilations_ = ints_or(node_, "dilations", sp, 1);
    auto out_pad = ints_or(node_, "output_padding", sp, 0);
    auto pads = ints_or(node_, "pads", 2 * sp, 0);
    auto out_shape = node_.attr_ints("output_shape");
    std::string auto_pad = node_.attr_string("auto_pad", "NOTSET");
    if (!out_shape.empty() && out_shape.size() != sp)
      out_shape.erase(out_shape.begin(), out_shape.end() - static_cast<long>(sp)); // N,C given too
    pad_begin_.assign(sp, 0);
    pad_end_.assign(sp, 0);
    Shape y{x[0], w[1] * group_};
    for (size_t i = 0; i < sp; ++i) {
      int64_t full =
          strides_[i] * (x[i + 2] - 1) + out_pad[i] + (kernel_[i] - 1) * dilations_[i] + 1;
      int64_t out;
      if (!out_shape.empty() || auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
        out = out_shape.empty() ? x[i + 2] * strides_[i] : out_shape[i];
        int64_t total = full - out; // negative when output_shape asks for extra size
        int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2); // floor, as the spec's //
        bool upper = auto_pad == "SAME_UPPER";
        pad_begin_[i] = upper ? half : total - half;
        pad_end_[i] = total - pad_begin_[i];
      } else {
        pad_begin_[i] = auto_pad == "VALID" ? 0 : pads[i];
        pad_end_[i] = auto_pad == "VALID" ? 0 : pads[i + sp];
        out = full - pad_begin_[i] - pad_end_[i];
      }
      if (out < 1)
        throw InputError(
            fmt::format("{}: output size {} along spatial axis {}", node_.describe(), out, i));
      // oneDNN has no output_padding: it is extra size at the end, i.e. less end padding.
      pad_end_[i] -= out_pad[i];
      y.push_back(out);
    }
    if (in.size() > 2 && in[2].defined() && in[2].numel() != y[1])
      throw InputError(fmt::format("{}: bias has {} values for {} output channels",
                                   node_.describe(), in[2].numel(), y[1]));
    y_shape_ = y;
    return {{DType::f32, y}};
  }

  void prepare(std::span<const Tensor> in) override {
    dnnl::engine &eng = du::engine(env_);
    Shape x = in[0].shape(), w = in[1].shape(), y = y_shape_;
    auto strides = strides_, dil = dilations_, pb = pad_begin_, pe = pad_end_;
    if (x.size() == 3) { // 1-D as 2-D with height 1
      x.insert(x.begin() + 2, 1);
      w.insert(w.begin() + 2, 1);
      y.insert(y.begin() + 2, 1);
      strides.insert(strides.begin(), 1);
      dil.insert(dil.begin(), 1);
      pb.insert(pb.begin(), 0);
      pe.insert(pe.begin(), 0);
    }
    for (auto &d : dil)
      d -= 1; // oneDNN counts dilation from 0
    auto f32 = memory::data_type::f32;
    bool is3d = x.size() == 5;
    // ONNX weights are [C_in, C_out/group, k...]: oneDNN's (g)io(d)hw.
    memory::dims w_dims = du::to_dims(w);
    memory::format_tag w_tag = is3d ? memory::format_tag::iodhw : memory::format_tag::iohw;
    if (group_ > 1) {
      w_dims = {group_, w[1], w[0] / group_};
      w_dims.insert(w_dims.end(), w.begin() + 2, w.end());
      w_tag = is3d ? memory::format_tag::giodhw : memory::format_tag::giohw;
    } else {
      std::swap(w_dims[0], w_dims[1]);
    }
    memory::desc src_md = du::plain_desc(x), dst_md = du::plain_desc(y);
    memory::desc w_md(w_dims, f32, w_tag);
    has_bias_ = in.size() > 2 && in[2].defined();
    memory::desc b_md({y[1]}, f32, memory::format_tag::a);
    dnnl::deconvolution_forward::desc desc(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::deconvolution_direct, src_md, w_md,
        has_bias_ ? b_md : memory::desc(), dst_md, du::to_dims(strides), du::to_dims(dil),
        du::to_dims(pb), du::to_dims(pe));
    try {
      pd_ = dnnl::deconvolution_forward::primitive_desc(desc, eng);
    } catch (const dnnl::error &e) {
      throw UnsupportedError(fmt::format("{}: oneDNN has no deconvolution for these shapes ({})",
                                         node_.describe(), e.what()));
    }
    prim_ = dnnl::deconvolution_forward(pd_);
    x_mem_ = memory(src_md, eng, nullptr);
    w_mem_ = memory(w_md, eng, nullptr);
    y_mem_ = memory(dst_md, eng, nullptr);
    if (has_bias_)
      b_mem_ = memory(b_md, eng, nullptr);
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    x_mem_.set_data_handle(const_cast<void *>(in[0].raw()));
    w_mem_.set_data_handle(const_cast<void *>(in[1].raw()));
    y_mem_.set_data_handle(out[0].raw());
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, x_mem_}, {DNNL_ARG_WEIGHTS, w_mem_}, {DNNL_ARG_DST, y_mem_}};
    if (has_bias_) {
      b_mem_.set_data_handle(const_cast<void *>(in[2].raw()));
      args[DNNL_ARG_BIAS] = b_mem_;
    }
    dnnl::stream &s = du::stream(env_);
    prim_.execute(s, args);
    s.wait();
  }

private:
  Node node_;
  KernelEnv env_;
  int64_t group_ = 1;
  std::vector<int64_t> kernel_, strides_, dilations_, pad_begin_, pad_end_;
  Shape y_shape_;
  bool has_bias_ = false;
  dnnl::deconvolution_forward::primitive_desc pd_;
  dnnl::deconvolution_forward prim_;
  memory x_mem_, w_mem_, y_mem_, b_mem_;
};

} // namespace

void register_conv_transpose_kernels(KernelRegistry &r) {
  r.add("ConvTranspose", [](const Node &n, const KernelEnv &env) {
    return std::make_unique<ConvTransposeKernel>(n, env);
  });
}

} // namespace qtune
