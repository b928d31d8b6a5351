// BatchNormalization after a Conv or Gemm (with constant weights, the conv
// output read by nothing else) folds into the weights and bias:
//   s = gamma / sqrt(var + eps);  W' = W * s (per output channel);
//   b' = (b - mean) * s + beta.
#include <cmath>

#include "ir/passes/pass.h"
#include "ir/passes/pass_util.h"

namespace qtune {

namespace {

struct BnParams {
  std::vector<float> scale, shift; // y = x * scale + shift
};

std::optional<BnParams> constant_bn(const Graph &g, const Node &bn) {
  if (bn.num_inputs() != 5 || bn.outputs.size() != 1 || bn.attr_int("training_mode", 0))
    return {};
  const Tensor *t[4];
  for (int k = 0; k < 4; ++k) {
    t[k] = g.initializer(bn.inputs[k + 1]);
    if (!t[k] || t[k]->rank() != 1 || t[k]->dtype() != DType::f32)
      return {};
  }
  int64_t c = t[0]->numel();
  for (int k = 1; k < 4; ++k)
    if (t[k]->numel() != c)
      return {};
  float eps = bn.attr_float("epsilon", 1e-5f);
  BnParams p;
  for (int64_t i = 0; i < c; ++i) {
    float s = t[0]->data<float>()[i] / std::sqrt(t[3]->data<float>()[i] + eps);
    p.scale.push_back(s);
    p.shift.push_back(t[1]->data<float>()[i] - t[2]->data<float>()[i] * s);
  }
  return p;
}

// New bias b' = b * scale + shift (b absent: 0).
Tensor folded_bias(const Tensor *bias, const BnParams &p) {
  Tensor out(DType::f32, {static_cast<int64_t>(p.scale.size())});
  for (size_t i = 0; i < p.scale.size(); ++i) {
    float b = bias ? bias->data<float>()[bias->numel() == 1 ? 0 : i] : 0.0f;
    out.data<float>()[i] = b * p.scale[i] + p.shift[i];
  }
  return out;
}

// Conv W [OC, IC/g, k...]: scale row oc.
bool fold_into_conv(Graph &g, Node &conv, const BnParams &p) {
  const Tensor *w = g.initializer(conv.inputs.at(1));
  const Tensor *b = conv.has_input(2) ? g.initializer(conv.inputs[2]) : nullptr;
  if (!w || w->dtype() != DType::f32 || w->rank() < 3 || w->dim(0) != (int64_t)p.scale.size())
    return false;
  if (conv.has_input(2) && (!b || b->dtype() != DType::f32 || b->numel() != w->dim(0)))
    return false;
  Tensor nw = w->clone();
  int64_t per_oc = w->numel() / w->dim(0);
  for (int64_t oc = 0; oc < w->dim(0); ++oc)
    for (int64_t k = 0; k < per_oc; ++k)
      nw.data<float>()[oc * per_oc + k] *= p.scale[oc];
  conv.inputs.resize(3);
  conv.inputs[1] = passes::add_initializer(g, conv.inputs[1] + "_bnfold", std::move(nw));
  conv.inputs[2] = passes::add_initializer(g, conv.name + "_bias_bnfold", folded_bias(b, p));
  return true;
}

// Gemm Y = alpha*A*B + beta*C with output channels N: B [K,N] (or [N,K] if transB).
bool fold_into_gemm(Graph &g, Node &gemm, const BnParams &p) {
  const Tensor *w = g.initializer(gemm.inputs.at(1));
  int64_t n = static_cast<int64_t>(p.scale.size());
  bool trans_b = gemm.attr_int("transB", 0) != 0;
  if (!w || w->dtype() != DType::f32 || w->rank() != 2 || w->dim(trans_b ? 0 : 1) != n)
    return false;
  const Tensor *c = gemm.has_input(2) ? g.initializer(gemm.inputs[2]) : nullptr;
  if (gemm.has_input(2) && (!c || c->dtype() != DType::f32 || (c->numel() != n && c->numel() != 1)))
    return false;
  float alpha = gemm.attr_float("alpha", 1.0f), beta = gemm.attr_float("beta", 1.0f);
  Tensor nw = w->clone();
  for (int64_t r = 0; r < w->dim(0); ++r)
    for (int64_t k = 0; k < w->dim(1); ++k)
      nw.data<float>()[r * w->dim(1) + k] *= alpha * p.scale[trans_b ? r : k];
  Tensor bias = folded_bias(nullptr, p);
  if (c)
    for (int64_t i = 0; i < n; ++i)
      bias.data<float>()[i] += beta * c->data<float>()[c->numel() == 1 ? 0 : i] * p.scale[i];
  gemm.inputs.resize(3);
  gemm.inputs[1] = passes::add_initializer(g, gemm.inputs[1] + "_bnfold", std::move(nw));
  gemm.inputs[2] = passes::add_initializer(g, gemm.name + "_bias_bnfold", std::move(bias));
  gemm.attrs["alpha"] = 1.0f;
  gemm.attrs["beta"] = 1.0f;
  return true;
}

} // namespace

bool fold_batchnorm(Graph &g) {
  auto producers = g.producers();
  auto consumers = g.consumers();
  std::vector<bool> dead(g.nodes.size(), false);
  bool changed = false;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node &bn = g.nodes[i];
    if (bn.op_type != "BatchNormalization" || !bn.domain.empty())
      continue;
    auto pit = producers.find(bn.inputs.at(0));
    if (pit == producers.end())
      continue;
    Node &prev = g.nodes[pit->second];
    bool conv = prev.op_type == "Conv", gemm = prev.op_type == "Gemm";
    if (!prev.domain.empty() || (!conv && !gemm) || prev.outputs.size() != 1)
      continue;
    if (passes::single_consumer(g, consumers, prev.outputs[0]) != static_cast<int>(i))
      continue;
    auto p = constant_bn(g, bn);
    if (!p)
      continue;
    if (!(conv ? fold_into_conv(g, prev, *p) : fold_into_gemm(g, prev, *p)))
      continue;
    prev.outputs[0] = bn.outputs[0];
    dead[i] = true;
    changed = true;
  }
  passes::erase_nodes(g, dead);
  return changed;
}

} // namespace qtune
