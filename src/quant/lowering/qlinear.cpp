// qlinear_conv / qlinear_matmul: ONNX QLinearConv and QLinearMatMul, as
// QOperator models from other tools write them, are QConv's and QMatMul's
// contract spelled as inputs: with constant s8 weights of zero point 0 and
// per-tensor input/output parameters they run on oneDNN instead of the
// reference kernels.
#include "quant/lowering/rule.h"
#include "runtime/kernels/qconv.h"
#include "runtime/kernels/qmatmul.h"

namespace qtune::quant {

namespace {

// The constant operands both ops share (inputs 1-7): per-tensor input and
// output scale / zero point, and an s8 weight of `rank` with zero point 0 and
// scales per tensor or per `channel_axis`.
struct QLinearOperands {
  float in_scale = 1, y_scale = 1;
  int64_t in_zero_point = 0, y_zero_point = 0;
  DType y_dtype = DType::u8;
  std::vector<float> w_scales;
  int64_t channels = 0; // weight dim at channel_axis
};

std::optional<QLinearOperands> qlinear_operands(const LoweringContext &cx, const Node &n,
                                                int64_t rank, int channel_axis) {
  auto constant = [&](size_t k) {
    return n.has_input(k) ? cx.g.initializer(n.inputs[k]) : nullptr;
  };
  const Tensor *xs = constant(1), *xz = constant(2), *w = constant(3), *ws = constant(4),
               *wz = constant(5), *ys = constant(6), *yz = constant(7);
  if (!xs || !xz || !w || !ws || !ys || !yz || xs->numel() != 1 || xz->numel() != 1 ||
      ys->numel() != 1 || yz->numel() != 1 || w->dtype() != DType::i8 || w->rank() != rank)
    return std::nullopt;
  const int64_t channels = w->dim(channel_axis);
  if ((ws->numel() != 1 && ws->numel() != channels) || (wz && !LoweringContext::all_zero(*wz)))
    return std::nullopt;
  QLinearOperands p;
  p.in_scale = static_cast<float>(xs->get_f64(0));
  p.in_zero_point = xz->get_i64(0);
  p.y_scale = static_cast<float>(ys->get_f64(0));
  p.y_zero_point = yz->get_i64(0);
  p.y_dtype = yz->dtype();
  p.w_scales = ws->to_f32_vector();
  p.channels = channels;
  return p;
}

Node qlinear_node(const Node &n, const char *op) {
  Node q;
  q.name = n.name;
  q.op_type = op;
  q.domain = "qtune";
  q.outputs = n.outputs;
  return q;
}

int8::InputParams qlinear_input(const QLinearOperands &p) {
  return {p.in_scale, static_cast<int32_t>(p.in_zero_point)};
}

int8::OutputParams qlinear_output(const QLinearOperands &p) {
  return {p.y_dtype, p.y_scale, static_cast<int32_t>(p.y_zero_point)};
}

// QConv's x or QMatMul's a, the weight scales and the output into q.
template <class Params>
void write_qlinear(Params params, int8::InputParams Params::*in, const QLinearOperands &p,
                   Node &q) {
  params.*in = qlinear_input(p);
  params.w_scales = p.w_scales;
  params.y = qlinear_output(p);
  params.write(q);
}

// The int32 bias B (in units of x_scale * w_scale) becomes real units.
bool lower_qlinear_conv(LoweringContext &cx, size_t ci) {
  const Node n = cx.g.nodes[ci];
  auto p = qlinear_operands(cx, n, 4, 0);
  if (!p)
    return false;
  std::string bias;
  if (n.has_input(8)) {
    const Tensor *b = cx.g.initializer(n.inputs[8]);
    if (!b || b->dtype() != DType::i32 || b->numel() != p->channels)
      return false;
    Tensor real(DType::f32, {b->numel()});
    for (int64_t c = 0; c < b->numel(); ++c)
      real.data<float>()[c] = static_cast<float>(b->get_i64(c) * double(p->in_scale) *
                                                 p->w_scales[p->w_scales.size() == 1 ? 0 : c]);
    bias = cx.g.unique_name(n.inputs[8] + "_real");
    cx.g.initializers[bias] = std::move(real);
  }
  Node q = qlinear_node(n, "QConv");
  for (const char *a : {"strides", "pads", "dilations", "group", "auto_pad", "kernel_shape"})
    if (n.has_attr(a))
      q.attrs[a] = n.attrs.at(a);
  write_qlinear(QConvParams{}, &QConvParams::x, *p, q);
  q.inputs = {n.inputs[0], n.inputs[3], bias};
  cx.replace({ci}, std::move(q));
  return true;
}

// A constant 2-D s8 B (zero point 0, scale per tensor or per column).
bool lower_qlinear_matmul(LoweringContext &cx, size_t mi) {
  const Node n = cx.g.nodes[mi];
  auto p = qlinear_operands(cx, n, 2, 1);
  if (!p)
    return false;
  Node q = qlinear_node(n, "QMatMul");
  write_qlinear(QMatMulParams{}, &QMatMulParams::a, *p, q);
  q.inputs = {n.inputs[0], n.inputs[3], ""};
  cx.replace({mi}, std::move(q));
  return true;
}

} // namespace

void register_qlinear_rules(LoweringRegistry &r) {
  r.add(LoweringRule{"qlinear_conv", 1, lower_qlinear_conv});
  r.add(LoweringRule{"qlinear_matmul", 1, lower_qlinear_matmul});
  // Already quantized ops: nothing for the plan to decide, only their lowering.
  r.add(OpDescriptor("QLinearConv", std::nullopt, {"qlinear_conv"}));
  r.add(OpDescriptor("QLinearMatMul", std::nullopt, {"qlinear_matmul"}));
}

} // namespace qtune::quant
