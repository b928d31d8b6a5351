// qtune:QMatMul: int8 matmul with a constant 2-D weight on oneDNN, made by the
// QDQ lowering pass from DQ(a) -> MatMul|Gemm(DQ(w), b) [-> act] [-> Q].
//
// Inputs: A (u8/i8 [..., K], zero point a_zero_point, scale a_scale), W (i8
// [K, N], or [N, K] with trans_b=1; symmetric, w_scales per tensor or per
// output column N), B (f32 [N] in real units, optional).
// Attrs: QMatMulParams (qmatmul.h).
// Output: [..., N] (A's leading dims kept; a 1-D A gives a 1-D output).
//
// The weight is 2-D, so A's leading dims fold into M and one 2-D oneDNN matmul
// does the whole batch. As in qconv.cpp: oneDNN 2.6 adds the bias before the
// output scales (so the real bias is divided by a_scale * w_scale), the output
// scale takes the accumulator to real units, the activation runs in real units
// and a final linear post-op requantises with 1 / y_scale + y_zero_point.
// The weight is reordered into oneDNN's packed layout once in prepare(): the
// lowering only makes QMatMul for initializer weights.
#include <fmt/format.h>

#include "qtune/error.h"
#include "runtime/dnnl_util.h"
#include "runtime/kernel.h"
#include "runtime/kernels/qmatmul.h"

namespace qtune {

QMatMulParams QMatMulParams::from(const Node &n) {
  QMatMulParams p;
  p.a = int8::InputParams::from(n, "a");
  p.trans_b = n.attr_int("trans_b", 0) != 0;
  p.w_scales = int8::required_floats(n, "w_scales");
  p.activation = int8::FusedActivation::from(n, "activation");
  p.y = int8::OutputParams::from(n);
  return p;
}

void QMatMulParams::write(Node &n) const {
  a.write(n, "a");
  n.attrs["trans_b"] = int64_t{trans_b ? 1 : 0};
  n.attrs["w_scales"] = w_scales;
  activation.write(n, "activation");
  y.write(n);
}

namespace {

using dnnl::memory;
using tag = memory::format_tag;

class QMatMulKernel : public Kernel {
public:
  QMatMulKernel(const Node &n, const KernelEnv &env)
      : node_(n), env_(env), p_(QMatMulParams::from(n)) {}

  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    if (in.size() < 2 || !in[0].defined() || !in[1].defined())
      throw InputError(fmt::format("{}: needs inputs A and W", node_.describe()));
    const Tensor &a = in[0], &w = in[1];
    if (a.dtype() != DType::u8 && a.dtype() != DType::i8)
      throw InputError(
          fmt::format("{}: input type {} is not int8", node_.describe(), dtype_name(a.dtype())));
    if (w.dtype() != DType::i8 || w.rank() != 2)
      throw InputError(fmt::format("{}: weight must be 2-D i8, got {} {}", node_.describe(),
                                   dtype_name(w.dtype()), shape_str(w.shape())));
    if (a.rank() < 1)
      throw InputError(fmt::format("{}: input A is a scalar", node_.describe()));
    k_ = p_.trans_b ? w.dim(1) : w.dim(0);
    n_ = p_.trans_b ? w.dim(0) : w.dim(1);
    if (a.dim(-1) != k_)
      throw InputError(fmt::format("{}: inner dims differ: {} x {}{}", node_.describe(),
                                   shape_str(a.shape()), shape_str(w.shape()),
                                   p_.trans_b ? " (transposed)" : ""));
    if (p_.w_scales.size() != 1 && static_cast<int64_t>(p_.w_scales.size()) != n_)
      throw InputError(fmt::format("{}: {} weight scales for {} output columns", node_.describe(),
                                   p_.w_scales.size(), n_));
    if (in.size() > 2 && in[2].defined() && in[2].numel() != n_)
      throw InputError(fmt::format("{}: bias has {} values for {} output columns", node_.describe(),
                                   in[2].numel(), n_));
    m_ = a.numel() / k_;
    Shape y = a.shape();
    y.back() = n_;
    return {{p_.y.dtype, y}};
  }

