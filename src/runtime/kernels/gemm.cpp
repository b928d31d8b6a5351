// Gemm and qtune:FusedGemm (FP32) on oneDNN matmul: Y = act(alpha * A' B' + beta * C).
// transA/transB become strided memory descs (no copies); alpha is the output
// scale; C (unidirectionally broadcast to [M, N]) is added by a binary post-op
// after the scale, pre-multiplied by beta when beta != 1.
//
// BF16 (node attribute kPrecisionAttr = "bf16"): A and B are converted to bf16
// by reorders (B once in prepare() when it is an initializer, into the layout
// the primitive prefers), C, the output and the math after the product stay
// f32. Without a bf16 matmul on this ISA the f32 primitive is used.
#include <fmt/format.h>

#include "qtune/error.h"
#include "runtime/dnnl_util.h"
#include "runtime/kernel.h"
#include "runtime/kernels/matmul_bf16.h"

namespace qtune {
namespace {

using dnnl::memory;
namespace du = dnnl_util;

class GemmKernel : public Kernel {
public:
  GemmKernel(const Node &n, const KernelEnv &env, bool fused) : node_(n), env_(env) {
    alpha_ = n.attr_float("alpha", 1.f);
    beta_ = n.attr_float("beta", 1.f);
    trans_a_ = n.attr_int("transA", 0) != 0;
    trans_b_ = n.attr_int("transB", 0) != 0;
    if (fused) {
      activation_ = n.attr_string("activation", "");
      activation_params_ = n.attr_floats("activation_params");
    }
    dnnl::post_ops probe;
    du::append_activation(probe, n, activation_, activation_params_);
    want_bf16_ = n.attr_string(kPrecisionAttr, "") == "bf16";
    const_b_ = env.is_constant(n.inputs.size() > 1 ? n.inputs[1] : "");
  }

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    if (in.size() < 2 || !in[0].defined() || !in[1].defined())
      throw InputError(fmt::format("{}: needs inputs A and B", node_.describe()));
    for (size_t i = 0; i < in.size(); ++i)
      if (in[i].defined() && in[i].dtype() != DType::f32)
        throw UnsupportedError(fmt::format("{}: only f32 is supported (input {} is {})",
                                           node_.describe(), i, dtype_name(in[i].dtype())));
    const Shape &a = in[0].shape(), &b = in[1].shape();
    if (a.size() != 2 || b.size() != 2)
      throw InputError(fmt::format("{}: A {} and B {} must be 2-D", node_.describe(), shape_str(a),
                                   shape_str(b)));
    m_ = trans_a_ ? a[1] : a[0];
    k_ = trans_a_ ? a[0] : a[1];
    n_ = trans_b_ ? b[0] : b[1];
    int64_t kb = trans_b_ ? b[1] : b[0];
    if (k_ != kb)
      throw InputError(fmt::format("{}: inner dims differ: A {} B {} (transA={}, transB={})",
                                   node_.describe(), shape_str(a), shape_str(b), trans_a_,
                                   trans_b_));
    has_c_ = in.size() > 2 && in[2].defined() && beta_ != 0.f;
    if (has_c_) {
      Shape c = in[2].shape();
      if (c.size() > 2)
        throw InputError(fmt::format("{}: C {} has rank > 2", node_.describe(), shape_str(c)));
      c.insert(c.begin(), 2 - c.size(), 1);
      if ((c[0] != 1 && c[0] != m_) || (c[1] != 1 && c[1] != n_))
        throw InputError(fmt::format("{}: C {} does not broadcast to [{},{}]", node_.describe(),
                                     shape_str(in[2].shape()), m_, n_));
      c_dims_ = {c[0], c[1]};
    }
    return {{DType::f32, {m_, n_}}};
  }

  void prepare(std::span<const Tensor> in) override {
    dnnl::engine &eng = du::engine(env_);
    auto f32 = memory::data_type::f32;
    memory::desc a_md({m_, k_}, f32, trans_a_ ? memory::dims{1, m_} : memory::dims{k_, 1});
    memory::desc b_md({k_, n_}, f32, trans_b_ ? memory::dims{1, k_} : memory::dims{n_, 1});
    memory::desc y_md({m_, n_}, f32, memory::format_tag::ab);
    dnnl::primitive_attr attr;
    if (alpha_ != 1.f)
      attr.set_output_scales(0, {alpha_});
    dnnl::post_ops ops;
    memory::desc c_md;
    if (has_c_) {
      c_md = memory::desc(c_dims_, f32, memory::format_tag::ab);
      ops.append_binary(dnnl::algorithm::binary_add, c_md);
    }
    du::append_activation(ops, node_, activation_, activation_params_);
    attr.set_post_ops(ops);
    // bf16: A plain, B packed into the layout the primitive prefers.
    std::optional<dnnl::matmul::primitive_desc> bf16_pd;
    if (want_bf16_)
      bf16_pd = Bf16MatmulOperands::make_pd({m_, k_}, {k_, n_}, true, y_md, attr, eng);
    matmul_.prepare(node_, env_, bf16_pd, a_md, b_md, y_md, attr, const_b_ ? &in[1] : nullptr,
                    "this Gemm");
    if (has_c_) {
      c_mem_ = beta_ == 1.f ? memory(c_md, eng, nullptr) : memory(c_md, eng);
    }
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    dnnl::stream &s = du::stream(env_);
    std::unordered_map<int, memory> args = matmul_.args(s, in[0], in[1], out[0]);
    if (has_c_) {
      if (beta_ == 1.f) {
        c_mem_.set_data_handle(const_cast<void *>(in[2].raw()));
      } else {
        // C is at most [M, N]: scaling it per run is cheap next to the product.
        const float *c = in[2].data<float>();
        float *dst = static_cast<float *>(c_mem_.get_data_handle());
        for (int64_t i = 0; i < in[2].numel(); ++i)
          dst[i] = beta_ * c[i];
      }
      args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1] = c_mem_;
    }
    matmul_.execute(s, args);
    s.wait();
  }

private:
  Node node_;
  KernelEnv env_;
  float alpha_ = 1, beta_ = 1;
  bool trans_a_ = false, trans_b_ = false, has_c_ = false;
  bool want_bf16_ = false, const_b_ = false;
  std::string activation_;
  std::vector<float> activation_params_;
  int64_t m_ = 0, k_ = 0, n_ = 0;
  memory::dims c_dims_;
  NodeMatmul matmul_;
  memory c_mem_;
};

} // namespace

void register_gemm_kernels(KernelRegistry &r) {
  r.add("Gemm", [](const Node &n, const KernelEnv &env) {
    return std::make_unique<GemmKernel>(n, env, false);
  });
  r.add(
      "FusedGemm",
      [](const Node &n, const KernelEnv &env) {
        return std::make_unique<GemmKernel>(n, env, true);
      },
      "qtune");
}

} // namespace qtune
