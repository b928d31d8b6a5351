// Conv followed by a per-output-channel constant Add / Sub / Mul / Div (what
// TensorFlow graphs leave after BiasAdd, a batch norm decomposed into
// Rsqrt/Mul/Sub, and the layout pass) folds into the conv's weights and bias:
//   conv(x) + c -> b' = b + c          conv(x) - c -> b' = b - c
//   conv(x) * c -> W' = W*c, b' = b*c  conv(x) / c -> W' = W/c, b' = b/c
// The constant must broadcast per channel against the NCHW output: [OC],
// [OC,1,1], [1,OC,1,1] or a scalar; it is a constant, so it may come first
// for Add and Mul.
#include <algorithm>

#include "ir/passes/pass.h"
#include "ir/passes/pass_util.h"

namespace qtune {

namespace {

// Per-channel values of constant `c` against a conv output of rank `rank`
// with `oc` channels, or nullopt when it is not per channel.
std::optional<std::vector<float>> per_channel(const Tensor &c, int rank, int64_t oc) {
  if (c.dtype() != DType::f32 || c.rank() > rank)
    return std::nullopt;
  Shape padded(rank - c.rank(), 1);
  padded.insert(padded.end(), c.shape().begin(), c.shape().end());
  for (int d = 0; d < rank; ++d)
    if (padded[d] != 1 && !(d == 1 && padded[d] == oc))
      return std::nullopt;
  std::vector<float> v(oc);
  for (int64_t i = 0; i < oc; ++i)
    v[i] = c.data<float>()[c.numel() == 1 ? 0 : i];
  return v;
}

enum class Op { add, sub, mul, div };

std::optional<Op> affine_op(const Node &n, const std::string &conv_out) {
  if (!n.domain.empty() || n.num_inputs() != 2 || n.outputs.size() != 1)
    return std::nullopt;
  bool conv_first = n.inputs[0] == conv_out;
  if (n.inputs[0] == n.inputs[1])
    return std::nullopt;
  if (n.op_type == "Add")
    return Op::add;
  if (n.op_type == "Mul")
    return Op::mul;
  if (n.op_type == "Sub" && conv_first)
    return Op::sub;
  if (n.op_type == "Div" && conv_first)
    return Op::div;
  return std::nullopt;
}

bool fold(Graph &g, Node &conv, Op op, const std::vector<float> &v) {
  const Tensor *w = g.initializer(conv.inputs.at(1));
  const int64_t oc = static_cast<int64_t>(v.size());
  if (!w || w->dtype() != DType::f32 || w->rank() < 3 || w->dim(0) != oc)
    return false;
  const Tensor *b = conv.has_input(2) ? g.initializer(conv.inputs[2]) : nullptr;
  if (conv.has_input(2) && (!b || b->dtype() != DType::f32 || b->numel() != oc))
    return false;
  Tensor nb(DType::f32, {oc});
  for (int64_t i = 0; i < oc; ++i)
    nb.data<float>()[i] = b ? b->data<float>()[i] : 0.0f;
  bool scales = op == Op::mul || op == Op::div;
  if (op == Op::div && std::find(v.begin(), v.end(), 0.0f) != v.end())
    return false; // x/0 is inf, (W/0)*x need not be
  for (int64_t i = 0; i < oc; ++i) {
    float &x = nb.data<float>()[i];
    x = op == Op::add ? x + v[i] : op == Op::sub ? x - v[i] : op == Op::mul ? x * v[i] : x / v[i];
  }
  conv.inputs.resize(3);
  if (scales) {
    Tensor nw = w->clone();
    const int64_t per_oc = w->numel() / oc;
    for (int64_t o = 0; o < oc; ++o)
      for (int64_t k = 0; k < per_oc; ++k) {
        float &x = nw.data<float>()[o * per_oc + k];
        x = op == Op::mul ? x * v[o] : x / v[o];
      }
    conv.inputs[1] = passes::add_initializer(g, conv.inputs[1] + "_scaled", std::move(nw));
  }
  conv.inputs[2] = passes::add_initializer(g, conv.name + "_bias_folded", std::move(nb));
  return true;
}

} // namespace

bool fold_conv_affine(Graph &g) {
  auto consumers = g.consumers();
  std::vector<bool> dead(g.nodes.size(), false);
  bool changed = false;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node &conv = g.nodes[i];
    if (dead[i] || conv.op_type != "Conv" || !conv.domain.empty() || conv.outputs.size() != 1)
      continue;
    // Chains (Mul then Add) fold one link per iteration of this loop.
    for (;;) {
      int c = passes::single_consumer(g, consumers, conv.outputs[0]);
      if (c < 0 || dead[c])
        break;
      const Node &n = g.nodes[c];
      auto op = affine_op(n, conv.outputs[0]);
      if (!op)
        break;
      const std::string &other = n.inputs[0] == conv.outputs[0] ? n.inputs[1] : n.inputs[0];
      const Tensor *k = g.initializer(other);
      const Tensor *w = g.initializer(conv.inputs.at(1));
      if (!k || !w || w->rank() < 3)
        break;
      auto v = per_channel(*k, w->rank(), w->dim(0));
      if (!v || !fold(g, conv, *op, *v))
        break;
      conv.outputs[0] = n.outputs[0];
      dead[c] = true;
      changed = true;
    }
  }
  passes::erase_nodes(g, dead);
  return changed;
}

} // namespace qtune