  void prepare(std::span<const Tensor> in) override {
    dnnl::engine &eng = dnnl_util::engine(env_);
    memory::desc a_md({m_, k_}, dnnl_util::dtype(in[0].dtype()), tag::ab);
    memory::desc w_any({k_, n_}, memory::data_type::s8, tag::any);
    memory::desc y_md({m_, n_}, dnnl_util::dtype(p_.y.dtype), tag::ab);
    memory::desc b_md({1, n_}, memory::data_type::f32, tag::ab);
    bool has_bias = in.size() > 2 && in[2].defined();

    // Without VNNI the weights are halved to 7 bits (see int8_util.h).
    bool halve = int8::weights_need_7bit() && !int8::fits_7bit(in[1]);
    std::vector<float> out_scales = int8::output_scales(p_.a.scale, p_.w_scales, halve);
    dnnl::primitive_attr attr;
    int8::set_scales_and_zero_point(attr, out_scales, p_.a.zero_point);
    attr.set_post_ops(make_post_ops());

    dnnl::matmul::primitive_desc pd;
    try {
      pd = dnnl::matmul::primitive_desc(
          dnnl::matmul::desc(a_md, w_any, has_bias ? b_md : memory::desc(), y_md), attr, eng);
    } catch (const dnnl::error &e) {
      throw UnsupportedError(
          fmt::format("{}: oneDNN has no int8 matmul for [{}, {}] x [{}, {}] ({})",
                      node_.describe(), m_, k_, k_, n_, e.what()));
    }
    matmul_ = dnnl::matmul(pd);
    a_mem_ = memory(a_md, eng, nullptr);
    y_mem_ = memory(y_md, eng, nullptr);

    Tensor w = halve ? int8::halved(in[1]) : in[1];
    memory w_user({{k_, n_}, memory::data_type::s8, p_.trans_b ? tag::ba : tag::ab}, eng,
                  const_cast<void *>(w.raw()));
    weights_ = memory(pd.weights_desc(), eng);
    dnnl_util::reorder_now(env_, w_user, weights_);
    bias_ = has_bias ? int8::bias_memory(eng, b_md, int8::accumulator_bias(in[2], n_, out_scales))
                     : memory();
    zp_mem_ = int8::zero_point_memory(eng, p_.a.zero_point);
  }

  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    dnnl::stream &s = dnnl_util::stream(env_);
    a_mem_.set_data_handle(const_cast<void *>(in[0].raw()));
    y_mem_.set_data_handle(out[0].raw());
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, a_mem_}, {DNNL_ARG_WEIGHTS, weights_}, {DNNL_ARG_DST, y_mem_}};
    if (bias_)
      args[DNNL_ARG_BIAS] = bias_;
    if (zp_mem_)
      args[DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC] = zp_mem_;
    matmul_.execute(s, args);
    s.wait();
  }

private:
  dnnl::post_ops make_post_ops() const {
    dnnl::post_ops ops;
    dnnl_util::append_activation(ops, node_, p_.activation.op, p_.activation.params);
    int8::append_requantize(ops, p_.y.dtype, p_.y.scale, p_.y.zero_point);
    return ops;
  }

  Node node_;
  KernelEnv env_;
  QMatMulParams p_;
  int64_t m_ = 0, k_ = 0, n_ = 0;
  dnnl::matmul matmul_;
  memory a_mem_, y_mem_, weights_, bias_, zp_mem_;
};

} // namespace

void register_qmatmul_kernels(KernelRegistry &r) {
  r.add(
      "QMatMul",
      [](const Node &n, const KernelEnv &env) { return std::make_unique<QMatMulKernel>(n, env); },
      "qtune");
}

} // namespace qtune
