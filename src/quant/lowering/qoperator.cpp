// qoperator: the com.microsoft QOperator ops ONNX Runtime's quantizer writes
// (QLinearAdd, QLinearMul, QLinearSigmoid, QLinearLeakyRelu, QLinearConcat,
// QLinearAveragePool, QLinearGlobalAveragePool) are, by their definition,
// DequantizeLinear of each input -> the fp32 op -> QuantizeLinear. Pass 0
// writes them in that QDQ form; the pass-1 rules then lower them like any QDQ
// model (lut, requant_concat, avgpool), and what no rule takes still runs as
// the reference fp32 op between Q and DQ. (QLinearConv / QLinearMatMul are
// ONNX ops with kernels of their own: rules qlinear_conv / qlinear_matmul.)
#include <fmt/format.h>

#include "quant/lowering/rule.h"

namespace qtune::quant {

namespace {

// Where an op keeps its operands: (x, scale, zero point) input triples and
// the output's (scale, zero point) pair.
struct QOperatorLayout {
  const char *op;
  const char *fp32_op;
  std::vector<size_t> operands; // index of each operand's x (scale, zp follow)
  size_t y_scale;
  bool variadic = false; // QLinearConcat: operands from index 2 to the end
};

const QOperatorLayout *layout_of(const Node &n) {
  static const QOperatorLayout layouts[] = {
      {"QLinearAdd", "Add", {0, 3}, 6},
      {"QLinearMul", "Mul", {0, 3}, 6},
      {"QLinearSigmoid", "Sigmoid", {0}, 3},
      {"QLinearLeakyRelu", "LeakyRelu", {0}, 3},
      {"QLinearAveragePool", "AveragePool", {0}, 3},
      {"QLinearGlobalAveragePool", "GlobalAveragePool", {0}, 3},
      {"QLinearConcat", "Concat", {}, 0, true},
  };
  if (n.domain != "com.microsoft")
    return nullptr;
  for (const QOperatorLayout &l : layouts)
    if (n.op_type == l.op)
      return &l;
  return nullptr;
}

// A zero point input, or a new zero of `like`'s type (u8 when unknown): an
// absent y zero point means 0 of the operands' type, which Q needs spelled out.
std::string zero_point(LoweringContext &cx, const Node &n, size_t k, const std::string &like) {
  if (n.has_input(k))
    return n.inputs[k];
  const Tensor *t = like.empty() ? nullptr : cx.g.initializer(like);
  Tensor z(t ? t->dtype() : DType::u8, {});
  std::string name = cx.g.unique_name(n.name + "_zero_point");
  cx.g.initializers[name] = std::move(z);
  return name;
}

Node make(const std::string &name, const char *op, std::vector<std::string> in, std::string out) {
  Node n;
  n.name = name;
  n.op_type = op;
  n.inputs = std::move(in);
  n.outputs = {std::move(out)};
  return n;
}

bool expand_qoperator(LoweringContext &cx, size_t i) {
  const Node n = cx.g.nodes[i];
  const QOperatorLayout *l = layout_of(n);
  if (!l || n.outputs.size() != 1 || n.attr_int("channels_last", 0) != 0)
    return false; // NHWC pooling has no fp32 form here: the node stays (and is reported)
  std::vector<size_t> operands = l->operands;
  if (l->variadic)
    for (size_t k = 2; k + 2 < n.inputs.size() + 1; k += 3)
      operands.push_back(k);
  std::vector<Node> added;
  Node op = make(n.name, l->fp32_op, {}, cx.g.unique_name(n.outputs[0] + "_fp32"));
  for (const auto &[key, value] : n.attrs)
    if (key != "channels_last")
      op.attrs[key] = value;
  std::string first_zp;
  for (size_t k : operands) {
    if (!n.has_input(k) || !n.has_input(k + 1))
      return false;
    std::string zp = zero_point(cx, n, k + 2, "");
    first_zp = first_zp.empty() ? zp : first_zp;
    std::string f = cx.g.unique_name(n.inputs[k] + "_dq");
    added.push_back(make(cx.g.unique_name(n.name + "_dq"), "DequantizeLinear",
                         {n.inputs[k], n.inputs[k + 1], zp}, f));
    op.inputs.push_back(f);
  }
  const size_t ys = l->variadic ? 0 : l->y_scale;
  if (!n.has_input(ys) || operands.empty())
    return false;
  Node q = make(cx.g.unique_name(n.name + "_q"), "QuantizeLinear",
                {op.outputs[0], n.inputs[ys], zero_point(cx, n, ys + 1, first_zp)}, n.outputs[0]);
  added.push_back(std::move(op));
  cx.replace({i}, std::move(q));
  for (Node &a : added) // lower_qdq sorts the graph after pass 0
    cx.g.nodes.push_back(std::move(a));
  cx.refresh();
  return true;
}

} // namespace

void register_qoperator_rules(LoweringRegistry &r) {
  r.add(LoweringRule{"qoperator", 0, expand_qoperator});
  for (const char *op : {"QLinearAdd", "QLinearMul", "QLinearSigmoid", "QLinearLeakyRelu",
                         "QLinearConcat", "QLinearAveragePool", "QLinearGlobalAveragePool"})
    r.add(OpDescriptor(fmt::format("com.microsoft:{}", op), std::nullopt, {"qoperator"}));
}

} // namespace qtune::quant
