// conv: DQ(x) -> Conv|FusedConv(DQ(w), b) [-> BatchNormalization] [-> activation]
// [-> Add(DQ(s)) [-> activation] | -> Mul(per-channel constant)] [-> Q]  =>
// qtune:QConv. The Mul is recipe activation_equalization's. Without a trailing Q
// the QConv writes f32; the Add is only taken with a Q after it (the sum
// post-op needs an int8 output of the addend's element size).
#include <cmath>

#include "quant/lowering/rule.h"
#include "runtime/kernels/qconv.h"

namespace qtune::quant {

namespace {

// A BatchNormalization after an int8 conv (a QDQ model quantized before BN
// folding) is a per-channel affine map y = a * conv + shift. With symmetric
// weights, folding a into the per-channel weight scales is exactly the
// per-channel quantization of the folded weights, so the BN costs nothing.
// Sets `w_scales` per channel and q's bias input; false (nothing changed)
// unless `bn` is an inference BN with constant [channels] parameters.
bool fold_batchnorm(LoweringContext &cx, const Node &bn, int64_t channels,
                    std::vector<float> &w_scales, Node &q) {
  if (bn.op_type != "BatchNormalization" || !bn.domain.empty() ||
      bn.attr_int("training_mode", 0) != 0 || bn.num_inputs() != 5)
    return false;
  for (size_t k = 1; k < bn.outputs.size(); ++k)
    if (!bn.outputs[k].empty())
      return false;
  std::vector<std::vector<float>> p; // gamma, beta, mean, var
  for (size_t k = 1; k <= 4; ++k) {
    const Tensor *t = cx.g.initializer(bn.inputs[k]);
    if (!t || t->dtype() != DType::f32 || t->numel() != channels)
      return false;
    p.push_back(t->to_f32_vector());
  }
  float eps = bn.attr_float("epsilon", 1e-5f);
  std::vector<float> a(channels), shift(channels);
  for (int64_t c = 0; c < channels; ++c) {
    a[c] = p[0][c] / std::sqrt(p[3][c] + eps);
    shift[c] = p[1][c] - p[2][c] * a[c];
    if (!std::isfinite(a[c]) || !std::isfinite(shift[c]) || a[c] == 0)
      return false; // a zero scale cannot carry a bias through oneDNN's output scales
  }
  const Tensor *old_bias = q.inputs[2].empty() ? nullptr : cx.g.initializer(q.inputs[2]);
  Tensor bias(DType::f32, {channels});
  std::vector<float> scales(channels);
  for (int64_t c = 0; c < channels; ++c) {
    float b = old_bias ? old_bias->data<float>()[c] : 0.f;
    bias.data<float>()[c] = a[c] * b + shift[c];
    scales[c] = w_scales[w_scales.size() == 1 ? 0 : c] * a[c];
  }
  w_scales = std::move(scales);
  std::string name = cx.g.unique_name(q.name + "_bn_bias");
  cx.g.initializers[name] = std::move(bias);
  q.inputs[2] = name;
  return true;
}

// The Add(DQ(s)) [-> activation] -> Q after the conv output `out`: adds the
// sum to q and the matched nodes to `matched`; false when there is none.
bool take_sum(LoweringContext &cx, Node &q, QConvParams &p, std::vector<size_t> &matched,
              std::optional<size_t> next, const std::string &out) {
  if (!next || cx.g.nodes[*next].op_type != "Add" || !cx.g.nodes[*next].domain.empty())
    return false;
  const Node &a = cx.g.nodes[*next];
  const std::string &other = a.inputs.at(0) == out ? a.inputs.at(1) : a.inputs.at(0);
  const Node *s_dq = cx.producer(other, "DequantizeLinear");
  std::optional<QParams> sum_params;
  if (s_dq && other != out)
    sum_params = cx.per_tensor_params(*s_dq);
  if (!sum_params)
    return false;
  std::vector<size_t> tail{*next}; // nodes matched after the conv
  std::string tail_out = a.outputs.at(0);
  std::optional<Activation> post_act = cx.take_activation(tail, tail_out);
  auto yq = cx.quantize_after(tail_out);
  if (!yq)
    return false;
  matched.insert(matched.end(), tail.begin(), tail.end());
  p.sum = true;
  p.sum_q = {sum_params->scale, sum_params->zero_point};
  q.inputs.push_back(s_dq->inputs[0]);
  if (post_act)
    p.post_activation = {post_act->first, post_act->second};
  q.outputs = {cx.take_output(matched, tail_out, yq, p.y)};
  return true;
}

// Mul(out, f) with f an f32 constant of one factor per output channel
// ([1, C, 1, 1] or [C, 1, 1]) after the conv: taken as QConv's channel_scale.
bool take_channel_scale(LoweringContext &cx, QConvParams &p, std::vector<size_t> &matched,
                        std::optional<size_t> next, std::string &out, int64_t channels) {
  if (!next)
    return false;
  const Node &m = cx.g.nodes[*next];
  if (m.op_type != "Mul" || !m.domain.empty() || m.inputs.size() != 2)
    return false;
  const std::string &other = m.inputs[0] == out ? m.inputs[1] : m.inputs[0];
  const Tensor *f = other != out ? cx.g.initializer(other) : nullptr;
  if (!f || f->dtype() != DType::f32 || f->numel() != channels || f->rank() < 3 || f->rank() > 4 ||
      f->dim(f->rank() - 3) != channels)
    return false;
  p.channel_scale = f->to_f32_vector();
  matched.push_back(*next);
  out = m.outputs.at(0);
  return true;
}

bool lower_conv(LoweringContext &cx, size_t ci) {
  const Node conv = cx.g.nodes[ci];
  const Node *x_dq = cx.producer(conv.inputs.at(0), "DequantizeLinear");
  const Node *w_dq = conv.has_input(1) ? cx.producer(conv.inputs[1], "DequantizeLinear") : nullptr;
  if (!x_dq || !w_dq)
    return false;
  auto xp = cx.per_tensor_params(*x_dq);
  std::vector<float> w_scales = cx.weight_scales(*w_dq, 0);
  const Tensor *w = cx.g.initializer(w_dq->inputs[0]);
  if (!xp || w_scales.empty() || w->rank() != 4)
    return false;
  if (conv.op_type == "FusedConv" && conv.attr_int("sum", 0) != 0)
    return false; // a pre-fused f32 sum has no int8 scale to use
  auto bias = cx.real_bias(conv, 2);
  if (!bias)
    return false;

  Node q;
  q.name = conv.name;
  q.op_type = "QConv";
  q.domain = "qtune";
  for (const char *a : {"strides", "pads", "dilations", "group", "auto_pad", "kernel_shape"})
    if (conv.has_attr(a))
      q.attrs[a] = conv.attrs.at(a);
  QConvParams p;
  p.x = {xp->scale, xp->zero_point};
  p.activation = int8::FusedActivation::from(conv, "activation");
  q.inputs = {x_dq->inputs[0], w_dq->inputs[0], *bias};

  std::vector<size_t> matched{ci};
  std::string out = conv.outputs.at(0);
  // Walk forward: [BatchNormalization] [activation] [Add(DQ) [post activation]] [Q].
  auto next = cx.sole_consumer(out);
  if (next && p.activation.op.empty() &&
      fold_batchnorm(cx, cx.g.nodes[*next], w->dim(0), w_scales, q)) {
    matched.push_back(*next);
    out = cx.g.nodes[*next].outputs.at(0);
    next = cx.sole_consumer(out);
  }
  p.w_scales = std::move(w_scales);
  if (p.activation.op.empty()) {
    if (auto act = cx.take_activation(matched, out)) {
      p.activation = {act->first, act->second};
      next = cx.sole_consumer(out);
    }
  }
  if (take_channel_scale(cx, p, matched, next, out, w->dim(0)) ||
      !take_sum(cx, q, p, matched, next, out))
    q.outputs = {cx.take_output(matched, out, cx.quantize_after(out), p.y)};
  p.write(q);
  cx.replace(matched, std::move(q));
  return true;
}

const char *conv_unsupported(const Node &n) {
  return n.has_input(3) ? "fused residual sum" : nullptr;
}

} // namespace

// Output channels on weight axis 0, bias input 2, both for Conv and FusedConv.
static OpDescriptor conv_descriptor(const char *op) {
  OpDescriptor d(op, QuantRole::compute, {"conv"});
  d.weight = 1;
  d.bias = 2;
  d.conv_bias_correction = true;
  d.unsupported = conv_unsupported;
  return d;
}

void register_conv_rules(LoweringRegistry &r) {
  r.add(LoweringRule{"conv", 1, lower_conv});
  r.add(conv_descriptor("Conv"));
  r.add(conv_descriptor("qtune:FusedConv"));
}

} // namespace qtune::quant
