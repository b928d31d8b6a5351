// ConvertContext, the converter table and helpers shared by the op families.
#include "frontends/tensorflow/ops/convert.h"

#include <algorithm>
#include <fmt/format.h>
#include <limits>

#include "frontends/onnx/onnx_import.h"
#include "frontends/tensorflow/ops/op_list.h"
#include "qtune/error.h"

namespace qtune::tf {

std::string ImportState::resolve(const std::string &value) const {
  std::string v = value;
  for (int hops = 0; hops < 100000; ++hops) {
    auto it = aliases.find(v);
    if (it == aliases.end())
      return v;
    v = it->second;
  }
  throw InputError(fmt::format("{}: Identity nodes form a cycle at '{}'", source->path, value));
}

std::string ImportState::unique(const std::string &hint) {
  for (;;) {
    std::string cand = fmt::format("{}_{}", hint, name_counter++);
    if (used_names.insert(cand).second)
      return cand;
  }
}

const ConverterTable &ConverterTable::instance() {
  static const ConverterTable table = [] {
    ConverterTable t;
#define QTUNE_TF_REGISTER_FAMILY(f) register_tf_##f##_converters(t);
    QTUNE_TF_OP_FAMILIES(QTUNE_TF_REGISTER_FAMILY)
#undef QTUNE_TF_REGISTER_FAMILY
    return t;
  }();
  return table;
}

const TfConverter *ConverterTable::find(const std::string &op) const {
  auto it = table_.find(op);
  return it == table_.end() ? nullptr : &it->second;
}

std::string ConvertContext::where() const {
  return fmt::format("{}: node '{}' (op {})", st_.source->path, node_.name(), node_.op());
}

void ConvertContext::unsupported(const std::string &why) const {
  throw UnsupportedError(fmt::format("{}: {}", where(), why));
}

void ConvertContext::invalid(const std::string &why) const {
  throw InputError(fmt::format("{}: {}", where(), why));
}

namespace {
// Data inputs as TF tensor names ("n" for "n:0"), control inputs skipped.
std::vector<std::string> data_inputs(const tensorflow::NodeDef &n) {
  std::vector<std::string> r;
  for (const auto &s : n.input()) {
    if (s.empty() || s[0] == '^')
      continue;
    r.push_back(s.size() > 2 && s.compare(s.size() - 2, 2, ":0") == 0 ? s.substr(0, s.size() - 2)
                                                                      : s);
  }
  return r;
}
} // namespace

size_t ConvertContext::num_inputs() const {
  return data_inputs(node_).size();
}

std::string ConvertContext::input(size_t i) const {
  auto ins = data_inputs(node_);
  if (i >= ins.size())
    invalid(fmt::format("expects at least {} inputs, has {}", i + 1, ins.size()));
  return st_.resolve(ins[i]);
}

const Tensor *ConvertContext::constant(size_t i) const {
  return st_.graph->initializer(input(i));
}

const Tensor &ConvertContext::require_constant(size_t i, const char *what) const {
  const Tensor *t = constant(i);
  if (!t)
    unsupported(fmt::format("{} (input {}) must be a constant", what, i));
  return *t;
}

std::string ConvertContext::output(size_t k) const {
  return k == 0 ? node_.name() : fmt::format("{}:{}", node_.name(), k);
}

int ConvertContext::consumers(size_t k) const {
  auto it = st_.consumers.find(output(k));
  int n = it == st_.consumers.end() ? 0 : it->second;
  return n + (st_.graph_outputs.count(output(k)) ? 1 : 0);
}

bool ConvertContext::has_attr(const std::string &k) const {
  return node_.attr().count(k) != 0;
}

int64_t ConvertContext::attr_int(const std::string &k, int64_t def) const {
  auto it = node_.attr().find(k);
  return it == node_.attr().end() ? def : it->second.i();
}

float ConvertContext::attr_float(const std::string &k, float def) const {
  auto it = node_.attr().find(k);
  return it == node_.attr().end() ? def : it->second.f();
}

bool ConvertContext::attr_bool(const std::string &k, bool def) const {
  auto it = node_.attr().find(k);
  return it == node_.attr().end() ? def : it->second.b();
}

std::string ConvertContext::attr_string(const std::string &k, const std::string &def) const {
  auto it = node_.attr().find(k);
  return it == node_.attr().end() ? def : it->second.s();
}

std::vector<int64_t> ConvertContext::attr_ints(const std::string &k) const {
  auto it = node_.attr().find(k);
  if (it == node_.attr().end())
    return {};
  const auto &l = it->second.list().i();
  return {l.begin(), l.end()};
}

std::vector<std::string> ConvertContext::attr_strings(const std::string &k) const {
  auto it = node_.attr().find(k);
  if (it == node_.attr().end())
    return {};
  const auto &l = it->second.list().s();
  return {l.begin(), l.end()};
}

DType ConvertContext::attr_type(const std::string &k, DType def) const {
  auto it = node_.attr().find(k);
  if (it == node_.attr().end())
    return def;
  try {
    return dtype_from_tf(it->second.type());
  } catch (const Error &e) {
    unsupported(fmt::format("attribute '{}': {}", k, e.what()));
  }
}

std::string ConvertContext::fresh(const std::string &suffix) {
  return st_.unique(node_.name() + "/" + suffix);
}

std::string ConvertContext::add_const(const std::string &suffix, Tensor t) {
  std::string v = fresh(suffix);
  st_.graph->initializers[v] = std::move(t);
  return v;
}

Node &ConvertContext::add(const std::string &op_type, std::vector<std::string> inputs,
                          std::vector<std::string> outputs, const std::string &domain) {
  Node n;
  n.op_type = op_type;
  n.domain = domain;
  n.name = st_.unique(node_.name() + "/" + op_type);
  n.inputs = std::move(inputs);
  n.outputs = std::move(outputs);
  if (n.outputs.size() == 1 && n.outputs[0] == node_.name())
    take_name(n);
  st_.graph->nodes.push_back(std::move(n));
  return st_.graph->nodes.back();
}

void ConvertContext::take_name(Node &n) {
  if (name_taken_)
    return;
  n.name = node_.name();
  name_taken_ = true;
}

std::string ConvertContext::add1(const std::string &op_type, std::vector<std::string> inputs,
                                 std::map<std::string, Attribute> attrs) {
  std::string out = fresh(op_type);
  add(op_type, std::move(inputs), {out}).attrs = std::move(attrs);
  return out;
}

void ConvertContext::alias(size_t k, const std::string &value) {
  if (value != output(k))
    st_.aliases[output(k)] = value;
}

void ConvertContext::set_constant(size_t k, Tensor t) {
  st_.graph->initializers[output(k)] = std::move(t);
}

namespace {

std::vector<int64_t> shape_attr(const tensorflow::TensorShapeProto &s) {
  std::vector<int64_t> dims;
  for (const auto &d : s.dim())
    dims.push_back(d.size() < 0 ? -1 : d.size());
  return dims;
}

int64_t type_code(int tf_type) {
  try {
    return (int64_t)dtype_from_tf(tf_type);
  } catch (const Error &) {
    return (int64_t)DType::undefined; // resource / variant handles: no tensor dtype
  }
}

// Contract "Flat IR conventions": TF AttrValue -> Attribute; false if dropped.
bool generic_attr(const tensorflow::AttrValue &a, const std::string &where, Attribute &out) {
  using A = tensorflow::AttrValue;
  switch (a.value_case()) {
  case A::kI:
    out = (int64_t)a.i();
    return true;
  case A::kF:
    out = a.f();
    return true;
  case A::kB:
    out = (int64_t)a.b();
    return true;
  case A::kS:
    out = a.s();
    return true;
  case A::kType:
    out = type_code(a.type());
    return true;
  case A::kShape:
    if (a.shape().unknown_rank())
      return false;
    out = shape_attr(a.shape());
    return true;
  case A::kTensor:
    out = tensor_from_tf(a.tensor(), where);
    return true;
  case A::kList: {
    const auto &l = a.list();
    if (l.f_size())
      out = std::vector<float>(l.f().begin(), l.f().end());
    else if (l.s_size())
      out = std::vector<std::string>(l.s().begin(), l.s().end());
    else if (l.type_size()) {
      std::vector<int64_t> v;
      for (int t : l.type())
        v.push_back(type_code(t));
      out = v;
    } else if (l.b_size())
      out = std::vector<int64_t>(l.b().begin(), l.b().end());
    else if (l.shape_size() || l.tensor_size() || l.func_size())
      return false;
    else
      out = std::vector<int64_t>(l.i().begin(), l.i().end());
    return true;
  }
  default:
    return false;
  }
}

} // namespace

void ConvertContext::emit_generic(size_t num_outputs) {
  size_t n = std::max<size_t>(num_outputs, 1);
  if (num_outputs == 0)
    for (size_t k = 1; k < 64; ++k)
      if (consumers(k) > 0)
        n = k + 1;
  std::vector<std::string> ins;
  for (size_t i = 0; i < num_inputs(); ++i)
    ins.push_back(input(i));
  std::vector<std::string> outs;
  for (size_t k = 0; k < n; ++k)
    outs.push_back(output(k));
  Node node;
  node.name = node_.name();
  node.op_type = node_.op();
  node.domain = "tf";
  node.inputs = std::move(ins);
  node.outputs = std::move(outs);
  for (const auto &[k, a] : node_.attr()) {
    if (k.empty() || k[0] == '_')
      continue;
    Attribute v;
    if (generic_attr(a, where() + ": attribute '" + k + "'", v))
      node.attrs[k] = std::move(v);
  }
  st_.graph->nodes.push_back(std::move(node));
}

Tensor transpose_tensor(const Tensor &t, const std::vector<int64_t> &perm) {
  const Shape &s = t.shape();
  int r = t.rank();
  Shape os(r);
  for (int i = 0; i < r; ++i)
    os[i] = s[perm[i]];
  Tensor out(t.dtype(), os);
  std::vector<int64_t> in_strides(r, 1);
  for (int i = r - 2; i >= 0; --i)
    in_strides[i] = in_strides[i + 1] * s[i + 1];
  size_t es = dtype_size(t.dtype());
  const char *src = static_cast<const char *>(t.raw());
  char *dst = static_cast<char *>(out.raw());
  std::vector<int64_t> idx(r, 0);
  int64_t n = out.numel();
  for (int64_t o = 0; o < n; ++o) {
    int64_t off = 0;
    for (int i = 0; i < r; ++i)
      off += idx[i] * in_strides[perm[i]];
    std::copy_n(src + off * es, es, dst + o * es);
    for (int i = r - 1; i >= 0; --i) {
      if (++idx[i] < os[i])
        break;
      idx[i] = 0;
    }
  }
  return out;
}

Tensor i64_tensor(const std::vector<int64_t> &v) {
  return Tensor::from_vector<int64_t>({(int64_t)v.size()}, v);
}

Tensor scalar_of(DType t, double v) {
  Tensor f = Tensor::from_vector<double>({}, {v});
  return t == DType::f64 ? f : f.cast(t);
}

std::string to_nchw(ConvertContext &c, const std::string &nhwc) {
  return c.add1("Transpose", {nhwc}, {{"perm", std::vector<int64_t>{0, 3, 1, 2}}});
}

void from_nchw(ConvertContext &c, const std::string &nchw, size_t k) {
  Node n;
  n.name = c.state().unique(c.name() + "/to_nhwc");
  n.op_type = "Transpose";
  n.inputs = {nchw};
  n.outputs = {c.output(k)};
  n.attrs["perm"] = std::vector<int64_t>{0, 2, 3, 1};
  c.graph().nodes.push_back(std::move(n));
}

std::string as_i64(ConvertContext &c, size_t input) {
  if (const Tensor *t = c.constant(input))
    return t->dtype() == DType::i64 ? c.input(input) : c.add_const("i64", t->cast(DType::i64));
  return c.add1("Cast", {c.input(input)}, {{"to", (int64_t)dtype_to_onnx(DType::i64)}});
}

} // namespace qtune::tf
