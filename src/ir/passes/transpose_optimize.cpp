// Layout pass for graphs from NHWC frameworks (TensorFlow import, tf2onnx /
// keras2onnx exports): they arrive with Transpose(0,3,1,2) -> op -> Transpose
// (0,2,3,1) around every layout-sensitive op and NHWC elementwise ops between.
// Walking the nodes in order, a Transpose is pushed down through each op whose
// NHWC semantics can be restated in the pre-transpose layout (elementwise ops,
// broadcasting binaries with permuted constants, Concat/Split/Slice/Pad/Reduce/
// Squeeze/Unsqueeze/Softmax with remapped axes, per-tensor or per-axis Q/DQ):
// the op runs on the untransposed input and the Transpose moves to its output,
// where it meets the next Transpose and the two compose (identity: both go).
// Results are exactly equal: only data movement changes, graph outputs keep
// their names and layouts, and ops we do not know stop the push.
#include <algorithm>
#include <cstring>
#include <map>
#include <numeric>
#include <unordered_set>

#include "ir/passes/pass.h"
#include "ir/passes/pass_util.h"

namespace qtune {

namespace {

using Perm = std::vector<int64_t>;

bool valid_perm(const Perm &p) {
  std::vector<bool> seen(p.size(), false);
  for (int64_t v : p) {
    if (v < 0 || v >= static_cast<int64_t>(p.size()) || seen[v])
      return false;
    seen[v] = true;
  }
  return true;
}

Perm inverse(const Perm &p) {
  Perm q(p.size());
  for (size_t i = 0; i < p.size(); ++i)
    q[p[i]] = static_cast<int64_t>(i);
  return q;
}

// Transpose(Transpose(x, first), second) == Transpose(x, compose(first, second)).
Perm compose(const Perm &first, const Perm &second) {
  Perm q(second.size());
  for (size_t i = 0; i < second.size(); ++i)
    q[i] = first[second[i]];
  return q;
}

bool is_identity(const Perm &p) {
  for (size_t i = 0; i < p.size(); ++i)
    if (p[i] != static_cast<int64_t>(i))
      return false;
  return true;
}

// Perm of a plain ONNX Transpose with an explicit perm; empty otherwise.
Perm transpose_perm(const Node &n) {
  if (n.op_type != "Transpose" || !n.domain.empty() || n.num_inputs() != 1 || n.outputs.size() != 1)
    return {};
  Perm p = n.attr_ints("perm");
  return valid_perm(p) ? p : Perm{};
}

std::optional<int64_t> norm_axis(int64_t a, int64_t rank) {
  if (a < -rank || a >= rank)
    return std::nullopt;
  return a < 0 ? a + rank : a;
}

// Tensor transposed by `perm` (out.dim[i] = t.dim[perm[i]]), any dtype.
Tensor transpose_tensor(const Tensor &t, const Perm &perm) {
  const int r = t.rank();
  Shape out_shape(r);
  for (int i = 0; i < r; ++i)
    out_shape[i] = t.dim(static_cast<int>(perm[i]));
  Tensor out(t.dtype(), out_shape);
  std::vector<int64_t> in_stride(r, 1);
  for (int i = r - 2; i >= 0; --i)
    in_stride[i] = in_stride[i + 1] * t.dim(i + 1);
  const size_t es = dtype_size(t.dtype());
  const auto *src = static_cast<const uint8_t *>(t.raw());
  auto *dst = static_cast<uint8_t *>(out.raw());
  std::vector<int64_t> idx(r, 0);
  for (int64_t o = 0; o < out.numel(); ++o) {
    int64_t off = 0;
    for (int i = 0; i < r; ++i)
      off += idx[i] * in_stride[perm[i]];
    std::memcpy(dst + o * es, src + off * es, es);
    for (int i = r - 1; i >= 0; --i) {
      if (++idx[i] < out_shape[i])
        break;
      idx[i] = 0;
    }
  }
  return out;
}

// A constant c broadcast against an operand y = Transpose(x, P) of rank r,
// restated for x: c' with Transpose(c', P) == c (c right-aligned to rank r,
// leading 1s dropped again). nullopt when c has the higher rank.
std::optional<Tensor> permute_broadcast_constant(const Tensor &c, const Perm &p) {
  const int r = static_cast<int>(p.size());
  if (c.rank() > r || c.dtype() == DType::string)
    return std::nullopt;
  Shape padded(r - c.rank(), 1);
  padded.insert(padded.end(), c.shape().begin(), c.shape().end());
  Tensor t = transpose_tensor(c.reshaped(padded), inverse(p));
  Shape s = t.shape();
  size_t lead = 0;
  while (lead < s.size() && s[lead] == 1 && s.size() - lead > static_cast<size_t>(c.rank()))
    ++lead;
  return t.reshaped(Shape(s.begin() + lead, s.end()));
}

// Perm of the output after dropping `dropped` axes of y = Transpose(x, p):
// reducing x over p[dropped] leaves x's remaining axes in ascending order.
Perm perm_after_drop(const Perm &p, const std::vector<bool> &dropped) {
  std::vector<int64_t> kept_x;
  for (size_t i = 0; i < p.size(); ++i)
    if (!dropped[i])
      kept_x.push_back(p[i]);
  std::vector<int64_t> sorted = kept_x;
  std::sort(sorted.begin(), sorted.end());
  Perm out;
  for (int64_t v : kept_x)
    out.push_back(std::lower_bound(sorted.begin(), sorted.end(), v) - sorted.begin());
  return out;
}

// Perm after Unsqueeze(y, axes) with y = Transpose(x, p), when x is unsqueezed
// at the same output positions: y axis k lands at the k-th non-new position.
Perm perm_after_unsqueeze(const Perm &p, const std::vector<bool> &is_new) {
  std::vector<int64_t> slot; // output position of input axis k
  for (size_t j = 0; j < is_new.size(); ++j)
    if (!is_new[j])
      slot.push_back(static_cast<int64_t>(j));
  Perm out(is_new.size());
  for (size_t j = 0; j < is_new.size(); ++j)
    out[j] = static_cast<int64_t>(j);
  for (size_t k = 0; k < p.size(); ++k)
    out[slot[k]] = slot[p[k]];
  return out;
}

bool is_int_type(DType t) {
  return t == DType::i8 || t == DType::u8 || t == DType::i16 || t == DType::u16 ||
         t == DType::i32 || t == DType::u32 || t == DType::i64 || t == DType::u64;
}

bool in_list(const std::string &op, std::initializer_list<const char *> ops) {
  for (const char *o : ops)
    if (op == o)
      return true;
  return false;
}

enum class Kind {
  unary,      // same-shape elementwise on input 0; other inputs are scalars
  broadcast,  // n-ary elementwise with numpy broadcasting over all inputs
  qdq,        // QuantizeLinear / DequantizeLinear: scale per tensor or per `axis`
  concat,     // ONNX Concat (axis attr)
  concat_v2,  // tf:ConcatV2 (axis as last input)
  split,      // ONNX Split (axis attr)
  slice,      // ONNX Slice (constant starts/ends/axes/steps)
  pad,        // ONNX Pad (constant pads, optional axes)
  tf_pad,     // tf:Pad / PadV2 / MirrorPad (constant [r,2] paddings)
  reduce,     // ONNX Reduce* (axes attr or input 1), keepdims
  tf_reduce,  // tf:Mean/Sum/... (axis input 1), keep_dims
  arg_reduce, // ONNX ArgMax / ArgMin (axis attr), keepdims
  squeeze,    // ONNX Squeeze (axes input 1)
  tf_squeeze, // tf:Squeeze (squeeze_dims attr)
  unsqueeze,  // ONNX Unsqueeze (axes input 1)
  softmax,    // ONNX Softmax / LogSoftmax, opset 13 semantics
};

std::optional<Kind> kind_of(const Node &n) {
  const std::string &op = n.op_type;
  if (n.domain == "tf") {
    if (in_list(op, {"Cast", "Round", "ZerosLike", "OnesLike"}))
      return Kind::unary;
    if (in_list(op, {"FloorDiv", "FloorMod", "SelectV2", "AddN"}))
      return Kind::broadcast;
    if (op == "ConcatV2")
      return Kind::concat_v2;
    if (in_list(op, {"Pad", "PadV2", "MirrorPad"}))
      return Kind::tf_pad;
    if (in_list(op, {"Mean", "Sum", "Max", "Min", "Prod", "All", "Any"}))
      return Kind::tf_reduce;
    if (op == "Squeeze")
      return Kind::tf_squeeze;
    return std::nullopt;
  }
  if (!n.domain.empty())
    return std::nullopt;
  if (in_list(op, {"Relu",        "LeakyRelu",
                   "Sigmoid",     "Tanh",
                   "HardSigmoid", "HardSwish",
                   "Elu",         "Selu",
                   "Celu",        "Softplus",
                   "Softsign",    "Mish",
                   "Exp",         "Log",
                   "Sqrt",        "Neg",
                   "Abs",         "Reciprocal",
                   "Floor",       "Ceil",
                   "Round",       "Sign",
                   "Erf",         "Sin",
                   "Cos",         "Tan",
                   "Not",         "IsNaN",
                   "IsInf",       "Cast",
                   "Clip",        "Identity",
                   "Dropout",     "ThresholdedRelu"}))
    return n.outputs.size() == 1 ? std::optional(Kind::unary) : std::nullopt;
  if (in_list(op,
              {"Add", "Sub", "Mul",  "Div",   "Pow",     "PRelu",   "Mod",         "Max",
               "Min", "Sum", "Mean", "Equal", "Less",    "Greater", "LessOrEqual", "GreaterOrEqual",
               "And", "Or",  "Xor",  "Where", "BitShift"}))
    return Kind::broadcast;
  if (in_list(op, {"QuantizeLinear", "DequantizeLinear"}))
    return Kind::qdq;
  if (op == "Concat")
    return Kind::concat;
  if (op == "Split")
    return Kind::split;
  if (op == "Slice")
    return Kind::slice;
  if (op == "Pad")
    return Kind::pad;
  if (op.rfind("Reduce", 0) == 0)
    return Kind::reduce;
  if (op == "ArgMax" || op == "ArgMin")
    return Kind::arg_reduce;
  if (op == "Squeeze")
    return Kind::squeeze;
  if (op == "Unsqueeze")
    return Kind::unsqueeze;
  if ((op == "Softmax" || op == "LogSoftmax") && !n.attr_int("qtune.legacy_softmax", 0))
    return Kind::softmax;
  return std::nullopt;
}

// Inputs that carry the transposed layout (the rest are parameters).
std::vector<size_t> data_inputs(Kind k, const Node &n) {
  std::vector<size_t> all(n.inputs.size());
  std::iota(all.begin(), all.end(), 0);
  switch (k) {
  case Kind::broadcast:
  case Kind::concat:
    return all;
  case Kind::concat_v2:
    if (!all.empty())
      all.pop_back();
    return all;
  default:
    return {0};
  }
}

class TransposeOptimizer {
public:
  explicit TransposeOptimizer(Graph &g) : g_(g) {}
  bool run();

private:
  // What rewriting a node's parameters needs to know.
  struct Rewrite {
    Node node; // the copy being rewritten
    Perm p;    // perm of the transposed data inputs
    std::vector<Perm> out_perms;
  };

