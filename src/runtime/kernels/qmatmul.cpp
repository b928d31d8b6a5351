// qtune:QMatMul: int8 matmul with a constant 2-D weight on oneDNN, made by the
// QDQ lowering pass from DQ(a) -> MatMul|Gemm(DQ(w), b) [-> act] [-> Q].
//
// Inputs: A (u8/i8 [..., K], zero point a_zero_point, scale a_scale), W (i8
// [K, N], or [N, K] with trans_b=1; symmetric, w_scales per tensor or per
// output column N), B (f32 [N] in real units, optional).
// Attrs: a_scale, a_zero_point, w_scales, trans_b, y_dtype ("u8", "i8",
// "f32"), y_scale, y_zero_point, activation(+_params).
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
#include "runtime/kernels/int8_util.h"

namespace qtune {
namespace {

using dnnl::memory;
using tag = memory::format_tag;

class QMatMulKernel : public Kernel {
public:
  QMatMulKernel(const Node &n, const KernelEnv &env) : node_(n), env_(env) {
    a_scale_ = n.attr_float("a_scale", 1.f);
    a_zero_point_ = static_cast<int32_t>(n.attr_int("a_zero_point", 0));
    w_scales_ = n.attr_floats("w_scales");
    trans_b_ = n.attr_int("trans_b", 0) != 0;
    y_dtype_ = dtype_from_name(n.attr_string("y_dtype", "u8"));
    y_scale_ = n.attr_float("y_scale", 1.f);
    y_zero_point_ = static_cast<int32_t>(n.attr_int("y_zero_point", 0));
    if (w_scales_.empty())
      throw InputError(fmt::format("{}: attribute 'w_scales' is missing", n.describe()));
    int8::check_y_dtype(n, y_dtype_);
  }

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
    k_ = trans_b_ ? w.dim(1) : w.dim(0);
    n_ = trans_b_ ? w.dim(0) : w.dim(1);
    if (a.dim(-1) != k_)
      throw InputError(fmt::format("{}: inner dims differ: {} x {}{}", node_.describe(),
                                   shape_str(a.shape()), shape_str(w.shape()),
                                   trans_b_ ? " (transposed)" : ""));
    if (w_scales_.size() != 1 && static_cast<int64_t>(w_scales_.size()) != n_)
      throw InputError(fmt::format("{}: {} weight scales for {} output columns", node_.describe(),
                                   w_scales_.size(), n_));
    if (in.size() > 2 && in[2].defined() && in[2].numel() != n_)
      throw InputError(fmt::format("{}: bias has {} values for {} output columns", node_.describe(),
                                   in[2].numel(), n_));
    m_ = a.numel() / k_;
    Shape y = a.shape();
    y.back() = n_;
    return {{y_dtype_, y}};
  }

  void prepare(std::span<const Tensor> in) override {
    dnnl::engine &eng = dnnl_util::engine(env_);
    memory::desc a_md({m_, k_}, dnnl_util::dtype(in[0].dtype()), tag::ab);
    memory::desc w_any({k_, n_}, memory::data_type::s8, tag::any);
    memory::desc y_md({m_, n_}, dnnl_util::dtype(y_dtype_), tag::ab);
    memory::desc b_md({1, n_}, memory::data_type::f32, tag::ab);
    bool has_bias = in.size() > 2 && in[2].defined();

    // Without VNNI the weights are halved to 7 bits (see int8_util.h).
    bool halve = int8::weights_need_7bit() && !int8::fits_7bit(in[1]);
    std::vector<float> out_scales = int8::output_scales(a_scale_, w_scales_, halve);
    dnnl::primitive_attr attr;
    int8::set_scales_and_zero_point(attr, out_scales, a_zero_point_);
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
    memory w_user({{k_, n_}, memory::data_type::s8, trans_b_ ? tag::ba : tag::ab}, eng,
                  const_cast<void *>(w.raw()));
    weights_ = memory(pd.weights_desc(), eng);
    dnnl_util::reorder_now(env_, w_user, weights_);
    bias_ = has_bias ? int8::scaled_bias(eng, b_md, in[2], n_, out_scales) : memory();
    zp_mem_ = int8::zero_point_memory(eng, a_zero_point_);
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
    dnnl_util::append_activation(ops, node_, node_.attr_string("activation", ""),
                                 node_.attr_floats("activation_params"));
    int8::append_requantize(ops, y_dtype_, y_scale_, y_zero_point_);
    return ops;
  }

  Node node_;
  KernelEnv env_;
  float a_scale_ = 1, y_scale_ = 1;
  int32_t a_zero_point_ = 0, y_zero_point_ = 0;
  std::vector<float> w_scales_;
  bool trans_b_ = false;
  DType y_dtype_ = DType::u8;
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
