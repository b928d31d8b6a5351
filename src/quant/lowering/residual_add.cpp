// residual_add: QConv -> Q -> DQ -> Add(DQ(s)) [-> activation] -> Q, the form
// quantize_graph writes for a residual sum (the Add is an int8 op of its own):
// the sum and the Add's output parameters move into the QConv, which then
// requantises once instead of twice. Needs the two operands' shapes known and
// equal (value_info), as the sum post-op reads the addend in the output's shape.
// Also the descriptors of the elementwise ops (an Add that cannot fold and
// every Mul become 256x256 tables through the lut rule, lowering/lut.cpp).
#include <algorithm>

#include "quant/lowering/rule.h"
#include "runtime/kernels/qconv.h"

namespace qtune::quant {

namespace {

// The unfolded graph saturates the conv output to its int8 range before the
// Add. A Relu/Clip activation (or none) becomes a Clip that also does that;
// other activations stay as they are, so only a conv output beyond its
// calibrated range (which the unfolded graph would have clipped) differs.
void clip_to_int8_range(QConvParams &conv) {
  const bool u8 = conv.y.dtype == DType::u8;
  const float scale = conv.y.scale, zp = static_cast<float>(conv.y.zero_point);
  float lo = ((u8 ? 0.f : -128.f) - zp) * scale, hi = ((u8 ? 255.f : 127.f) - zp) * scale;
  const std::string &act = conv.activation.op;
  const std::vector<float> &p = conv.activation.params;
  if (act == "Relu")
    lo = std::max(lo, 0.f);
  else if (act == "Clip" && p.size() == 2)
    lo = std::max(lo, p[0]), hi = std::min(hi, p[1]);
  else if (!act.empty())
    return;
  conv.activation = {"Clip", {lo, std::max(lo, hi)}};
}

// The QConv (index) and DQ (index) behind Add operand `v`, when the QConv's
// int8 output is read only by that DQ and the DQ only by the Add `ai`, and
// the QConv has no sum or post activation yet.
std::optional<std::pair<size_t, size_t>> residual_conv(const LoweringContext &cx,
                                                       const std::string &v, size_t ai) {
  auto dq_i = cx.producer_index(v);
  if (!dq_i || cx.sole_consumer(v) != ai)
    return std::nullopt;
  const Node &dq = cx.g.nodes[*dq_i];
  if (dq.op_type != "DequantizeLinear" || !dq.domain.empty())
    return std::nullopt;
  auto conv_i = cx.producer_index(dq.inputs[0]);
  if (!conv_i || cx.sole_consumer(dq.inputs[0]) != *dq_i)
    return std::nullopt;
  const Node &node = cx.g.nodes[*conv_i];
  if (node.op_type != "QConv" || node.domain != "qtune")
    return std::nullopt;
  QConvParams conv = QConvParams::from(node);
  // A channel_scale multiplies after the activation: a sum cannot follow it.
  if (conv.sum || !conv.post_activation.op.empty() || conv.y.dtype == DType::f32 ||
      !conv.channel_scale.empty())
    return std::nullopt;
  auto p = cx.per_tensor_params(dq);
  if (!p || p->scale != conv.y.scale || p->zero_point != conv.y.zero_point)
    return std::nullopt;
  return std::make_pair(*conv_i, *dq_i);
}

bool fold_add_into_qconv(LoweringContext &cx, size_t ai) {
  const Node add = cx.g.nodes[ai];
  if (add.num_inputs() != 2 || add.inputs[0] == add.inputs[1])
    return false;
  std::string out = add.outputs.at(0);
  std::vector<size_t> matched{ai};
  std::optional<Activation> post_act = cx.take_activation(matched, out);
  auto yq = cx.quantize_after(out);
  if (!yq || !cx.same_known_shape(add.inputs[0], add.inputs[1]))
    return false;
  for (size_t side = 0; side < 2; ++side) {
    auto conv = residual_conv(cx, add.inputs[side], ai);
    const Node *s_dq = cx.producer(add.inputs[1 - side], "DequantizeLinear");
    auto sp = s_dq ? cx.per_tensor_params(*s_dq) : std::nullopt;
    if (!conv || !sp)
      continue;
    Node q = cx.g.nodes[conv->first];
    QConvParams p = QConvParams::from(q);
    clip_to_int8_range(p);
    p.sum = true;
    p.sum_q = {sp->scale, sp->zero_point};
    if (post_act)
      p.post_activation = {post_act->first, post_act->second};
    p.y = LoweringContext::output_params(yq->second);
    p.write(q);
    q.inputs.resize(3);
    q.inputs.push_back(s_dq->inputs[0]);
    q.outputs = {cx.g.nodes[yq->first].outputs.at(0)};
    matched.insert(matched.end(), {conv->first, conv->second, yq->first});
    cx.replace(matched, std::move(q));
    return true;
  }
  return false;
}

// Both inputs are int8 activations, the output has its own scale.
OpDescriptor elementwise(const char *op, std::vector<std::string> rules) {
  OpDescriptor d(op, QuantRole::elementwise, std::move(rules));
  d.all_inputs = true;
  return d;
}

} // namespace

void register_residual_add_rules(LoweringRegistry &r) {
  r.add(LoweringRule{"residual_add", 1, fold_add_into_qconv});
  r.add(elementwise("Add", {"residual_add"}));
  r.add(elementwise("Mul", {})); // the lut rule (anchored at its Q) makes it int8
}

} // namespace qtune::quant
