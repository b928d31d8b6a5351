// qtune:QMaxPool: MaxPool on u8/s8 values, made by the QDQ lowering when the
// DQ before and the Q after a MaxPool share scale and zero point (max commutes
// with the affine map, so no requantisation is needed). 2-D, oneDNN pooling.
#include <fmt/format.h>

#include "qtune/error.h"
#include "runtime/dnnl_util.h"
#include "runtime/kernel.h"
#include "runtime/kernels/int8_util.h"

namespace qtune {
namespace {

using dnnl::memory;
using tag = memory::format_tag;

class QMaxPoolKernel : public Kernel {
public:
  QMaxPoolKernel(const Node &n, const KernelEnv &env) : node_(n), env_(env) {}

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    const Tensor &x = in[0];
    if ((x.dtype() != DType::u8 && x.dtype() != DType::i8) || x.rank() != 4)
      throw UnsupportedError(fmt::format("{}: needs a 4-D u8/i8 input, got {} {}", node_.describe(),
                                         dtype_name(x.dtype()), shape_str(x.shape())));
    auto k = node_.attr_ints("kernel_shape");
    if (k.size() != 2)
      throw InputError(fmt::format("{}: kernel_shape must have 2 values", node_.describe()));
    // A pool is a depthwise window: reuse conv geometry with a [C,1,KH,KW] weight.
    Node as_conv = node_;
    as_conv.attrs["group"] = x.dim(1);
    geo_ = int8::conv_geometry(as_conv, x.shape(), {x.dim(1), 1, k[0], k[1]});
    if (node_.attr_int("ceil_mode", 0) != 0) {
      auto ceil_out = [](int64_t in, int64_t pads, int64_t k, int64_t d, int64_t s) {
        return (in + pads - ((k - 1) * d + 1) + s - 1) / s + 1;
      };
      geo_.oh = ceil_out(geo_.h, geo_.pad_t + geo_.pad_b, geo_.kh, geo_.dil_h, geo_.stride_h);
      geo_.ow = ceil_out(geo_.w, geo_.pad_l + geo_.pad_r, geo_.kw, geo_.dil_w, geo_.stride_w);
      geo_.pad_b =
          (geo_.oh - 1) * geo_.stride_h + (geo_.kh - 1) * geo_.dil_h + 1 - geo_.h - geo_.pad_t;
      geo_.pad_r =
          (geo_.ow - 1) * geo_.stride_w + (geo_.kw - 1) * geo_.dil_w + 1 - geo_.w - geo_.pad_l;
    }
    return {{x.dtype(), {geo_.n, geo_.c, geo_.oh, geo_.ow}}};
  }

  void prepare(std::span<const Tensor> in) override {
    const auto &g = geo_;
    dnnl::engine &eng = dnnl_util::engine(env_);
    auto dt = dnnl_util::dtype(in[0].dtype());
    memory::dims src_dims{g.n, g.c, g.h, g.w}, dst_dims{g.n, g.c, g.oh, g.ow};
    memory::desc src_plain(src_dims, dt, tag::nchw), dst_plain(dst_dims, dt, tag::nchw);
    // oneDNN's fast int8 pooling wants NHWC (or a blocked layout): on plain
    // NCHW it falls back to a reference loop that costs ~100x more for the
    // large stride-1 SPP windows. So plain input is reordered to NHWC first.
    bool blocked_in =
        !in_layouts_.empty() && in_layouts_[0] && memory::desc(*in_layouts_[0]) != src_plain;
    src_md_ = blocked_in ? memory::desc(*in_layouts_[0]) : src_plain;
    memory::desc pool_src = blocked_in ? src_md_ : memory::desc(src_dims, dt, tag::acdb);
    memory::desc dst_any(dst_dims, dt, tag::any);
    dnnl::pooling_v2_forward::desc desc(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::pooling_max, pool_src, dst_any,
        {g.stride_h, g.stride_w}, {g.kh, g.kw}, {g.dil_h - 1, g.dil_w - 1}, {g.pad_t, g.pad_l},
        {g.pad_b, g.pad_r});
    dnnl::pooling_v2_forward::primitive_desc pd(desc, eng);
    pool_ = dnnl::pooling_v2_forward(pd);
    src_ = memory(src_md_, eng, nullptr);
    src_reorder_ = {};
    pool_src_ = src_;
    if (!blocked_in) {
      pool_src_ = memory(pool_src, eng);
      src_reorder_ = dnnl::reorder(src_, pool_src_);
    }
    // Output: the pooling's own layout when the executor keeps oneDNN
    // layouts, else plain through a private buffer.
    dst_md_ = pd.dst_desc();
    dst_reorder_ = {};
    if (!layouts_enabled_ && dst_md_ != dst_plain) {
      pool_dst_ = memory(dst_md_, eng);
      dst_md_ = dst_plain;
      dst_ = memory(dst_plain, eng, nullptr);
      dst_reorder_ = dnnl::reorder(pool_dst_, dst_);
    } else {
      dst_ = memory(dst_md_, eng, nullptr);
      pool_dst_ = dst_;
    }
    dst_is_plain_ = dst_md_ == dst_plain;
  }

  // oneDNN layout opt-in (runtime/kernel.h): the pool keeps its input's layout.
  bool accepts_dnnl_layouts() const override { return true; }
  void set_input_layouts(std::span<const dnnl_memory_desc_t *const> layouts) override {
    layouts_enabled_ = true;
    in_layouts_.assign(layouts.begin(), layouts.end());
  }
  const dnnl_memory_desc_t *output_layout(size_t) const override {
    return dst_is_plain_ ? nullptr : &dst_md_.data;
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    dnnl::stream &s = dnnl_util::stream(env_);
    src_.set_data_handle(const_cast<void *>(in[0].raw()));
    dst_.set_data_handle(out[0].raw());
    if (src_reorder_)
      src_reorder_.execute(s, src_, pool_src_);
    pool_.execute(s, {{DNNL_ARG_SRC, pool_src_}, {DNNL_ARG_DST, pool_dst_}});
    if (dst_reorder_)
      dst_reorder_.execute(s, pool_dst_, dst_);
    s.wait();
  }

private:
  Node node_;
  KernelEnv env_;
  int8::ConvGeometry geo_;
  std::vector<const dnnl_memory_desc_t *> in_layouts_;
  bool layouts_enabled_ = false, dst_is_plain_ = true;
  memory::desc src_md_, dst_md_;
  dnnl::pooling_v2_forward pool_;
  dnnl::reorder src_reorder_, dst_reorder_;
  memory src_, pool_src_, pool_dst_, dst_;
};

} // namespace

void register_qpool_kernels(KernelRegistry &r) {
  int8::register_nhwc_int8_reader("qtune", "QMaxPool"); // NHWC is what it picks for u8/s8
  r.add(
      "QMaxPool",
      [](const Node &n, const KernelEnv &env) { return std::make_unique<QMaxPoolKernel>(n, env); },
      "qtune");
}

} // namespace qtune
