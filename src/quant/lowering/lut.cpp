// lut: a region of elementwise ops whose only varying inputs are one or two
// int8 values, ending in a QuantizeLinear, becomes one qtune:QLut (a 256- or
// 65536-entry table). Anchored at the Q; walking back through fp32
// elementwise ops (Sigmoid, Mul, Add, Clip, ...), with scalar constants, to
// the DequantizeLinear nodes at its edge:
//
//   DQ(x) -> Sigmoid -> Q                          (QDQ Sigmoid)
//   Mul(DQ(x), DQ(Q(Sigmoid(DQ(x))))) -> Q          (SiLU as ORT's quantizer writes it)
//   Mul(DQ(x), Sigmoid(DQ(x))) -> Q                 (SiLU with fp32 inside)
//   Add(DQ(a), DQ(b)) [-> Relu] -> Q, Mul(DQ(a), DQ(b)) -> Q   (two sources: 256x256 table)
//   DQ(x) -> Q with other parameters                (requantisation)
//
// The table is the region itself evaluated (with the runtime's own kernels,
// the Q/DQ inside included) on every possible input byte, so the int8 graph
// computes exactly what the QDQ graph does. A Q/DQ pair or an earlier QLut
// inside the region is walked through when that removes a source (ORT writes
// SiLU with the Sigmoid quantized on its own). Nodes of the region that
// something outside still reads are kept.
//
// lut_f32: the same for a chain DQ(x) -> elementwise ops that ends in fp32
// readers instead of a Q (DQ -> Sigmoid -> the detection head's fp32 Concat):
// a 256-entry f32 table (anchored at the DQ, in pass 2).
//
// conv_table: a one-input int8 QLut whose input only an int8 QConv writes is
// folded into that QConv (its input 4), which then applies the table to its
// own output (pass 2, after the tables exist). It runs on every model: ORT's
// quantizer writes each SiLU after a conv that way, and so does recipe
// activation_table; the QConv maps its output in place where a second kernel
// read and wrote it again (README "Session 15").
//
// requant_concat: DQ(x_k) -> Concat -> Q where the inputs' parameters differ
// (ORT gives every Conv output its own scale): inputs whose parameters are not
// the output's are requantised by a 256-entry QLut, then the Concat runs on
// int8 values.
#include <algorithm>
#include <set>

#include "quant/lowering/rule.h"
#include "runtime/fold_constants.h"
#include "runtime/kernels/qconv.h"

namespace qtune::quant {

namespace {

constexpr size_t kMaxRegion = 32;

bool elementwise_op(const Node &n) {
  static const std::set<std::string> ops{"Sigmoid",   "Tanh",       "Relu",
                                         "LeakyRelu", "Clip",       "HardSigmoid",
                                         "HardSwish", "Mul",        "Add",
                                         "Sub",       "Div",        "Exp",
                                         "Neg",       "Abs",        "Erf",
                                         "Elu",       "Softplus",   "Identity",
                                         "Sqrt",      "Reciprocal", "Max",
                                         "Min",       "Selu",       "Celu",
                                         "Floor",     "Ceil",       "Round",
                                         "Sign",      "Log",        "Pow",
                                         "Mish",      "Softsign",   "ThresholdedRelu"};
  return n.domain.empty() && ops.count(n.op_type);
}

bool qlut1(const Node &n) {
  return n.domain == "qtune" && n.op_type == "QLut" && n.num_inputs() == 2;
}

class RegionWalk {
public:
  explicit RegionWalk(const LoweringContext &cx) : cx_(&cx) {}
  std::set<size_t> nodes;
  std::vector<std::string> leaves; // distinct int8 sources
  std::vector<DType> leaf_types;

  // v is an fp32 value of the region.
  bool float_value(const std::string &v) {
    if (const Tensor *t = cx_->g.initializer(v))
      return t->numel() == 1;
    auto p = cx_->producer_index(v);
    if (!p || nodes.size() >= kMaxRegion)
      return false;
    const Node &n = cx_->g.nodes[*p];
    if (nodes.count(*p))
      return true;
    if (n.domain.empty() && n.op_type == "DequantizeLinear") {
      if (!n.has_input(0) || !n.has_input(1))
        return false;
      auto q = cx_->per_tensor_params(n);
      if (!q || cx_->g.initializer(n.inputs[0]))
        return false;
      nodes.insert(*p);
      add_leaf(n.inputs[0], q->dtype);
      return true;
    }
    if (!elementwise_op(n) || n.outputs.size() != 1)
      return false;
    nodes.insert(*p);
    for (const std::string &in : n.inputs)
      if (!in.empty() && !float_value(in))
        return false;
    return true;
  }

