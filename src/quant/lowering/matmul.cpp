// matmul: DQ(a) -> MatMul|Gemm|FusedMatMul|FusedGemm(DQ(w) constant 2-D, b)
// [-> activation] [-> Q]  =>  qtune:QMatMul. A Gemm only with transA=0,
// alpha=beta=1 and a per-column bias; A may have any rank (its leading dims
// fold into M). The weight stays as stored ([K,N], or [N,K] for a Gemm with
// transB=1) and its scales run along N.
#include "quant/lowering/rule.h"
#include "runtime/kernels/qmatmul.h"

namespace qtune::quant {

namespace {

bool is_gemm(const Node &n) {
  return n.op_type == "Gemm" || n.op_type == "FusedGemm";
}

const char *gemm_unsupported(const Node &n) {
  if (n.attr_int("transA", 0) != 0)
    return "transA";
  if (n.attr_float("alpha", 1.f) != 1.f || n.attr_float("beta", 1.f) != 1.f)
    return "alpha/beta != 1";
  return nullptr;
}

int gemm_weight_axis(const Node &n) {
  return n.attr_int("transB", 0) ? 0 : 1;
}

int matmul_weight_axis(const Node &) {
  return 1;
}

// Gemm's C broadcasts; only a per-column bias ([N] or [1, N]) maps to oneDNN's.
bool per_column(const Tensor &b, int64_t n) {
  return b.numel() == n && (b.rank() == 1 || (b.rank() == 2 && b.dim(0) == 1));
}

bool lower_matmul(LoweringContext &cx, size_t mi) {
  const Node mm = cx.g.nodes[mi];
  const bool gemm = is_gemm(mm);
  if (gemm && gemm_unsupported(mm))
    return false;
  if (!gemm && mm.num_inputs() != 2)
    return false;
  const Node *a_dq = cx.producer(mm.inputs.at(0), "DequantizeLinear");
  const Node *w_dq = mm.has_input(1) ? cx.producer(mm.inputs[1], "DequantizeLinear") : nullptr;
  if (!a_dq || !w_dq)
    return false;
  auto ap = cx.per_tensor_params(*a_dq);
  const Tensor *w = cx.g.initializer(w_dq->inputs[0]);
  if (!ap || !w || w->rank() != 2)
    return false;
  const bool trans_b = gemm && mm.attr_int("transB", 0) != 0;
  const int64_t n_axis = trans_b ? 0 : 1;
  std::vector<float> w_scales = cx.weight_scales(*w_dq, n_axis);
  if (w_scales.empty())
    return false;
  auto bias = gemm ? cx.real_bias(mm, 2) : std::optional<std::string>("");
  if (!bias || (!bias->empty() && !per_column(*cx.g.initializer(*bias), w->dim(n_axis))))
    return false;

  Node q;
  q.name = mm.name;
  q.op_type = "QMatMul";
  q.domain = "qtune";
  QMatMulParams p;
  p.activation = int8::FusedActivation::from(mm, "activation");
  p.a = {ap->scale, ap->zero_point};
  p.w_scales = std::move(w_scales);
  p.trans_b = trans_b;
  q.inputs = {a_dq->inputs[0], w_dq->inputs[0], *bias};
  if (bias->empty())
    q.inputs.pop_back();

  std::vector<size_t> matched{mi};
  std::string out = mm.outputs.at(0);
  if (p.activation.op.empty()) {
    if (auto act = cx.take_activation(matched, out))
      p.activation = {act->first, act->second};
  }
  q.outputs = {cx.take_output(matched, out, cx.quantize_after(out), p.y)};
  p.write(q);
  cx.replace(matched, std::move(q));
  return true;
}

// Gemm: transB decides the weight's N axis, C may be a per-column bias. MatMul:
// a B that is no 2-D initializer makes a matmul of two activations.
OpDescriptor matmul_descriptor(const char *op, bool gemm) {
  OpDescriptor d(op, QuantRole::compute, {"matmul"});
  d.weight = 1;
  d.weight_axis = gemm ? gemm_weight_axis : matmul_weight_axis;
  d.weight_optional = !gemm;
  d.bias = gemm ? 2 : -1;
  d.bias_optional = gemm;
  d.unsupported = gemm ? gemm_unsupported : nullptr;
  return d;
}

} // namespace

void register_matmul_rules(LoweringRegistry &r) {
  r.add(LoweringRule{"matmul", 1, lower_matmul});
  r.add(matmul_descriptor("Gemm", true));
  r.add(matmul_descriptor("qtune:FusedGemm", true));
  r.add(matmul_descriptor("MatMul", false));
  r.add(matmul_descriptor("qtune:FusedMatMul", false));
}

} // namespace qtune::quant