  void visit(Node n, size_t index);
  void visit_transpose(Node n, Perm q);
  bool try_push(const Node &n, Kind kind);
  bool rewrite_params(Kind kind, Rewrite &rw);
  bool remap_axis_attr(Node &m, const Perm &p, const char *name, int64_t def);
  std::optional<std::vector<int64_t>> const_ints(const Node &n, size_t i) const;
  std::string set_const(const std::string &hint, Tensor t);
  bool outputs_cancel(const Node &n, const std::vector<Perm> &out_perms) const;
  Perm perm_of(const std::string &value) const;
  void emit(Node n);
  Node make_transpose(const std::string &in, const Perm &p, const std::string &out);
  std::string fresh(const std::string &hint);
  const ValueInfo *find_info(const std::string &v) const;
  std::optional<Shape> dims_after_batch(const std::string &x, const std::string &y, const Perm &p,
                                        int64_t k) const;
  int64_t channels_of(const std::string &v, int depth) const;
  bool try_flatten_into_matmul(const Node &n);
  bool try_shape_of_transpose(const Node &n);
  size_t undo_useless_shape_rewrites(); // how many were undone
  std::optional<Shape> small_shape(const std::string &v, int depth) const;
  void record_permuted_info(const std::string &from, const std::string &to, const Perm &p);
  void remove_unused_transposes();
  void revert();

