#include "quant/lowering/context.h"

#include <algorithm>

#include "ir/passes/fusable_activation.h"

namespace qtune::quant {

void LoweringContext::refresh() {
  producers_ = g.producers();
  consumers_ = g.consumers();
}

const Node *LoweringContext::producer(const std::string &v, const char *op) const {
  auto it = producers_.find(v);
  if (it == producers_.end())
    return nullptr;
  const Node &n = g.nodes[it->second];
  return n.op_type == op && n.domain.empty() ? &n : nullptr;
}

std::optional<size_t> LoweringContext::producer_index(const std::string &v) const {
  auto it = producers_.find(v);
  return it == producers_.end() ? std::nullopt : std::optional<size_t>(it->second);
}

const std::vector<size_t> *LoweringContext::consumers(const std::string &v) const {
  auto it = consumers_.find(v);
  return it == consumers_.end() ? nullptr : &it->second;
}

std::optional<size_t> LoweringContext::sole_consumer(const std::string &v) const {
  auto it = consumers_.find(v);
  if (it == consumers_.end() || it->second.size() != 1 || g.is_graph_output(v))
    return std::nullopt;
  return it->second[0];
}

std::optional<QParams> LoweringContext::per_tensor_params(const Node &n) const {
  const Tensor *s = g.initializer(n.inputs.at(1));
  const Tensor *z = n.has_input(2) ? g.initializer(n.inputs[2]) : nullptr;
  if (!s || s->numel() != 1 || (n.has_input(2) && (!z || z->numel() != 1)))
    return std::nullopt;
  QParams p;
  p.scale = static_cast<float>(s->get_f64(0));
  p.zero_point = z ? static_cast<int32_t>(z->get_i64(0)) : 0;
  p.dtype = z ? z->dtype() : DType::u8;
  if (p.dtype != DType::u8 && p.dtype != DType::i8)
    return std::nullopt;
  return p;
}

bool LoweringContext::all_zero(const Tensor &t) {
  for (int64_t i = 0; i < t.numel(); ++i)
    if (t.get_i64(i) != 0)
      return false;
  return true;
}

std::vector<float> LoweringContext::weight_scales(const Node &dq, int64_t axis) const {
  const Tensor *w = g.initializer(dq.inputs[0]);
  const Tensor *s = g.initializer(dq.inputs.at(1));
  if (!w || w->dtype() != DType::i8 || !s)
    return {};
  if (dq.has_input(2)) {
    const Tensor *z = g.initializer(dq.inputs[2]);
    if (!z || !all_zero(*z))
      return {};
  }
  int64_t dq_axis = dq.attr_int("axis", 1);
  if (dq_axis < 0)
    dq_axis += w->rank();
  if (s->numel() != 1 && (dq_axis != axis || s->numel() != w->dim(axis)))
    return {};
  return s->to_f32_vector();
}

std::optional<std::pair<size_t, QParams>>
LoweringContext::quantize_after(const std::string &v) const {
  auto c = sole_consumer(v);
  if (!c || g.nodes[*c].op_type != "QuantizeLinear" || !g.nodes[*c].domain.empty())
    return std::nullopt;
  auto p = per_tensor_params(g.nodes[*c]);
  if (!p)
    return std::nullopt;
  return std::make_pair(*c, *p);
}

std::optional<std::pair<size_t, QParams>>
LoweringContext::quantize_beside_shapes(const std::string &v, std::vector<size_t> &shapes) {
  auto it = consumers_.find(v);
  if (it == consumers_.end() || g.is_graph_output(v))
    return std::nullopt;
  std::optional<size_t> q;
  shapes.clear();
  for (size_t c : it->second) {
    const Node &n = g.nodes[c];
    if (!n.domain.empty())
      return std::nullopt;
    if (n.op_type == "Shape")
      shapes.push_back(c);
    else if (n.op_type == "QuantizeLinear" && !q && n.inputs[0] == v)
      q = c;
    else
      return std::nullopt;
  }
  auto p = q ? per_tensor_params(g.nodes[*q]) : std::nullopt;
  if (!p)
    return std::nullopt;
  return std::make_pair(*q, *p);
}

std::optional<std::string> LoweringContext::real_bias(const Node &op, size_t index) {
  if (!op.has_input(index))
    return std::string();
  const std::string &b = op.inputs[index];
  if (const Tensor *t = g.initializer(b)) {
    if (t->dtype() != DType::f32)
      return std::nullopt;
    return b;
  }
  const Node *dq = producer(b, "DequantizeLinear");
  if (!dq)
    return std::nullopt;
  const Tensor *q = g.initializer(dq->inputs[0]);
  const Tensor *s = g.initializer(dq->inputs.at(1));
  const Tensor *z = dq->has_input(2) ? g.initializer(dq->inputs[2]) : nullptr;
  if (!q || q->dtype() != DType::i32 || q->rank() != 1 || !s || (dq->has_input(2) && !z))
    return std::nullopt;
  if (s->numel() != 1 && s->numel() != q->numel())
    return std::nullopt;
  Tensor real(DType::f32, q->shape());
  for (int64_t i = 0; i < q->numel(); ++i) {
    int64_t c = s->numel() == 1 ? 0 : i;
    int64_t zp = z ? z->get_i64(z->numel() == 1 ? 0 : i) : 0;
    real.data<float>()[i] = static_cast<float>((q->get_i64(i) - zp) * s->get_f64(c));
  }
  std::string name = g.unique_name(b + "_real");
  g.initializers[name] = std::move(real);
  return name;
}

// The FP32 fusion pass's matcher (ir/passes/fusable_activation.h): the int8
// kernels take the same activations with the same parameters.
std::optional<Activation> LoweringContext::activation_of(const Node &n) const {
  auto a = fusable_activation(g, n);
  if (!a)
    return std::nullopt;
  return std::make_pair(a->name, a->params);
}

std::optional<Activation> LoweringContext::take_activation(std::vector<size_t> &matched,
                                                           std::string &out) const {
  auto next = sole_consumer(out);
  auto act = next ? activation_of(g.nodes[*next]) : std::nullopt;
  if (act) {
    matched.push_back(*next);
    out = g.nodes[*next].outputs.at(0);
  }
  return act;
}

const ValueInfo *LoweringContext::value_info(const std::string &v) const {
  if (auto it = g.value_info.find(v); it != g.value_info.end())
    return &it->second;
  for (const ValueInfo &in : g.inputs)
    if (in.name == v)
      return &in;
  return nullptr;
}

// Equal known sizes, or the same named symbolic dims.
bool LoweringContext::same_known_shape(const std::string &a, const std::string &b) const {
  const ValueInfo *va = value_info(a), *vb = value_info(b);
  if (!va || !vb || !va->has_shape || !vb->has_shape || va->dims.size() != vb->dims.size())
    return false;
  for (size_t i = 0; i < va->dims.size(); ++i) {
    const Dim &x = va->dims[i], &y = vb->dims[i];
    bool same = x.known() ? x.value == y.value : !x.symbol.empty() && x.symbol == y.symbol;
    if (!same)
      return false;
  }
  return true;
}

std::string LoweringContext::take_output(std::vector<size_t> &matched, const std::string &out,
                                         const std::optional<std::pair<size_t, QParams>> &yq,
                                         int8::OutputParams &y) const {
  if (!yq) {
    y = int8::OutputParams{}; // f32
    return out;
  }
  matched.push_back(yq->first);
  y = output_params(yq->second);
  return g.nodes[yq->first].outputs.at(0);
}

int8::OutputParams LoweringContext::output_params(const QParams &p) {
  return {p.dtype, p.scale, p.zero_point};
}

Node LoweringContext::dequantize_like(const Node &like, const std::string &name_hint,
                                      const std::string &output, std::string &input) {
  Node dq;
  dq.name = g.unique_name(name_hint + "_DequantizeLinear");
  dq.op_type = "DequantizeLinear";
  input = g.unique_name(output + "_int8");
  dq.inputs = {input, like.inputs.at(1)};
  if (like.has_input(2))
    dq.inputs.push_back(like.inputs[2]);
  dq.outputs = {output};
  return dq;
}

void LoweringContext::replace(const std::vector<size_t> &matched, Node node) {
  size_t last = *std::max_element(matched.begin(), matched.end());
  for (size_t i : matched) {
    removed_inputs_.insert(g.nodes[i].inputs.begin(), g.nodes[i].inputs.end());
    g.nodes[i] = Node{};
    g.nodes[i].op_type = ""; // removed by remove_dead
  }
  g.nodes[last] = std::move(node);
  refresh();
}

int LoweringContext::remove_dead() {
  int removed = 0;
  bool changed = true;
  while (changed) {
    changed = false;
    auto readers = g.consumers();
    std::vector<Node> kept;
    for (Node &n : g.nodes) {
      bool qdq =
          n.domain.empty() && (n.op_type == "DequantizeLinear" || n.op_type == "QuantizeLinear");
      bool unread = qdq && !readers.count(n.outputs.at(0)) && !g.is_graph_output(n.outputs.at(0));
      if (n.op_type.empty() || unread) {
        ++removed;
        removed_inputs_.insert(n.inputs.begin(), n.inputs.end());
        changed = changed || unread;
        continue;
      }
      kept.push_back(std::move(n));
    }
    g.nodes = std::move(kept);
  }
  // Initializers only the removed nodes read (weights, scales, zero points).
  std::set<std::string> used;
  for (const Node &n : g.nodes)
    for (const std::string &v : n.inputs)
      used.insert(v);
  for (const std::string &v : removed_inputs_)
    if (!used.count(v) && !g.is_graph_output(v))
      g.initializers.erase(v);
  refresh();
  return removed;
}

// Q/DQ nodes left with only initializer inputs (the weight DQ of an op no rule
// lowered, Q/DQ around a constant operand) would redo the same work on every
// run. Graph passes leave them alone because the rules need the patterns;
// after lowering nothing does.
int LoweringContext::fold_constant_qdq(const ConstantEvaluator &eval) {
  int folded = 0;
  bool changed = true;
  while (changed) {
    changed = false;
    std::vector<Node> kept;
    for (Node &n : g.nodes) {
      bool qdq =
          n.domain.empty() && (n.op_type == "QuantizeLinear" || n.op_type == "DequantizeLinear");
      std::vector<Tensor> in;
      for (const std::string &v : n.inputs) {
        const Tensor *t = v.empty() ? nullptr : g.initializer(v);
        if (!v.empty() && !t)
          qdq = false;
        in.push_back(t ? *t : Tensor());
      }
      if (!qdq || n.outputs.size() != 1 || g.is_initializer(n.outputs[0])) {
        kept.push_back(std::move(n));
        continue;
      }
      g.initializers[n.outputs[0]] = std::move(eval(n, in).at(0));
      removed_inputs_.insert(n.inputs.begin(), n.inputs.end());
      ++folded;
      changed = true;
    }
    g.nodes = std::move(kept);
  }
  if (folded)
    remove_dead(); // drops the folded nodes' now unread scales and sources
  return folded;
}

} // namespace qtune::quant
