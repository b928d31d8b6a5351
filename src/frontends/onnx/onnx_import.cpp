// ONNX model -> Graph: protobuf parse, ONNX shape inference for intermediate
// value types, initializers (Constant nodes become initializers), attributes,
// sub-graphs, then canonical op forms and a topological sort.
#include <climits>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <google/protobuf/io/coded_stream.h>
#include <nlohmann/json.hpp>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>
#include <sstream>
#include <unordered_set>

#include "frontends/onnx/onnx_canonicalize.h"
#include "frontends/onnx/onnx_import.h"

#include "ir/input_file.h"
#include "ir/precision_reason.h"
#include "qtune/error.h"
#include <climits>
#include <google/protobuf/io/coded_stream.h>

namespace qtune {

namespace {

struct ImportContext {
  std::string source;    // model file, for messages
  std::string model_dir; // anchors external data
};

ValueInfo value_info_from_proto(const onnx::ValueInfoProto &p) {
  ValueInfo v;
  v.name = p.name();
  if (!p.type().has_tensor_type())
    return v;
  const auto &tt = p.type().tensor_type();
  v.dtype = dtype_from_onnx(tt.elem_type());
  if (!tt.has_shape())
    return v;
  v.has_shape = true;
  for (const auto &d : tt.shape().dim()) {
    Dim dim;
    if (d.has_dim_value())
      dim.value = d.dim_value();
    else if (d.has_dim_param())
      dim.symbol = d.dim_param();
    v.dims.push_back(dim);
  }
  return v;
}

Graph graph_from_proto(const onnx::GraphProto &gp, const ImportContext &ctx, int64_t opset);

std::string attr_place(const Node &n, const std::string &attr) {
  return fmt::format("{}: attribute '{}'", n.describe(), attr);
}

Attribute attribute_from_proto(const onnx::AttributeProto &a, const Node &n,
                               const ImportContext &ctx, int64_t opset) {
  using A = onnx::AttributeProto;
  auto type = a.type();
  if (type == A::UNDEFINED) { // very old models leave the type out
    if (a.has_f())
      type = A::FLOAT;
    else if (a.has_i())
      type = A::INT;
    else if (a.has_s())
      type = A::STRING;
    else if (a.has_t())
      type = A::TENSOR;
    else if (a.has_g())
      type = A::GRAPH;
    else if (a.floats_size())
      type = A::FLOATS;
    else if (a.ints_size())
      type = A::INTS;
    else if (a.strings_size())
      type = A::STRINGS;
  }
  switch (type) {
  case A::FLOAT:
    return a.f();
  case A::INT:
    return a.i();
  case A::STRING:
    return a.s();
  case A::TENSOR:
    return tensor_from_proto(a.t(), ctx.model_dir);
  case A::GRAPH:
    return std::make_shared<Graph>(graph_from_proto(a.g(), ctx, opset));
  case A::FLOATS:
    return std::vector<float>(a.floats().begin(), a.floats().end());
  case A::INTS:
    return std::vector<int64_t>(a.ints().begin(), a.ints().end());
  case A::STRINGS:
    return std::vector<std::string>(a.strings().begin(), a.strings().end());
  default:
    throw UnsupportedError(
        fmt::format("{} has unsupported attribute type {}", attr_place(n, a.name()), (int)type));
  }
}

// A Constant node's value as a tensor (value, value_float(s), value_int(s), value_string(s)).
Tensor constant_value(const onnx::NodeProto &np, const Node &n, const ImportContext &ctx) {
  for (const auto &a : np.attribute()) {
    const std::string &k = a.name();
    if (k == "value")
      return tensor_from_proto(a.t(), ctx.model_dir);
    if (k == "value_float")
      return Tensor::scalar_f32(a.f());
    if (k == "value_int")
      return Tensor::scalar_i64(a.i());
    if (k == "value_floats")
      return Tensor::from_vector<float>({a.floats_size()}, {a.floats().begin(), a.floats().end()});
    if (k == "value_ints")
      return Tensor::from_vector<int64_t>({a.ints_size()}, {a.ints().begin(), a.ints().end()});
    if (k == "value_string") {
      Tensor t(DType::string, {});
      t.strings[0] = a.s();
      return t;
    }
    if (k == "value_strings") {
      Tensor t(DType::string, {a.strings_size()});
      t.strings.assign(a.strings().begin(), a.strings().end());
      return t;
    }
  }
  throw UnsupportedError(
      fmt::format("{}: no supported value attribute (sparse_value?)", n.describe()));
}

// Each value has one writer: a second node (or a graph input) writing the same
// name would make the result depend on execution order.
void check_single_writer(const Graph &g) {
  std::unordered_map<std::string, const Node *> writer;
  std::unordered_set<std::string> inputs;
  for (const auto &in : g.inputs)
    inputs.insert(in.name);
  for (const Node &n : g.nodes)
    for (const auto &o : n.outputs) {
      if (o.empty())
        continue;
      if (inputs.count(o))
        throw InputError(fmt::format("{} writes '{}', which is a graph input", n.describe(), o));
      auto [it, fresh] = writer.emplace(o, &n);
      if (!fresh)
        throw InputError(
            fmt::format("{} and {} both write '{}'", it->second->describe(), n.describe(), o));
    }
}

std::string fresh_node_name(const std::string &op, size_t index,
                            std::unordered_set<std::string> &used) {
  std::string name = fmt::format("{}_{}", op, index);
  while (used.count(name))
    name += "_";
  return name;
}

Graph graph_from_proto(const onnx::GraphProto &gp, const ImportContext &ctx, int64_t opset) {
  Graph g;
  g.name = gp.name();
  g.opset = opset;
  g.source = ctx.source;
  for (const auto &init : gp.initializer())
    g.initializers[init.name()] = tensor_from_proto(init, ctx.model_dir);
  for (const auto &sp : gp.sparse_initializer())
    throw UnsupportedError(
        fmt::format("sparse initializer '{}' is not supported", sp.values().name()));
  // Older exporters list weights as graph inputs too: the initializer wins.
  for (const auto &in : gp.input())
    if (!g.is_initializer(in.name()))
      g.inputs.push_back(value_info_from_proto(in));
  for (const auto &out : gp.output())
    g.outputs.push_back(value_info_from_proto(out));
  for (const auto &vi : gp.value_info())
    g.value_info[vi.name()] = value_info_from_proto(vi);

  std::unordered_set<std::string> used_names;
  for (const auto &np : gp.node())
    used_names.insert(np.name());
  g.nodes.reserve(gp.node_size());
  for (int i = 0; i < gp.node_size(); ++i) {
    const auto &np = gp.node(i);
    Node n;
    n.op_type = np.op_type();
    n.domain = np.domain() == "ai.onnx" ? "" : np.domain();
    n.name = np.name().empty() ? fresh_node_name(n.op_type, i, used_names) : np.name();
    used_names.insert(n.name);
    n.inputs.assign(np.input().begin(), np.input().end());
    n.outputs.assign(np.output().begin(), np.output().end());
    if (n.op_type == "Constant" && n.domain.empty() && n.outputs.size() == 1) {
      g.initializers[n.outputs[0]] = constant_value(np, n, ctx);
      continue;
    }
    for (const auto &a : np.attribute())
      n.attrs[a.name()] = attribute_from_proto(a, n, ctx, opset);
    g.nodes.push_back(std::move(n));
  }
  check_single_writer(g);
  return g;
}

// Names visible inside sub-graphs: everything the outer graph defines.
std::unordered_set<std::string> visible_names(const Graph &g,
                                              const std::unordered_set<std::string> &outer) {
  std::unordered_set<std::string> names = outer;
  for (const auto &in : g.inputs)
    names.insert(in.name);
  for (const auto &[k, v] : g.initializers)
    names.insert(k);
  for (const auto &n : g.nodes)
    for (const auto &o : n.outputs)
      names.insert(o);
  return names;
}

void sort_recursive(Graph &g, const std::unordered_set<std::string> &outer) {
  g.toposort(outer);
  std::unordered_set<std::string> names;
  bool has_subgraphs = false;
  for (auto &n : g.nodes)
    for (auto &[k, a] : n.attrs)
      if (std::holds_alternative<std::shared_ptr<Graph>>(a))
        has_subgraphs = true;
  if (!has_subgraphs)
    return;
  names = visible_names(g, outer);
  for (auto &n : g.nodes)
    for (auto &[k, a] : n.attrs)
      if (auto *sub = std::get_if<std::shared_ptr<Graph>>(&a))
        sort_recursive(**sub, names);
}

int64_t default_opset(const onnx::ModelProto &m) {
  for (const auto &op : m.opset_import())
    if (op.domain().empty() || op.domain() == "ai.onnx")
      return op.version();
  return 0;
}

// Window attributes ONNX's shape inference divides by: a zero stride or
// dilation there is a SIGFPE, so they are checked before it runs.
bool has_window_attrs(const onnx::NodeProto &np) {
  static const std::unordered_set<std::string> ops = {"Conv",        "ConvTranspose", "ConvInteger",
                                                      "QLinearConv", "MaxPool",       "AveragePool",
                                                      "LpPool",      "MaxUnpool",     "DeformConv"};
  return (np.domain().empty() || np.domain() == "ai.onnx") && ops.count(np.op_type());
}

void check_window_attrs(const onnx::NodeProto &np, int index, const std::string &source) {
  for (const auto &a : np.attribute()) {
    const std::string &k = a.name();
    int64_t min = k == "pads" ? 0 : 1;
    if (k != "strides" && k != "dilations" && k != "kernel_shape" && k != "pads")
      continue;
    for (int64_t v : a.ints())
      if (v < min)
        throw InputError(fmt::format("{}: {} node '{}' (#{}): attribute '{}' has {}, must be >= {}",
                                     source, np.op_type(), np.name(), index, k, v, min));
  }
}

void check_graph_attrs(const onnx::GraphProto &gp, const std::string &source) {
  for (int i = 0; i < gp.node_size(); ++i) {
    const auto &np = gp.node(i);
    if (has_window_attrs(np))
      check_window_attrs(np, i, source);
    for (const auto &a : np.attribute()) {
      if (a.has_g())
        check_graph_attrs(a.g(), source);
      for (const auto &sub : a.graphs())
        check_graph_attrs(sub, source);
    }
  }
}

// Nodes of a domain ONNX has no schemas for (TensorFlow graphs' `tf` ops).
bool has_foreign_domain(const onnx::GraphProto &g) {
  for (const auto &n : g.node())
    if (!n.domain().empty() && n.domain() != "ai.onnx" && n.domain() != "qtune" &&
        n.domain() != "com.microsoft")
      return true;
  return false;
}

// Every node input is a graph input, an initializer or an output of an earlier
// node (or empty: an omitted optional input).
bool inputs_defined_in_order(const onnx::GraphProto &g) {
  std::unordered_set<std::string> known;
  for (const auto &v : g.input())
    known.insert(v.name());
  for (const auto &t : g.initializer())
    known.insert(t.name());
  for (const auto &n : g.node()) {
    for (const auto &in : n.input())
      if (!in.empty() && !known.count(in))
        return false;
    for (const auto &out : n.output())
      known.insert(out);
  }
  return true;
}

// What names mean in a graph and the graphs around it (for subgraphs).
struct ConstScope {
  std::unordered_map<std::string, const onnx::TensorProto *> inits;
  std::unordered_map<std::string, const onnx::NodeProto *> producer;
};

// The constant behind `v`: an initializer or a Constant node's value, or one
// seen through the shape-preserving ops a quantized or converted weight
// passes (QuantizeLinear, DequantizeLinear, Identity, Cast).
const onnx::TensorProto *weight_constant(std::string v, const ConstScope &scope) {
  for (int hops = 0; hops < 8; ++hops) {
    if (auto it = scope.inits.find(v); it != scope.inits.end())
      return it->second;
    auto p = scope.producer.find(v);
    if (p == scope.producer.end())
      return nullptr;
    const onnx::NodeProto &n = *p->second;
    const std::string &op = n.op_type();
    if (op == "Constant") {
      for (const auto &a : n.attribute())
        if (a.name() == "value" && a.has_t())
          return &a.t();
      return nullptr;
    }
    if (n.input_size() < 1 ||
        (op != "QuantizeLinear" && op != "DequantizeLinear" && op != "Identity" && op != "Cast"))
      return nullptr;
    v = n.input(0);
  }
  return nullptr;
}

// Where the weight sits among a conv-like node's inputs, or -1 for other ops.
int conv_weight_input(const onnx::NodeProto &n) {
  if (!n.domain().empty() && n.domain() != "ai.onnx")
    return -1;
  const std::string &op = n.op_type();
  if (op == "Conv" || op == "ConvInteger" || op == "ConvTranspose")
    return 1;
  return op == "QLinearConv" ? 3 : -1;
}

// libonnx 1.12's conv and conv-transpose shape inference take the kernel size
// from the weight's shape when `kernel_shape` is absent and then index it by
// the input's rank without a check (fuzz_onnx: a rank-1 weight under
// `auto_pad` read address 0). The copy shape inference sees gets an explicit
// kernel_shape from the weight constant, which ONNX does check against the
// input's rank (`pinned` lists the nodes, so the attribute is taken off again
// after inference). False when a weight is not a constant: then inference is
// skipped (the runtime infers shapes itself and checks the weight with the
// node's name).
bool pin_kernel_shapes(onnx::GraphProto &g, ConstScope scope,
                       std::vector<onnx::NodeProto *> &pinned) {
  for (const auto &t : g.initializer())
    scope.inits[t.name()] = &t;
  for (const auto &n : g.node())
    for (const auto &out : n.output())
      scope.producer[out] = &n;
  for (auto &n : *g.mutable_node()) {
    for (auto &a : *n.mutable_attribute()) {
      if (a.has_g() && !pin_kernel_shapes(*a.mutable_g(), scope, pinned))
        return false;
      for (auto &sub : *a.mutable_graphs())
        if (!pin_kernel_shapes(sub, scope, pinned))
          return false;
    }
    const int w = conv_weight_input(n);
    bool has_kernel = false;
    for (const auto &a : n.attribute())
      has_kernel = has_kernel || a.name() == "kernel_shape";
    if (w < 0 || has_kernel || n.input_size() <= w)
      continue;
    const onnx::TensorProto *t = weight_constant(n.input(w), scope);
    if (!t)
      return false;
    onnx::AttributeProto *k = n.add_attribute();
    k->set_name("kernel_shape");
    k->set_type(onnx::AttributeProto::INTS);
    for (int i = 2; i < t->dims_size(); ++i)
      k->add_ints(t->dims(i));
    pinned.push_back(&n);
  }
  return true;
}

// Takes the pinned kernel_shape off again (by name: the model stays as written).
void unpin_kernel_shape(onnx::NodeProto &n) {
  auto *attrs = n.mutable_attribute();
  for (int i = attrs->size() - 1; i >= 0; --i)
    if (attrs->Get(i).name() == "kernel_shape") {
      attrs->DeleteSubrange(i, 1);
      return;
    }
}

// The file's own value_info, in every sub-graph too. Exporters write it for
// the input size they were run with; a model whose input the user resized
// keeps it stale, and ONNX inference (error_mode 0) keeps a stored shape that
// conflicts with an inferred one. Passes fold shapes into constants
// (fold_constants: Shape of a static value), so only shapes inferred from the
// declared inputs may stand.
void clear_value_info(onnx::GraphProto &g) {
  g.clear_value_info();
  for (auto &n : *g.mutable_node())
    for (auto &a : *n.mutable_attribute()) {
      if (a.has_g())
        clear_value_info(*a.mutable_g());
      for (auto &sub : *a.mutable_graphs())
        clear_value_info(sub);
    }
}

// ONNX's own shape inference fills value_info for intermediates. Best effort:
// newer opsets or custom domains may defeat it, and the runtime infers shapes
// itself, so a failure here only leaves value_info empty.
void infer_shapes_best_effort(onnx::ModelProto &m) {
  clear_value_info(*m.mutable_graph());
  std::vector<onnx::NodeProto *> pinned;
  if (pin_kernel_shapes(*m.mutable_graph(), ConstScope{}, pinned)) {
    try {
      onnx::ShapeInferenceOptions opts;
      opts.check_type = false;
      opts.error_mode = 0;
      // libonnx 1.12's data propagation dereferences missing types: it crashed
      // (SIGSEGV, not an exception) on a quantized ssd_mobilenet_v1 whose shape
      // arithmetic reads outputs of tf-domain ops (no schema, so no type).
      // The same for a node reading a name nothing defines before it (found by
      // fuzz_onnx: a Shape node reading a renamed graph input); such a model
      // fails later with the node's name, so inference only needs to survive it.
      opts.enable_data_propagation =
          !has_foreign_domain(m.graph()) && inputs_defined_in_order(m.graph());
      onnx::shape_inference::InferShapes(m, onnx::OpSchemaRegistry::Instance(), opts);
    } catch (const std::exception &) {
    }
  }
  for (onnx::NodeProto *n : pinned)
    unpin_kernel_shape(*n);
}

// Splits a marked-nodes metadata value (kBf16NodesKey, kChannelScaleNodesKey)
// into node names (undoing the backslash escapes).
std::vector<std::string> split_marked_names(const std::string &value) {
  std::vector<std::string> names(1);
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\\' && i + 1 < value.size())
      names.back() += value[++i];
    else if (value[i] == ',')
      names.emplace_back();
    else
      names.back() += value[i];
  }
  return names;
}

// Puts the marks listed in the model metadata under `key` back on the nodes:
// bf16 precision (kBf16NodesKey), recipe markers (kChannelScaleNodesKey).
void restore_marks(const onnx::ModelProto &model, Graph &g, const std::string &source,
                   const char *key, const char *attr, const Attribute &value) {
  for (const auto &meta : model.metadata_props()) {
    if (meta.key() != key || meta.value().empty())
      continue;
    std::unordered_map<std::string, Node *> by_name;
    for (Node &n : g.nodes)
      by_name[n.name] = &n;
    for (const std::string &name : split_marked_names(meta.value())) {
      auto it = by_name.find(name);
      if (it == by_name.end())
        throw InputError(fmt::format("{}: metadata_props '{}' names node '{}' that is not in "
                                     "the graph",
                                     source, key, name));
      it->second->attrs[attr] = value;
    }
  }
}

// Puts the quantizer's reasons (kPrecisionReasonsKey) back on their nodes; a
// reason naming a node that is not there is dropped (it explains nothing).
void restore_precision_reasons(const onnx::ModelProto &model, Graph &g, const std::string &source) {
  for (const auto &meta : model.metadata_props()) {
    if (meta.key() != kPrecisionReasonsKey)
      continue;
    const nlohmann::json j = nlohmann::json::parse(meta.value(), nullptr, false);
    if (!j.is_object())
      throw InputError(fmt::format("{}: metadata_props '{}' is not a JSON object", source,
                                   kPrecisionReasonsKey));
    for (Node &n : g.nodes)
      if (auto it = j.find(n.name); it != j.end() && it->is_string())
        n.attrs[kPrecisionReasonAttr] = it->get<std::string>();
  }
}

} // namespace