  Graph &g_;
  std::vector<Node> in_;                                           // the original nodes
  std::vector<Node> out_;                                          // the rewritten nodes, in order
  std::unordered_map<std::string, size_t> producer_;               // value -> index in out_
  std::unordered_map<std::string, std::string> alias_;             // value -> equal earlier value
  std::unordered_map<std::string, std::vector<size_t>> consumers_; // in in_
  std::unordered_set<std::string> pinned_; // graph outputs and sub-graph reads keep names
  std::unordered_set<std::string> used_names_;
  std::vector<std::pair<std::string, std::string>> shape_rewrites_; // (Shape output, T value)
  std::map<std::pair<std::string, Perm>, std::string> transposes_;  // (input, perm) -> output
  // Original node index -> (input, new initializer) to swap in when it is visited.
  std::unordered_map<size_t, std::pair<size_t, std::string>> pending_input_;
  std::vector<std::string> added_inits_, added_infos_;
  bool changed_ = false;
};

Perm TransposeOptimizer::perm_of(const std::string &value) const {
  auto it = producer_.find(value);
  return it == producer_.end() ? Perm{} : transpose_perm(out_[it->second]);
}

void TransposeOptimizer::emit(Node n) {
  if (Perm q = transpose_perm(n); !q.empty())
    transposes_.try_emplace({n.inputs[0], q}, n.outputs[0]);
  for (const auto &o : n.outputs)
    if (!o.empty())
      producer_[o] = out_.size();
  out_.push_back(std::move(n));
}

std::string TransposeOptimizer::fresh(const std::string &hint) {
  std::string name = hint;
  for (int k = 1; used_names_.count(name) || g_.is_initializer(name); ++k)
    name = hint + "_" + std::to_string(k);
  used_names_.insert(name);
  return name;
}

Node TransposeOptimizer::make_transpose(const std::string &in, const Perm &p,
                                        const std::string &out) {
  Node t;
  t.name = fresh(out + "/transpose");
  t.op_type = "Transpose";
  t.inputs = {in};
  t.outputs = {out};
  t.attrs["perm"] = p;
  return t;
}

const ValueInfo *TransposeOptimizer::find_info(const std::string &v) const {
  auto it = g_.value_info.find(v);
  if (it != g_.value_info.end())
    return &it->second;
  for (const auto &list : {&g_.inputs, &g_.outputs})
    for (const auto &o : *list)
      if (o.name == v)
        return &o;
  return nullptr;
}

// value_info of `to` = value_info of `from` transposed by p (when known).
void TransposeOptimizer::record_permuted_info(const std::string &from, const std::string &to,
                                              const Perm &p) {
  const ValueInfo *vi = find_info(from);
  if (!vi || !vi->has_shape || vi->dims.size() != p.size())
    return;
  ValueInfo v = *vi;
  v.name = to;
  for (size_t i = 0; i < p.size(); ++i)
    v.dims[i] = vi->dims[p[i]];
  g_.value_info[to] = std::move(v);
  added_infos_.push_back(to);
}

std::string TransposeOptimizer::set_const(const std::string &hint, Tensor t) {
  std::string name = passes::add_initializer(g_, fresh(hint), std::move(t));
  used_names_.insert(name);
  added_inits_.push_back(name);
  return name;
}

std::optional<std::vector<int64_t>> TransposeOptimizer::const_ints(const Node &n, size_t i) const {
  if (!n.has_input(i))
    return std::nullopt;
  const Tensor *t = g_.initializer(n.inputs[i]);
  if (!t || t->rank() > 1 || !is_int_type(t->dtype()))
    return std::nullopt;
  return t->to_i64_vector();
}

// True when every output whose layout moves is read by exactly one Transpose
// that undoes it, so the Transpose added there cancels.
bool TransposeOptimizer::outputs_cancel(const Node &n, const std::vector<Perm> &out_perms) const {
  for (size_t k = 0; k < n.outputs.size(); ++k) {
    if (n.outputs[k].empty() || is_identity(out_perms[k]))
      continue;
    if (pinned_.count(n.outputs[k]))
      return false;
    auto it = consumers_.find(n.outputs[k]);
    if (it == consumers_.end() || it->second.size() != 1)
      return false;
    Perm q = transpose_perm(in_[it->second[0]]);
    if (q.size() != out_perms[k].size() || !is_identity(compose(out_perms[k], q)))
      return false;
  }
  return true;
}

void TransposeOptimizer::visit_transpose(Node n, Perm q) {
  Perm p = perm_of(n.inputs[0]);
  if (p.size() == q.size()) { // Transpose of a Transpose: one Transpose
    n.inputs[0] = out_[producer_.at(n.inputs[0])].inputs[0];
    q = compose(p, q);
    n.attrs["perm"] = q;
    changed_ = true;
  }
  if (!is_identity(q)) {
    auto it = transposes_.find({n.inputs[0], q});
    if (it != transposes_.end() && !pinned_.count(n.outputs[0])) { // the same Transpose again
      alias_[n.outputs[0]] = it->second;
      changed_ = true;
      return;
    }
    emit(std::move(n));
    return;
  }
  changed_ = true;
  if (pinned_.count(n.outputs[0])) { // the name must stay: a cheap Identity keeps it
    n.op_type = "Identity";
    n.attrs.clear();
    emit(std::move(n));
    return;
  }
  alias_[n.outputs[0]] = n.inputs[0];
}

bool TransposeOptimizer::remap_axis_attr(Node &m, const Perm &p, const char *name, int64_t def) {
  auto a = norm_axis(m.attr_int(name, def), static_cast<int64_t>(p.size()));
  if (!a)
    return false;
  m.attrs[name] = p[*a];
  return true;
}

// Rewrites the non-data inputs and attributes of rw.node for inputs in the
// untransposed layout; fills rw.out_perms. False: the op cannot be restated.
bool TransposeOptimizer::rewrite_params(Kind kind, Rewrite &rw) {
  Node &m = rw.node;
  const Perm &p = rw.p;
  const int64_t r = static_cast<int64_t>(p.size());
  rw.out_perms.assign(m.outputs.size(), p);
  auto axes_to_x = [&](std::vector<int64_t> axes, int64_t rank) -> std::optional<Perm> {
    for (int64_t &a : axes) {
      auto v = norm_axis(a, rank);
      if (!v)
        return std::nullopt;
      a = p[*v];
    }
    return axes;
  };
  auto dropped_mask = [&](const std::vector<int64_t> &axes) -> std::optional<std::vector<bool>> {
    std::vector<bool> d(r, false);
    for (int64_t a : axes) {
      auto v = norm_axis(a, r);
      if (!v)
        return std::nullopt;
      d[*v] = true;
    }
    return d;
  };
  auto int_tensor_like = [&](const Tensor &like, const std::vector<int64_t> &v) {
    Tensor t = Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v);
    if (like.rank() == 0)
      t = t.reshaped({});
    return t.cast(like.dtype());
  };
  switch (kind) {
  case Kind::unary:
  case Kind::broadcast:
    return true;
  case Kind::qdq: {
    const Tensor *scale = m.has_input(1) ? g_.initializer(m.inputs[1]) : nullptr;
    if (!scale)
      return false;
    return scale->numel() == 1 && scale->rank() <= 1 ? true : remap_axis_attr(m, p, "axis", 1);
  }
  case Kind::concat:
  case Kind::split:
    return remap_axis_attr(m, p, "axis", 0);
  case Kind::softmax:
    return remap_axis_attr(m, p, "axis", -1);
  case Kind::concat_v2: {
    auto a = const_ints(m, m.inputs.size() - 1);
    if (!a || a->size() != 1 || !norm_axis((*a)[0], r))
      return false;
    const Tensor &like = *g_.initializer(m.inputs.back());
    m.inputs.back() =
        set_const(m.name + "/axis_nchw", int_tensor_like(like, {p[*norm_axis((*a)[0], r)]}));
    return true;
  }
  case Kind::slice: {
    auto starts = const_ints(m, 1);
    if (!starts || !const_ints(m, 2) || (m.has_input(4) && !const_ints(m, 4)))
      return false;
    std::vector<int64_t> axes(starts->size());
    std::iota(axes.begin(), axes.end(), 0);
    if (m.has_input(3)) {
      auto given = const_ints(m, 3);
      if (!given)
        return false;
      axes = *given;
    }
    auto x_axes = axes_to_x(axes, r);
    if (!x_axes)
      return false;
    m.inputs.resize(std::max<size_t>(m.inputs.size(), 4));
    m.inputs[3] = set_const(m.name + "/axes_nchw",
                            Tensor::from_vector<int64_t>({(int64_t)x_axes->size()}, *x_axes));
    return true;
  }
  case Kind::pad: {
    auto pads = const_ints(m, 1);
    if (!pads)
      return false;
    if (m.has_input(3)) { // explicit axes: remap them, pads stay
      auto axes = const_ints(m, 3);
      auto x_axes = axes ? axes_to_x(*axes, r) : std::nullopt;
      if (!x_axes)
        return false;
      m.inputs[3] = set_const(m.name + "/axes_nchw",
                              Tensor::from_vector<int64_t>({(int64_t)x_axes->size()}, *x_axes));
      return true;
    }
    if (static_cast<int64_t>(pads->size()) != 2 * r)
      return false;
    std::vector<int64_t> x_pads(2 * r);
    for (int64_t i = 0; i < r; ++i) {
      x_pads[p[i]] = (*pads)[i];
      x_pads[r + p[i]] = (*pads)[r + i];
    }
    m.inputs[1] = set_const(m.name + "/pads_nchw", Tensor::from_vector<int64_t>({2 * r}, x_pads));
    return true;
  }
  case Kind::tf_pad: {
    const Tensor *pads = m.has_input(1) ? g_.initializer(m.inputs[1]) : nullptr;
    if (!pads || pads->rank() != 2 || pads->dim(0) != r || pads->dim(1) != 2)
      return false;
    Tensor x_pads(pads->dtype(), {r, 2}); // row p[i] of the new = row i of the old
    const size_t row = 2 * dtype_size(pads->dtype());
    for (int64_t i = 0; i < r; ++i)
      std::memcpy(static_cast<uint8_t *>(x_pads.raw()) + p[i] * row,
                  static_cast<const uint8_t *>(pads->raw()) + i * row, row);
    m.inputs[1] = set_const(m.name + "/paddings_nchw", std::move(x_pads));
    return true;
  }
  case Kind::reduce:
  case Kind::tf_reduce:
  case Kind::arg_reduce: {
    bool tf = kind == Kind::tf_reduce;
    bool keep = tf ? m.attr_int("keep_dims", 0) != 0 : m.attr_int("keepdims", 1) != 0;
    std::vector<int64_t> axes;
    bool from_input = tf || (kind == Kind::reduce && m.has_input(1));
    if (kind == Kind::arg_reduce) {
      axes = {m.attr_int("axis", 0)};
    } else if (from_input) {
      auto a = const_ints(m, 1);
      if (!a)
        return false;
      axes = *a;
    } else {
      axes = m.attr_ints("axes");
    }
    if (axes.empty()) {
      if (!tf && m.attr_int("noop_with_empty_axes", 0))
        return true; // the op is an identity
      if (tf && m.has_input(1))
        return true; // TF: an empty axis list reduces nothing
      axes.resize(r);
      std::iota(axes.begin(), axes.end(), 0);
    }
    auto mask = dropped_mask(axes);
    auto x_axes = axes_to_x(axes, r);
    if (!mask || !x_axes)
      return false;
    if (kind == Kind::arg_reduce)
      m.attrs["axis"] = (*x_axes)[0];
    else if (from_input)
      m.inputs[1] =
          set_const(m.name + "/axes_nchw", int_tensor_like(*g_.initializer(m.inputs[1]), *x_axes));
    else
      m.attrs["axes"] = *x_axes;
    if (!keep)
      rw.out_perms[0] = perm_after_drop(p, *mask);
    return true;
  }
  case Kind::squeeze:
  case Kind::tf_squeeze: {
    std::vector<int64_t> axes;
    if (kind == Kind::tf_squeeze) {
      axes = m.attr_ints("squeeze_dims");
    } else {
      auto a = const_ints(m, 1);
      if (!a)
        return false;
      axes = *a;
    }
    if (axes.empty()) // squeezes every 1: which ones depends on the shape
      return false;
    auto mask = dropped_mask(axes);
    auto x_axes = axes_to_x(axes, r);
    if (!mask || !x_axes)
      return false;
    if (kind == Kind::tf_squeeze)
      m.attrs["squeeze_dims"] = *x_axes;
    else
      m.inputs[1] = set_const(m.name + "/axes_nchw",
                              Tensor::from_vector<int64_t>({(int64_t)x_axes->size()}, *x_axes));
    rw.out_perms[0] = perm_after_drop(p, *mask);
    return true;
  }
  case Kind::unsqueeze: {
    auto axes = const_ints(m, 1);
    if (!axes)
      return false;
    const int64_t n = r + static_cast<int64_t>(axes->size());
    std::vector<bool> is_new(n, false);
    for (int64_t a : *axes) {
      auto v = norm_axis(a, n);
      if (!v || is_new[*v])
        return false;
      is_new[*v] = true;
    }
    rw.out_perms[0] = perm_after_unsqueeze(p, is_new); // axes unchanged
    return true;
  }
  }
  return false;
}

bool TransposeOptimizer::try_push(const Node &n, Kind kind) {
  std::vector<size_t> data = data_inputs(kind, n);
  Rewrite rw{n, {}, {}};
  for (size_t i : data)
    if (i < n.inputs.size() && !(rw.p = perm_of(n.inputs[i])).empty())
      break;
  if (rw.p.empty())
    return false;
  const Perm &p = rw.p;
  const size_t r = p.size();
  const Perm inv = inverse(p);
  const bool broadcasts = kind == Kind::broadcast;
  // Plan the data inputs without touching the graph.
  struct Planned {
    size_t i;
    std::string src; // value to transpose (or use directly when perm is identity)
    Perm perm;       // transpose to insert
    std::optional<Tensor> constant;
  };
  std::vector<Planned> plan;
  int from_p = 0, inserted = 0;
  for (size_t i : data) {
    if (i >= n.inputs.size() || n.inputs[i].empty())
      continue;
    const std::string &v = n.inputs[i];
    Perm q = perm_of(v);
    if (q == p) {
      plan.push_back({i, out_[producer_.at(v)].inputs[0], {}, std::nullopt});
      ++from_p;
    } else if (const Tensor *c = g_.initializer(v)) {
      std::optional<Tensor> t;
      if (broadcasts)
        t = permute_broadcast_constant(*c, p);
      else if (c->rank() == static_cast<int>(r))
        t = transpose_tensor(*c, inv);
      if (!t)
        return false;
      plan.push_back({i, "", {}, std::move(t)});
    } else if (q.size() == r) { // another layout: one composed Transpose
      plan.push_back({i, out_[producer_.at(v)].inputs[0], compose(q, inv), std::nullopt});
    } else if (auto known = transposes_.find({v, inv}); known != transposes_.end()) {
      plan.push_back({i, known->second, {}, std::nullopt}); // already transposed: free
    } else {
      auto s = passes::known_shape(g_, v);
      if (!s || s->size() != r)
        return false;
      plan.push_back({i, v, inv, std::nullopt});
      ++inserted;
    }
  }
  if (!rewrite_params(kind, rw))
    return false;
  if (inserted > 0 && !(inserted <= from_p && outputs_cancel(n, rw.out_perms)))
    return false;
  Node &m = rw.node;
  for (auto &pl : plan) {
    if (pl.constant) {
      bool same = pl.constant->shape() == g_.initializer(n.inputs[pl.i])->shape() &&
                  pl.constant->numel() <= 1;
      m.inputs[pl.i] =
          same ? n.inputs[pl.i] : set_const(n.inputs[pl.i] + "/nchw", std::move(*pl.constant));
    } else if (pl.perm.empty() || is_identity(pl.perm)) {
      m.inputs[pl.i] = pl.src;
    } else {
      auto known = transposes_.find({pl.src, pl.perm});
      if (known != transposes_.end()) {
        m.inputs[pl.i] = known->second;
        continue;
      }
      std::string t = fresh(n.inputs[pl.i] + "/relayout");
      emit(make_transpose(pl.src, pl.perm, t));
      record_permuted_info(pl.src, t, pl.perm);
      m.inputs[pl.i] = t;
    }
  }
  std::vector<Node> post;
  for (size_t k = 0; k < m.outputs.size(); ++k) {
    const Perm &op = rw.out_perms[k];
    if (m.outputs[k].empty() || is_identity(op))
      continue;
    std::string y = m.outputs[k];
    m.outputs[k] = fresh(y + "/nchw");
    record_permuted_info(y, m.outputs[k], inverse(op));
    post.push_back(make_transpose(m.outputs[k], op, y));
  }
  emit(std::move(m));
  for (auto &t : post)
    emit(std::move(t));
  changed_ = true;
  return true;
}

void TransposeOptimizer::visit(Node n, size_t index) {
  for (auto &in : n.inputs) {
    auto it = alias_.find(in);
    if (it != alias_.end())
      in = it->second;
  }
  auto pending = pending_input_.find(index);
  if (pending != pending_input_.end())
    n.inputs.at(pending->second.first) = pending->second.second;
  if (n.domain == "tf" && n.op_type == "Transpose" && n.num_inputs() == 2 &&
      n.outputs.size() == 1) { // constant perm: the ONNX form the rules know
    auto perm = const_ints(n, 1);
    if (perm && valid_perm(*perm)) {
      n.domain.clear();
      n.inputs.resize(1);
      n.attrs = {{"perm", *perm}};
      changed_ = true;
    }
  }
  Perm q = transpose_perm(n);
  if (!q.empty()) {
    visit_transpose(std::move(n), std::move(q));
    return;
  }
  auto kind = kind_of(n);
  if (kind && try_push(n, *kind))
    return;
  if (try_flatten_into_matmul(n) || try_shape_of_transpose(n))
    return;
  emit(std::move(n));
}

// Channels of an NCHW value: the conv that made it, through ops that keep
// channels (activations, pooling, batch norm). 0 when unknown.
int64_t TransposeOptimizer::channels_of(const std::string &v, int depth) const {
  auto it = producer_.find(v);
  if (it == producer_.end() || depth > 64)
    return 0;
  const Node &n = out_[it->second];
  bool conv = n.op_type == "Conv" || (n.domain == "qtune" && n.op_type == "FusedConv");
  if (conv && (n.domain.empty() || n.domain == "qtune")) {
    const Tensor *w = n.inputs.size() > 1 ? g_.initializer(n.inputs[1]) : nullptr;
    return w && w->rank() >= 3 ? w->dim(0) : 0;
  }
  auto kind = kind_of(n);
  bool keeps = n.domain.empty() && ((kind && *kind == Kind::unary) || n.op_type == "MaxPool" ||
                                    n.op_type == "AveragePool" ||
                                    n.op_type == "BatchNormalization" || n.op_type == "LRN");
  return keeps ? channels_of(n.inputs.at(0), depth + 1) : 0;
}

// Dims 1.. of x where y = Transpose(x, p), from x's or y's value_info (the
// batch dim may be symbolic). Failing that, for NCHW -> NHWC with `k`
// elements per sample: [C, k/C, 1] with C from the producing conv (H and W
// stay adjacent, so only their product matters for reordering).
std::optional<Shape> TransposeOptimizer::dims_after_batch(const std::string &x,
                                                          const std::string &y, const Perm &p,
                                                          int64_t k) const {
  Shape xs(p.size(), -1);
  if (const ValueInfo *vi = find_info(x); vi && vi->has_shape && vi->dims.size() == p.size())
    for (size_t i = 1; i < p.size(); ++i)
      xs[i] = vi->dims[i].value;
  if (const ValueInfo *vi = find_info(y); vi && vi->has_shape && vi->dims.size() == p.size())
    for (size_t i = 1; i < p.size(); ++i)
      if (vi->dims[i].known())
        xs[p[i]] = vi->dims[i].value;
  if (std::all_of(xs.begin() + 1, xs.end(), [](int64_t d) { return d >= 0; }))
    return Shape(xs.begin() + 1, xs.end());
  int64_t c = channels_of(x, 0);
  if (p == Perm{0, 2, 3, 1} && c > 0 && k > 0 && k % c == 0)
    return Shape{c, k / c, 1};
  return std::nullopt;
}

// Shape(Transpose(x, p)) == Gather(Shape(x), p): the Shape stops holding the
// Transpose alive (TF Flatten computes its target shape from the NHWC value).
bool TransposeOptimizer::try_shape_of_transpose(const Node &n) {
  if (n.op_type != "Shape" || !n.domain.empty() || n.has_attr("start") || n.has_attr("end") ||
      n.outputs.size() != 1)
    return false;
  Perm p = perm_of(n.inputs.at(0));
  if (p.empty())
    return false;
  Node shape = n;
  shape.inputs[0] = out_[producer_.at(n.inputs[0])].inputs[0];
  shape.outputs[0] = fresh(n.outputs[0] + "/nchw");
  Node gather;
  gather.name = fresh(n.name + "/perm");
  gather.op_type = "Gather";
  gather.inputs = {shape.outputs[0], set_const(n.name + "/perm", Tensor::from_vector<int64_t>(
                                                                     {(int64_t)p.size()}, p))};
  gather.outputs = {n.outputs[0]};
  gather.attrs["axis"] = int64_t{0};
  shape_rewrites_.push_back({shape.outputs[0], n.inputs[0]});
  emit(std::move(shape));
  emit(std::move(gather));
  return true;
}

// A Shape moved off a Transpose that other readers keep alive only added a
// Gather: put it back on the Transpose's output.
size_t TransposeOptimizer::undo_useless_shape_rewrites() {
  std::unordered_set<std::string> read;
  for (const auto &n : out_)
    if (n.op_type != "Shape")
      read.insert(n.inputs.begin(), n.inputs.end());
  read.insert(pinned_.begin(), pinned_.end());
  std::unordered_map<std::string, std::string> undo; // new shape value -> transposed value
  for (const auto &[shape_out, transposed] : shape_rewrites_)
    if (read.count(transposed))
      undo[shape_out] = transposed;
  if (undo.empty())
    return 0;
  std::unordered_map<std::string, size_t> shape_at;
  for (size_t i = 0; i < out_.size(); ++i)
    if (out_[i].op_type == "Shape" && undo.count(out_[i].outputs[0]))
      shape_at[out_[i].outputs[0]] = i;
  std::vector<bool> dead(out_.size(), false);
  for (size_t i = 0; i < out_.size(); ++i) {
    Node &n = out_[i];
    auto it = undo.find(n.op_type == "Gather" ? n.inputs[0] : "");
    if (it == undo.end() || !shape_at.count(it->first))
      continue;
    Node &shape = out_[shape_at[it->first]];
    shape.inputs[0] = it->second;
    shape.outputs[0] = n.outputs[0];
    dead[i] = true;
  }
  std::vector<Node> kept;
  for (size_t i = 0; i < out_.size(); ++i)
    if (!dead[i])
      kept.push_back(std::move(out_[i]));
  out_ = std::move(kept);
  return undo.size();
}

// Static shape of a small integer tensor computed from shapes (Shape, Slice,
// Squeeze, Unsqueeze, Concat, Gather, Cast): how TF graphs build the target
// of a Reshape. nullopt when not known.
std::optional<Shape> TransposeOptimizer::small_shape(const std::string &v, int depth) const {
  if (const Tensor *t = g_.initializer(v))
    return t->shape();
  auto it = producer_.find(v);
  if (it == producer_.end() || depth > 32)
    return std::nullopt;
  const Node &n = out_[it->second];
  if (!n.domain.empty() || n.inputs.empty())
    return std::nullopt;
  const std::string &op = n.op_type;
  if (op == "Shape" && !n.has_attr("start") && !n.has_attr("end")) {
    Perm p = perm_of(n.inputs[0]);
    const ValueInfo *vi = find_info(n.inputs[0]);
    if (!p.empty())
      return Shape{static_cast<int64_t>(p.size())};
    if (vi && vi->has_shape)
      return Shape{static_cast<int64_t>(vi->dims.size())};
    return std::nullopt;
  }
  if (op == "Cast" || op == "Identity")
    return small_shape(n.inputs[0], depth + 1);
  if (op == "Gather" && n.inputs.size() == 2 && n.attr_int("axis", 0) == 0) {
    auto data = small_shape(n.inputs[0], depth + 1);
    auto src = producer_.find(n.inputs[0]);
    bool from_shape = src != producer_.end() && out_[src->second].op_type == "Shape" &&
                      out_[src->second].domain.empty();
    const Tensor *idx = g_.initializer(n.inputs[1]);
    if (((data && data->size() == 1) || from_shape) && idx)
      return idx->shape();
    return std::nullopt;
  }
  if (op == "Unsqueeze" || op == "Squeeze") {
    auto in = small_shape(n.inputs[0], depth + 1);
    auto axes = const_ints(n, 1);
    if (!in || !axes)
      return std::nullopt;
    Shape out = *in;
    std::vector<int64_t> a = *axes;
    std::sort(a.begin(), a.end());
    if (op == "Unsqueeze") {
      for (int64_t x : a) {
        if (x < 0 || x > static_cast<int64_t>(out.size()))
          return std::nullopt; // negative axes: not needed here
        out.insert(out.begin() + x, 1);
      }
      return out;
    }
    for (size_t k = a.size(); k-- > 0;) {
      auto x = norm_axis(a[k], static_cast<int64_t>(out.size()));
      if (!x || out[*x] != 1)
        return std::nullopt;
      out.erase(out.begin() + *x);
    }
    return out;
  }
  if (op == "Concat" && n.attr_int("axis", 0) == 0) {
    int64_t total = 0;
    for (const auto &in : n.inputs) {
      auto s = small_shape(in, depth + 1);
      if (!s || s->size() != 1)
        return std::nullopt;
      total += (*s)[0];
    }
    return Shape{total};
  }
  if (op == "Slice") { // 1-D, constant bounds, step 1
    auto in = small_shape(n.inputs[0], depth + 1);
    auto st = const_ints(n, 1), en = const_ints(n, 2);
    if (!in || in->size() != 1 || !st || !en || st->size() != 1 || en->size() != 1)
      return std::nullopt;
    if ((n.has_input(3) && const_ints(n, 3) != std::vector<int64_t>{0}) ||
        (n.has_input(4) && const_ints(n, 4) != std::vector<int64_t>{1}))
      return std::nullopt;
    const int64_t len = (*in)[0];
    auto clamp = [&](int64_t x) { return std::clamp(x < 0 ? x + len : x, int64_t{0}, len); };
    return Shape{std::max<int64_t>(0, clamp((*en)[0]) - clamp((*st)[0]))};
  }
  return std::nullopt;
}

// Flatten (Keras Flatten after NHWC convs): Reshape(Transpose(x, p), [N, K])
// -> MatMul/Gemm with constant weights. Flattening x itself instead only
// reorders the K rows of the weights, so the Transpose goes and the weights
// are permuted once: row of y's flat index -> row of x's flat index.
bool TransposeOptimizer::try_flatten_into_matmul(const Node &n) {
  bool tf_reshape = n.domain == "tf" && n.op_type == "Reshape";
  if (!tf_reshape && (!n.domain.empty() || (n.op_type != "Reshape" && n.op_type != "Flatten")))
    return false;
  Perm p = perm_of(n.inputs.at(0));
  const std::string &y = n.outputs.at(0);
  if (p.size() < 2 || p[0] != 0 || pinned_.count(y))
    return false;
  const std::string &x = out_[producer_.at(n.inputs[0])].inputs[0];
  if (n.op_type == "Flatten" && n.attr_int("axis", 1) != 1)
    return false;
  auto it = consumers_.find(y);
  if (it == consumers_.end() || it->second.size() != 1)
    return false;
  size_t ci = it->second[0];
  const Node &mm = in_[ci];
  bool gemm = mm.op_type == "Gemm";
  if (!mm.domain.empty() || (mm.op_type != "MatMul" && !gemm) || mm.inputs.size() < 2 ||
      mm.inputs[0] != y || (gemm && mm.attr_int("transA", 0)))
    return false;
  const Tensor *w = g_.initializer(mm.inputs[1]);
  bool trans_b = gemm && mm.attr_int("transB", 0);
  if (!w || w->rank() != 2 || w->dtype() == DType::string)
    return false;
  const int64_t k = w->dim(trans_b ? 1 : 0);
  // Any 2-element target shape: for the Dense to accept it the result is
  // [a, K]; the rewrite's [0, K] is [N, K] exactly when a == N, and fails
  // loudly (sample size is not K) in every other case.
  // (allowzero does not matter: a literal 0 there makes both sides empty.)
  if (n.op_type == "Reshape" && small_shape(n.inputs.at(1), 0) != Shape{2})
    return false;
  auto xs = dims_after_batch(x, n.inputs[0], p, k);
  if (!xs || shape_numel(*xs) != k)
    return false;
  // y's dims after the batch: ys[i-1] = xs[p[i]-1].
  const size_t r = p.size();
  Shape ys(r - 1);
  for (size_t i = 1; i < r; ++i)
    ys[i - 1] = (*xs)[p[i] - 1];
  std::vector<int64_t> x_stride(r - 1, 1);
  for (size_t i = r - 1; i-- > 1;)
    x_stride[i - 1] = x_stride[i] * (*xs)[i];
  // Row fy of y's flattening is row x_row[fy] of x's.
  std::vector<int64_t> x_row(k);
  std::vector<int64_t> j(r - 1, 0);
  for (int64_t fy = 0; fy < k; ++fy) {
    int64_t fx = 0;
    for (size_t i = 1; i < r; ++i)
      fx += j[i - 1] * x_stride[p[i] - 1];
    x_row[fy] = fx;
    for (size_t d = r - 1; d-- > 0;) {
      if (++j[d] < ys[d])
        break;
      j[d] = 0;
    }
  }
  Tensor nw(w->dtype(), w->shape());
  const size_t es = dtype_size(w->dtype());
  const auto *src = static_cast<const uint8_t *>(w->raw());
  auto *dst = static_cast<uint8_t *>(nw.raw());
  if (!trans_b) { // [K, M]: move rows
    const size_t row = w->dim(1) * es;
    for (int64_t fy = 0; fy < k; ++fy)
      std::memcpy(dst + x_row[fy] * row, src + fy * row, row);
  } else { // [M, K]: move columns
    for (int64_t m = 0; m < w->dim(0); ++m)
      for (int64_t fy = 0; fy < k; ++fy)
        std::memcpy(dst + (m * k + x_row[fy]) * es, src + (m * k + fy) * es, es);
  }
  pending_input_[ci] = {1, set_const(mm.inputs[1] + "/nchw_rows", std::move(nw))};
  Node m = n;
  m.inputs[0] = x;
  if (n.op_type == "Reshape") { // ONNX [0, K]: a sample of any other size fails loudly
    m.domain.clear();
    m.attrs.clear(); // allowzero 0: the 0 copies the batch dim
    m.inputs[1] = set_const(n.name + "/shape_nchw", Tensor::from_vector<int64_t>({2}, {0, k}));
  }
  emit(std::move(m));
  changed_ = true;
  return true;
}

void TransposeOptimizer::remove_unused_transposes() {
  for (bool again = true; again;) {
    again = false;
    std::unordered_set<std::string> read(pinned_);
    for (const auto &n : out_)
      for (const auto &in : n.inputs)
        read.insert(in);
    std::vector<bool> dead(out_.size(), false);
    for (size_t i = 0; i < out_.size(); ++i)
      if (!transpose_perm(out_[i]).empty() && !read.count(out_[i].outputs[0]))
        dead[i] = again = true;
    std::vector<Node> kept;
    for (size_t i = 0; i < out_.size(); ++i)
      if (!dead[i])
        kept.push_back(std::move(out_[i]));
    out_ = std::move(kept);
  }
}

void TransposeOptimizer::revert() {
  for (const auto &name : added_inits_)
    g_.initializers.erase(name);
  for (const auto &name : added_infos_)
    g_.value_info.erase(name);
  g_.nodes = std::move(in_);
}

bool TransposeOptimizer::run() {
  int before = 0;
  for (const auto &n : g_.nodes) {
    before += n.op_type == "Transpose";
    for (const auto &o : n.outputs)
      used_names_.insert(o);
    used_names_.insert(n.name);
  }
  if (before == 0)
    return false;
  for (const auto &o : g_.outputs)
    pinned_.insert(o.name);
  for (const auto &n : g_.nodes)
    for (const auto &[k, a] : n.attrs)
      if (auto *sub = std::get_if<std::shared_ptr<Graph>>(&a)) {
        const std::vector<std::string> reads = (*sub)->outer_reads();
        pinned_.insert(reads.begin(), reads.end());
      }
  for (const auto &in : g_.inputs)
    used_names_.insert(in.name);
  in_ = std::move(g_.nodes);
  g_.nodes.clear();
  for (size_t i = 0; i < in_.size(); ++i)
    for (const auto &v : in_[i].inputs)
      if (!v.empty())
        consumers_[v].push_back(i);
  for (size_t i = 0; i < in_.size(); ++i)
    visit(in_[i], i);
  if (!changed_ && shape_rewrites_.empty()) {
    g_.nodes = std::move(in_);
    return false;
  }
  remove_unused_transposes();
  if (undo_useless_shape_rewrites() == shape_rewrites_.size() && !changed_) {
    revert();
    return false;
  }
  int after = 0;
  for (const auto &n : out_)
    after += n.op_type == "Transpose";
  if (after > before) { // a push that did not pay off somewhere: keep the original
    revert();
    return false;
  }
  g_.nodes = std::move(out_);
  return true;
}

} // namespace

bool optimize_transposes(Graph &g) {
  return TransposeOptimizer(g).run();
}

} // namespace qtune
