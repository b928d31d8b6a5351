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
    auto dt = int8::dnnl_dtype(in[0].dtype());
    memory::desc src_plain({g.n, g.c, g.h, g.w}, dt, tag::nchw);
    memory::desc dst_plain({g.n, g.c, g.oh, g.ow}, dt, tag::nchw);
    // With the executor's layout opt-in the pool reads the producer's layout
    // and writes the matching one; otherwise plain in, plain out.
    bool blocked_in = !in_layouts_.empty() && in_layouts_[0];
    src_md_ = blocked_in ? memory::desc(*in_layouts_[0]) : src_plain;
    memory::desc dst_any({g.n, g.c, g.oh, g.ow}, dt, blocked_in ? tag::any : tag::nchw);
    dnnl::pooling_v2_forward::desc desc(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::pooling_max, src_md_, dst_any,
        {g.stride_h, g.stride_w}, {g.kh, g.kw}, {g.dil_h - 1, g.dil_w - 1}, {g.pad_t, g.pad_l},
        {g.pad_b, g.pad_r});
    dnnl::pooling_v2_forward::primitive_desc pd(desc, dnnl_util::engine(env_));
    pool_ = dnnl::pooling_v2_forward(pd);
    dst_md_ = pd.dst_desc();
    dst_is_plain_ = dst_md_ == dst_plain;
  }

  // oneDNN layout opt-in (runtime/kernel.h); no `override` so this also builds
  // against a kernel.h without it.
  bool accepts_dnnl_layouts() const { return true; }
  void set_input_layouts(std::span<const dnnl_memory_desc_t *const> layouts) {
    in_layouts_.assign(layouts.begin(), layouts.end());
  }
  const dnnl_memory_desc_t *output_layout(size_t) const {
    return dst_is_plain_ ? nullptr : &dst_md_.data;
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    dnnl::engine &eng = dnnl_util::engine(env_);
    memory src(src_md_, eng, const_cast<void *>(in[0].raw()));
    memory dst(dst_md_, eng, out[0].raw());
    pool_.execute(dnnl_util::stream(env_), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
    dnnl_util::stream(env_).wait();
  }

private:
  Node node_;
  KernelEnv env_;
  int8::ConvGeometry geo_;
  std::vector<const dnnl_memory_desc_t *> in_layouts_;
  bool dst_is_plain_ = true;
  memory::desc src_md_, dst_md_;
  dnnl::pooling_v2_forward pool_;
};

} // namespace

void register_qpool_kernels(KernelRegistry &r) {
  r.add(
      "QMaxPool",
      [](const Node &n, const KernelEnv &env) { return std::make_unique<QMaxPoolKernel>(n, env); },
      "qtune");
}

} // namespace qtune
