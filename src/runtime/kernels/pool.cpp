// MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool and LRN (FP32) on
// oneDNN pooling_v2 / lrn: 1-D/2-D/3-D windows, pads, auto_pad, ceil_mode,
// dilations, count_include_pad. storage_order only affects the Indices output,
// which we do not produce. Layout opt-in: pooling reads and writes the layout
// of its producer (nChw16c after a conv stays nChw16c).
#include <fmt/format.h>

#include "qtune/error.h"
#include "runtime/dnnl_util.h"
#include "runtime/kernel.h"

namespace qtune {
namespace {

using dnnl::memory;
namespace du = dnnl_util;

enum class PoolKind { max, average, global_average, global_max, lrn };

class PoolKernel : public Kernel {
public:
  PoolKernel(const Node &n, const KernelEnv &env, PoolKind kind)
      : node_(n), env_(env), kind_(kind) {
    if (kind == PoolKind::max && n.outputs.size() > 1 && !n.outputs[1].empty())
      throw UnsupportedError(fmt::format("{}: the Indices output is not supported", n.describe()));
  }

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    if (in.empty() || !in[0].defined())
      throw InputError(fmt::format("{}: input X is missing", node_.describe()));
    if (in[0].dtype() != DType::f32)
      throw UnsupportedError(fmt::format("{}: only f32 is supported (got {})", node_.describe(),
                                         dtype_name(in[0].dtype())));
    const Shape &x = in[0].shape();
    if (x.size() < 3 || x.size() > 5)
      throw InputError(fmt::format("{}: input {} is not [N,C,spatial...] with 1-3 spatial dims",
                                   node_.describe(), shape_str(x)));
    y_shape_ = x;
    if (kind_ == PoolKind::lrn)
      return {{DType::f32, x}};
    std::vector<int64_t> kernel(x.begin() + 2, x.end());
    bool global = kind_ == PoolKind::global_average || kind_ == PoolKind::global_max;
    if (!global) {
      kernel = node_.attr_ints("kernel_shape");
      if (kernel.size() != x.size() - 2)
        throw InputError(fmt::format("{}: kernel_shape {} does not fit input {}", node_.describe(),
                                     shape_str(kernel), shape_str(x)));
      win_ = du::resolve_window(node_, x, kernel, node_.attr_int("ceil_mode", 0) != 0);
    } else {
      win_.kernel = kernel;
      win_.strides.assign(kernel.size(), 1);
      win_.dilations.assign(kernel.size(), 1);
      win_.pad_begin.assign(kernel.size(), 0);
      win_.pad_end.assign(kernel.size(), 0);
      win_.out.assign(kernel.size(), 1);
    }
    for (size_t i = 0; i < win_.out.size(); ++i)
      y_shape_[i + 2] = win_.out[i];
    return {{DType::f32, y_shape_}};
  }

  bool accepts_dnnl_layouts() const override { return true; }
  void set_input_layouts(std::span<const dnnl_memory_desc_t *const> layouts) override {
    in_layout_ = layouts.empty() ? nullptr : layouts[0];
  }
  const dnnl_memory_desc_t *output_layout(size_t) const override {
    return dst_is_plain_ ? nullptr : &dst_desc_.data;
  }

  void prepare(std::span<const Tensor> in) override {
    dnnl::engine &eng = du::engine(env_);
    const Shape &x = in[0].shape();
    memory::desc src = in_layout_ ? memory::desc(*in_layout_) : du::plain_desc(x);
    memory::desc dst_any(du::to_dims(y_shape_), memory::data_type::f32, memory::format_tag::any);
    try {
      if (kind_ == PoolKind::lrn) {
        int64_t size = node_.attr_int("size", 0);
        if (size < 1)
          throw InputError(fmt::format("{}: attribute 'size' must be >= 1", node_.describe()));
        dnnl::lrn_forward::desc d(dnnl::prop_kind::forward_inference,
                                  dnnl::algorithm::lrn_across_channels, src, size,
                                  node_.attr_float("alpha", 1e-4f), node_.attr_float("beta", 0.75f),
                                  node_.attr_float("bias", 1.f));
        dnnl::lrn_forward::primitive_desc pd(d, eng);
        prim_ = dnnl::lrn_forward(pd);
        dst_desc_ = pd.dst_desc();
      } else {
        dnnl::pooling_v2_forward::desc d(dnnl::prop_kind::forward_inference, algorithm(), src,
                                         dst_any, du::to_dims(win_.strides),
                                         du::to_dims(win_.kernel), win_.dnnl_dilations(),
                                         du::to_dims(win_.pad_begin), du::to_dims(win_.pad_end));
        dnnl::pooling_v2_forward::primitive_desc pd(d, eng);
        prim_ = dnnl::pooling_v2_forward(pd);
        dst_desc_ = pd.dst_desc();
      }
    } catch (const dnnl::error &e) {
      throw UnsupportedError(
          fmt::format("{}: oneDNN cannot pool this input ({})", node_.describe(), e.what()));
    }
    dst_is_plain_ = dst_desc_ == du::plain_desc(y_shape_);
    x_mem_ = memory(src, eng, nullptr);
    y_mem_ = memory(dst_desc_, eng, nullptr);
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    x_mem_.set_data_handle(const_cast<void *>(in[0].raw()));
    y_mem_.set_data_handle(out[0].raw());
    dnnl::stream &s = du::stream(env_);
    prim_.execute(s, {{DNNL_ARG_SRC, x_mem_}, {DNNL_ARG_DST, y_mem_}});
    s.wait();
  }

private:
  dnnl::algorithm algorithm() const {
    if (kind_ == PoolKind::max || kind_ == PoolKind::global_max)
      return dnnl::algorithm::pooling_max;
    if (kind_ == PoolKind::average && node_.attr_int("count_include_pad", 0) != 0)
      return dnnl::algorithm::pooling_avg_include_padding;
    return dnnl::algorithm::pooling_avg_exclude_padding;
  }

  Node node_;
  KernelEnv env_;
  PoolKind kind_;
  du::Window win_;
  Shape y_shape_;
  const dnnl_memory_desc_t *in_layout_ = nullptr;
  dnnl::primitive prim_;
  memory::desc dst_desc_;
  bool dst_is_plain_ = true;
  memory x_mem_, y_mem_;
};

void add_pool(KernelRegistry &r, const char *op, PoolKind kind) {
  r.add(op, [kind](const Node &n, const KernelEnv &env) {
    return std::make_unique<PoolKernel>(n, env, kind);
  });
}

} // namespace

void register_pool_kernels(KernelRegistry &r) {
  add_pool(r, "MaxPool", PoolKind::max);
  add_pool(r, "AveragePool", PoolKind::average);
  add_pool(r, "GlobalAveragePool", PoolKind::global_average);
  add_pool(r, "GlobalMaxPool", PoolKind::global_max);
  add_pool(r, "LRN", PoolKind::lrn);
}

} // namespace qtune