  // Makes leaf `v` part of the region (its Q or QLut producer and what feeds
  // that) when every reader of v is in the region.
  bool expand(const std::string &v) {
    auto p = cx_->producer_index(v);
    const std::vector<size_t> *readers = cx_->consumers(v);
    if (!p || !readers || cx_->g.is_graph_output(v))
      return false;
    for (size_t r : *readers)
      if (!nodes.count(r))
        return false;
    const Node &n = cx_->g.nodes[*p];
    auto at = std::find(leaves.begin(), leaves.end(), v);
    if (at == leaves.end())
      return false;
    leaf_types.erase(leaf_types.begin() + (at - leaves.begin()));
    leaves.erase(at);
    nodes.insert(*p);
    if (n.domain.empty() && n.op_type == "QuantizeLinear")
      return n.has_input(0) && n.has_input(1) && cx_->per_tensor_params(n) &&
             float_value(n.inputs[0]);
    if (qlut1(n)) {
      const Tensor *t = cx_->g.initializer(n.inputs[1]);
      if (!t)
        return false;
      add_leaf(n.inputs[0], DType::undefined); // type from the DQ that reads it, if any
      return true;
    }
    return false;
  }

private:
  void add_leaf(const std::string &v, DType t) {
    auto it = std::find(leaves.begin(), leaves.end(), v);
    if (it == leaves.end()) {
      leaves.push_back(v);
      leaf_types.push_back(t);
    } else if (leaf_types[it - leaves.begin()] == DType::undefined) {
      leaf_types[it - leaves.begin()] = t;
    }
  }
  const LoweringContext *cx_;
};

// The region behind anchor `qi` (a Q, or for lut_f32 the last fp32 op): one
// or two sources, each walked through a Q/QLut when that leaves fewer sources.
std::optional<RegionWalk> find_region(const LoweringContext &cx, size_t qi) {
  RegionWalk w(cx);
  const Node &q = cx.g.nodes[qi];
  if (q.outputs.size() != 1 || q.outputs[0].empty())
    return std::nullopt;
  w.nodes.insert(qi);
  if (q.op_type == "QuantizeLinear") {
    if (!q.has_input(0) || !q.has_input(1) || !cx.per_tensor_params(q) ||
        !w.float_value(q.inputs[0]))
      return std::nullopt;
  } else {
    for (const std::string &in : q.inputs)
      if (!in.empty() && !w.float_value(in))
        return std::nullopt;
  }
  for (bool progress = true; progress && w.leaves.size() > 1;) {
    progress = false;
    for (const std::string &leaf : std::vector<std::string>(w.leaves)) {
      RegionWalk trial = w;
      if (trial.expand(leaf) && trial.leaves.size() < w.leaves.size()) {
        w = std::move(trial);
        progress = true;
        break;
      }
    }
  }
  if (w.leaves.empty() || w.leaves.size() > 2)
    return std::nullopt;
  for (DType t : w.leaf_types)
    if (t != DType::u8 && t != DType::i8)
      return std::nullopt;
  return w;
}

// Every byte value (one source) or byte pair (two: a-major) as tensors.
std::vector<Tensor> all_inputs(const std::vector<DType> &types) {
  const int64_t n = types.size() == 1 ? 256 : 65536;
  std::vector<Tensor> out;
  for (size_t k = 0; k < types.size(); ++k) {
    Tensor t(types[k], {n});
    uint8_t *p = static_cast<uint8_t *>(t.raw());
    for (int64_t i = 0; i < n; ++i)
      p[i] = static_cast<uint8_t>(types.size() == 1 || k == 1 ? i & 255 : i >> 8);
    out.push_back(std::move(t));
  }
  return out;
}

// Runs `nodes` (in graph order) on `values`; the table is `result`'s value.
std::optional<Tensor> evaluate(const Graph &g, const std::vector<size_t> &nodes,
                               std::unordered_map<std::string, Tensor> values,
                               const std::string &result) {
  const ConstantEvaluator eval = make_constant_evaluator();
  for (size_t i : nodes) {
    const Node &n = g.nodes[i];
    std::vector<Tensor> in;
    for (const std::string &v : n.inputs) {
      if (v.empty()) {
        in.emplace_back();
      } else if (auto it = values.find(v); it != values.end()) {
        in.push_back(it->second);
      } else if (const Tensor *t = g.initializer(v)) {
        in.push_back(*t);
      } else {
        return std::nullopt;
      }
    }
    std::vector<Tensor> out = eval(n, in);
    for (size_t k = 0; k < out.size() && k < n.outputs.size(); ++k)
      values[n.outputs[k]] = std::move(out[k]);
  }
  auto it = values.find(result);
  if (it == values.end())
    return std::nullopt;
  return it->second.reshaped({it->second.numel()});
}

// Region nodes something outside the region (or a graph output) still reads,
// and the region nodes those read in turn.
std::set<size_t> still_read(const LoweringContext &cx, const std::set<size_t> &region,
                            size_t anchor) {
  std::set<size_t> kept;
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i : region) {
      if (i == anchor || kept.count(i))
        continue;
      for (const std::string &v : cx.g.nodes[i].outputs) {
        const std::vector<size_t> *rs = cx.consumers(v);
        bool outside = cx.g.is_graph_output(v);
        for (size_t r : rs ? *rs : std::vector<size_t>{})
          outside = outside || !region.count(r) || kept.count(r);
        if (outside && kept.insert(i).second)
          changed = true;
      }
    }
  }
  return kept;
}