Graph graph_from_model_proto(const onnx::ModelProto &model, const std::string &source,
                             const std::string &model_dir) {
  if (!model.has_graph())
    throw InputError(fmt::format("{}: not a valid ONNX model (no graph)", source));
  int64_t opset = default_opset(model);
  if (opset <= 0)
    throw InputError(
        fmt::format("{}: not a valid ONNX model (no default-domain opset_import)", source));
  check_graph_attrs(model.graph(), source);
  onnx::ModelProto inferred = model;
  infer_shapes_best_effort(inferred);
  ImportContext ctx{source, model_dir};
  Graph g;
  try {
    g = graph_from_proto(inferred.graph(), ctx, opset);
  } catch (const UnsupportedError &e) {
    throw UnsupportedError(fmt::format("{}: {}", source, e.what()));
  } catch (const Error &e) {
    throw InputError(fmt::format("{}: {}", source, e.what()));
  }
  g.source = source;
  canonicalize_onnx_ops(g);
  restore_marks(model, g, source, kBf16NodesKey, kPrecisionAttr, std::string("bf16"));
  restore_marks(model, g, source, kChannelScaleNodesKey, kChannelScaleAttr, int64_t{1});
  restore_precision_reasons(model, g, source);
  sort_recursive(g, {});
  return g;
}

