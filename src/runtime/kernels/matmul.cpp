// MatMul and qtune:FusedMatMul (FP32) on oneDNN matmul: numpy semantics, 1-D
// operands promoted and the extra dim dropped, batch dims broadcast (oneDNN
// broadcasts size-1 batch dims when both operands have the same rank).
//
// BF16 (node attribute kPrecisionAttr = "bf16"): both operands are converted to
// bf16 by reorders (B once in prepare() when it is an initializer, into the
// primitive's preferred layout); the output and the activation stay f32.
// Without a bf16 matmul on this ISA the f32 primitive is used.
#include <fmt/format.h>

#include "qtune/error.h"
#include "runtime/dnnl_util.h"
#include "runtime/kernel.h"
#include "runtime/kernels/matmul_bf16.h"

namespace qtune {
namespace {

using dnnl::memory;
namespace du = dnnl_util;

class MatMulKernel : public Kernel {
public:
  MatMulKernel(const Node &n, const KernelEnv &env, bool fused) : node_(n), env_(env) {
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
    if (in[0].dtype() != DType::f32 || in[1].dtype() != DType::f32)
      throw UnsupportedError(fmt::format("{}: only f32 is supported (got {} and {})",
                                         node_.describe(), dtype_name(in[0].dtype()),
                                         dtype_name(in[1].dtype())));
    Shape a = in[0].shape(), b = in[1].shape();
    if (a.empty() || b.empty())
      throw InputError(fmt::format("{}: MatMul operands must have rank >= 1", node_.describe()));
    bool a_vec = a.size() == 1, b_vec = b.size() == 1;
    if (a_vec)
      a.insert(a.begin(), 1);
    if (b_vec)
      b.push_back(1);
    size_t r = std::max(a.size(), b.size());
    if (r > 6)
      throw UnsupportedError(fmt::format("{}: rank {} > 6", node_.describe(), r));
    a.insert(a.begin(), r - a.size(), 1);
    b.insert(b.begin(), r - b.size(), 1);
    if (a[r - 1] != b[r - 2])
      throw InputError(fmt::format("{}: inner dims differ: {} x {}", node_.describe(),
                                   shape_str(in[0].shape()), shape_str(in[1].shape())));
    Shape y(r);
    for (size_t i = 0; i + 2 < r; ++i) {
      if (a[i] != b[i] && a[i] != 1 && b[i] != 1)
        throw InputError(fmt::format("{}: batch dims do not broadcast: {} x {}", node_.describe(),
                                     shape_str(in[0].shape()), shape_str(in[1].shape())));
      y[i] = std::max(a[i], b[i]);
    }
    y[r - 2] = a[r - 2];
    y[r - 1] = b[r - 1];
    a_ = a, b_ = b, y_ = y;
    Shape out = y;
    if (b_vec)
      out.pop_back();
    if (a_vec)
      out.erase(out.end() - (b_vec ? 1 : 2));
    return {{DType::f32, out}};
  }

  void prepare(std::span<const Tensor> in) override {
    dnnl::engine &eng = du::engine(env_);
    memory::desc a_md = du::plain_desc(a_), b_md = du::plain_desc(b_), y_md = du::plain_desc(y_);
    dnnl::post_ops ops;
    du::append_activation(ops, node_, activation_, activation_params_);
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    // bf16: a constant B is packed into the layout the primitive prefers.
    std::optional<dnnl::matmul::primitive_desc> bf16_pd;
    if (want_bf16_)
      bf16_pd =
          Bf16MatmulOperands::make_pd(du::to_dims(a_), du::to_dims(b_), const_b_, y_md, attr, eng);
    matmul_.prepare(node_, env_, bf16_pd, a_md, b_md, y_md, attr, const_b_ ? &in[1] : nullptr,
                    fmt::format("{} x {}", shape_str(a_), shape_str(b_)));
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    dnnl::stream &s = du::stream(env_);
    matmul_.execute(s, matmul_.args(s, in[0], in[1], out[0]));
    s.wait();
  }

private:
  Node node_;
  KernelEnv env_;
  std::string activation_;
  std::vector<float> activation_params_;
  Shape a_, b_, y_;
  bool want_bf16_ = false, const_b_ = false;
  NodeMatmul matmul_;
};

} // namespace

void register_matmul_kernels(KernelRegistry &r) {
  r.add("MatMul", [](const Node &n, const KernelEnv &env) {
    return std::make_unique<MatMulKernel>(n, env, false);
  });
  r.add(
      "FusedMatMul",
      [](const Node &n, const KernelEnv &env) {
        return std::make_unique<MatMulKernel>(n, env, true);
      },
      "qtune");
}

} // namespace qtune