Node lut_node(LoweringContext &cx, const std::string &name, std::vector<std::string> inputs,
              Tensor table, const std::string &output) {
  Node lut;
  lut.name = cx.g.unique_name(name + "_lut");
  lut.op_type = "QLut";
  lut.domain = "qtune";
  std::string t = cx.g.unique_name(name + "_table");
  cx.g.initializers[t] = std::move(table);
  inputs.push_back(t);
  lut.inputs = std::move(inputs);
  lut.outputs = {output};
  return lut;
}

bool lower_lut(LoweringContext &cx, size_t qi) {
  auto w = find_region(cx, qi);
  if (!w)
    return false;
  const bool f32 = cx.g.nodes[qi].op_type != "QuantizeLinear";
  if (f32 && w->leaves.size() != 1)
    return false;
  std::vector<size_t> order(w->nodes.begin(), w->nodes.end()); // indices: graph order
  std::unordered_map<std::string, Tensor> values;
  std::vector<Tensor> bytes = all_inputs(w->leaf_types);
  for (size_t k = 0; k < w->leaves.size(); ++k)
    values[w->leaves[k]] = bytes[k];
  const Node q = cx.g.nodes[qi];
  std::optional<Tensor> table;
  try {
    table = evaluate(cx.g, order, std::move(values), q.outputs.at(0));
  } catch (const std::exception &) {
    return false; // an op the evaluator cannot run on these values: leave the region fp32
  }
  const DType want = table ? table->dtype() : DType::undefined;
  if (!table || (f32 ? want != DType::f32 : want != DType::u8 && want != DType::i8))
    return false;
  std::set<size_t> kept = still_read(cx, w->nodes, qi);
  std::vector<size_t> matched;
  for (size_t i : order)
    if (!kept.count(i))
      matched.push_back(i);
  Node lut = lut_node(cx, q.name, w->leaves, std::move(*table), q.outputs.at(0));
  if (f32)
    lut.attrs["f32_output"] = int64_t{1};
  cx.replace(matched, std::move(lut));
  return true;
}

// DQ(x) followed by a chain of elementwise ops, each the only reader of the
// previous one, that nothing quantizes again: the chain as an f32 table,
// anchored at its last op (DQ -> Sigmoid -> the detection head's Concat).
bool lower_lut_f32(LoweringContext &cx, size_t dq) {
  if (cx.g.nodes[dq].outputs.size() != 1)
    return false;
  std::string v = cx.g.nodes[dq].outputs[0];
  std::optional<size_t> last;
  for (auto r = cx.sole_consumer(v); r && elementwise_op(cx.g.nodes[*r]); r = cx.sole_consumer(v)) {
    last = *r;
    v = cx.g.nodes[*r].outputs.at(0);
  }
  if (!last || cx.quantize_after(v))
    return false;
  return lower_lut(cx, *last);
}