namespace {

// Whether `bytes` failed only because of protobuf's default nesting limit
// (100): parsed again with a limit of 1000 they are a model.
bool parses_nested_deeper(const std::string &bytes) {
  if (bytes.size() > static_cast<size_t>(INT_MAX))
    return false;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t *>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  in.SetRecursionLimit(1000);
  onnx::ModelProto model;
  return model.ParseFromCodedStream(&in) && in.ConsumedEntireMessage();
}

} // namespace

Graph load_onnx(const std::string &path) {
  std::ifstream in = open_input_file(path, "model file");
  if (!in)
    throw InputError(fmt::format("{}: cannot open model file", path));
  std::stringstream buf;
  buf << in.rdbuf();
  std::string bytes = buf.str();
  if (bytes.empty())
    throw InputError(fmt::format("{}: not a valid ONNX model (empty file)", path));
  onnx::ModelProto model;
  if (!model.ParseFromString(bytes)) {
    if (parses_nested_deeper(bytes))
      throw InputError(fmt::format("{}: not a valid ONNX model (messages nested deeper than "
                                   "protobuf's limit of 100 levels)",
                                   path));
    throw InputError(fmt::format(
        "{}: not a valid ONNX model (protobuf parse failed; truncated or not ONNX)", path));
  }
  if (model.ir_version() <= 0)
    throw InputError(fmt::format("{}: not a valid ONNX model (no ir_version)", path));
  std::string dir = std::filesystem::path(path).parent_path().string();
  return graph_from_model_proto(model, path, dir);
}

} // namespace qtune