// DQ(x) -> Q(out) as a table, for one Concat input.
std::optional<Tensor> requant_table(const LoweringContext &cx, const Node &dq, const Node &q,
                                    DType in_type) {
  Graph g; // scales and zero points are constants (per_tensor_params checked them)
  for (const Node *n : {&dq, &q})
    for (size_t k = 1; k < n->inputs.size(); ++k)
      if (n->has_input(k))
        g.initializers[n->inputs[k]] = *cx.g.initializer(n->inputs[k]);
  Node d = dq, r = q;
  d.inputs[0] = "x";
  d.outputs = {"f"};
  r.inputs[0] = "f";
  r.outputs = {"y"};
  g.nodes = {d, r};
  std::unordered_map<std::string, Tensor> values{{"x", all_inputs({in_type})[0]}};
  return evaluate(g, {0, 1}, std::move(values), "y");
}

bool requant_concat(LoweringContext &cx, size_t ci) {
  const Node cat = cx.g.nodes[ci];
  auto yq = cx.quantize_after(cat.outputs.at(0));
  if (!yq || cat.outputs.size() != 1)
    return false;
  const Node q = cx.g.nodes[yq->first];
  Node moved = cat;
  std::vector<std::pair<size_t, Tensor>> tables; // input index, requantisation table
  for (size_t k = 0; k < cat.inputs.size(); ++k) {
    const Node *dq = cx.producer(cat.inputs[k], "DequantizeLinear");
    auto p = dq && dq->has_input(1) ? cx.per_tensor_params(*dq) : std::nullopt;
    if (!p || cx.g.initializer(dq->inputs[0]))
      return false;
    moved.inputs[k] = dq->inputs[0];
    if (*p == yq->second)
      continue;
    std::optional<Tensor> table;
    try {
      table = requant_table(cx, *dq, q, p->dtype);
    } catch (const std::exception &) {
      return false;
    }
    if (!table)
      return false;
    tables.emplace_back(k, std::move(*table));
  }
  std::vector<Node> luts;
  for (auto &[k, table] : tables) {
    const Node &dq = *cx.producer(cat.inputs[k], "DequantizeLinear");
    moved.inputs[k] = cx.g.unique_name(cat.inputs[k] + "_requant");
    luts.push_back(lut_node(cx, dq.name, {dq.inputs[0]}, std::move(table), moved.inputs[k]));
  }
  moved.outputs = {q.outputs.at(0)};
  cx.replace({ci, yq->first}, std::move(moved));
  for (Node &n : luts) // before the Concat after lower_qdq's toposort
    cx.g.nodes.push_back(std::move(n));
  cx.refresh();
  return true;
}

bool fold_table_into_qconv(LoweringContext &cx, size_t li) {
  const Node &lut = cx.g.nodes[li];
  if (lut.num_inputs() != 2 || lut.attr_int("f32_output", 0) != 0)
    return false;
  const Tensor *table = cx.g.initializer(lut.inputs[1]);
  auto ci = cx.producer_index(lut.inputs[0]);
  if (!table || table->numel() != 256 ||
      (table->dtype() != DType::u8 && table->dtype() != DType::i8) || !ci ||
      cx.sole_consumer(lut.inputs[0]) != li)
    return false;
  Node conv = cx.g.nodes[*ci];
  if (conv.op_type != "QConv" || conv.domain != "qtune" || conv.inputs.size() > 4 ||
      conv.outputs.size() != 1 || QConvParams::from(conv).y.dtype == DType::f32)
    return false;
  conv.inputs.resize(4);
  conv.inputs.push_back(lut.inputs[1]);
  conv.outputs = lut.outputs;
  cx.replace({*ci, li}, std::move(conv));
  return true;
}

} // namespace

void register_lut_rules(LoweringRegistry &r) {
  r.add(LoweringRule{"lut", 1, lower_lut});
  r.add(LoweringRule{"requant_concat", 1, requant_concat});
  r.add(LoweringRule{"lut_f32", 2, lower_lut_f32});
  r.add(LoweringRule{"conv_table", 2, fold_table_into_qconv});
  r.add(OpDescriptor("qtune:QLut", std::nullopt, {"conv_table"}));
  r.add(OpDescriptor("DequantizeLinear", std::nullopt, {"lut_f32"}));
  // Anchors only: the plan quantizes the ops around a Q, never the Q itself.
  r.add(OpDescriptor("QuantizeLinear", std::nullopt, {"lut"}));
}

} // namespace qtune::quant
