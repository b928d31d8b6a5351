// TensorFlow GraphDef -> IR Graph: choose inputs/outputs, prune to what the
// outputs need (data edges only), order the nodes (loops allowed only through
// NextIteration), convert each node through the op table, fold what is
// constant, then make loops structured (H3's pass) and sort.
#include "frontends/tensorflow/tf_import.h"

#include <algorithm>
#include <fmt/format.h>
#include <set>
#include <unordered_set>

#include "frontends/tensorflow/ops/convert.h"
#include "frontends/tensorflow/tf_control_flow.h"
#include "ir/passes/pass.h"
#include "qtune/error.h"
#include "runtime/fold_constants.h"

namespace qtune::tf {

namespace {

// "n" / "n:k" / "^n" -> node name and output index (-1 for a control input).
struct TensorRef {
  std::string node;
  int index = 0;
};

TensorRef parse_ref(const std::string &s) {
  if (!s.empty() && s[0] == '^')
    return {s.substr(1), -1};
  auto colon = s.rfind(':');
  if (colon != std::string::npos && colon + 1 < s.size() &&
      std::all_of(s.begin() + colon + 1, s.end(), ::isdigit))
    return {s.substr(0, colon), std::stoi(s.substr(colon + 1))};
  return {s, 0};
}

std::string tensor_name(const TensorRef &r) {
  return r.index <= 0 ? r.node : fmt::format("{}:{}", r.node, r.index);
}

// Not graph outputs even when nothing consumes them.
const std::set<std::string> kNotOutputs = {"NoOp",
                                           "Assert",
                                           "Save",
                                           "SaveV2",
                                           "SaveSlices",
                                           "Restore",
                                           "RestoreV2",
                                           "RestoreSlice",
                                           "Const",
                                           "VariableV2",
                                           "Variable",
                                           "VarHandleOp",
                                           "Assign",
                                           "AssignAdd",
                                           "AssignSub",
                                           "Placeholder",
                                           "PlaceholderWithDefault",
                                           "AssignVariableOp",
                                           "MergeV2Checkpoints",
                                           "ShardedFilename",
                                           "StringJoin",
                                           "Print",
                                           "PrintV2",
                                           "VarIsInitializedOp"};

// Sinks of a training graph (checkpoint meta graphs): the gradients and saver
// scopes and optimizer updates are not what a user wants to run.
bool training_only(const tensorflow::NodeDef &n) {
  const std::string &name = n.name(), &op = n.op();
  return name.rfind("gradients/", 0) == 0 || name.rfind("save/", 0) == 0 ||
         op.rfind("Apply", 0) == 0 || op.rfind("ResourceApply", 0) == 0 ||
         op.rfind("Assign", 0) == 0;
}

// Never folded at import: their structure matters to later passes.
const std::set<std::string> kNoFold = {"Enter",           "Exit",          "Merge",
                                       "Switch",          "NextIteration", "LoopCond",
                                       "While",           "RandomUniform", "RandomStandardNormal",
                                       "TruncatedNormal", "RandomNormal",  "QuantizeLinear",
                                       "DequantizeLinear"};

bool is_control_flow(const std::string &op) {
  return op == "Enter" || op == "Exit" || op == "Merge" || op == "Switch" ||
         op == "NextIteration" || op == "LoopCond" || op == "RefEnter" || op == "RefExit" ||
         op == "RefMerge" || op == "RefSwitch" || op == "RefNextIteration";
}

class Importer {
public:
  Importer(const ModelSource &src, const ImportOptions &opts) : src_(src), opts_(opts) {}
  Graph run();

private:
  const ModelSource &src_;
  const ImportOptions &opts_;
  std::unordered_map<std::string, const tensorflow::NodeDef *> by_name_;
  std::vector<std::string> outputs_; // tensor names
  std::vector<std::string> inputs_;  // node names
  std::unordered_set<std::string> fed_;
  std::vector<const tensorflow::NodeDef *> order_;
  Graph g_;
  ImportState st_;
  ConstantEvaluator eval_ = make_constant_evaluator();

  const tensorflow::NodeDef *node_of(const std::string &input, const tensorflow::NodeDef *user);
  std::string normalize(const std::string &tensor, const char *what);
  void index_nodes();
  void choose_outputs();
  void choose_inputs();
  void order_nodes();
  void check_loop(const std::vector<const tensorflow::NodeDef *> &path,
                  const tensorflow::NodeDef *back_to);
  void count_consumers();
  void add_graph_inputs();
  void convert_all();
  void convert(const tensorflow::NodeDef &n);
  void fold_from(size_t first);
  void finish_outputs();
  DType output_dtype(const tensorflow::NodeDef &n) const;
};

void Importer::index_nodes() {
  for (const auto &n : src_.graph.node()) {
    if (n.name().empty())
      throw InputError(fmt::format("{}: a node has no name (op {})", src_.path, n.op()));
    // ':' separates a node from its output index and a leading '^' marks a
    // control input, so such a name could not be referred to (found by
    // fuzz_graphdef: a node named '/device:CPU:0' escaped as unordered_map::at).
    if (n.name().find(':') != std::string::npos || n.name()[0] == '^')
      throw InputError(fmt::format("{}: node '{}' (op {}): a node name may not contain ':' or "
                                   "start with '^'",
                                   src_.path, n.name(), n.op()));
    if (!by_name_.emplace(n.name(), &n).second)
      throw InputError(fmt::format("{}: two nodes are named '{}'", src_.path, n.name()));
    st_.used_names.insert(n.name());
  }
}

const tensorflow::NodeDef *Importer::node_of(const std::string &input,
                                             const tensorflow::NodeDef *user) {
  auto it = by_name_.find(parse_ref(input).node);
  if (it == by_name_.end())
    throw InputError(fmt::format("{}: node '{}' (op {}): input '{}' names no node", src_.path,
                                 user->name(), user->op(), input));
  return it->second;
}

// "x:0" -> "x"; checks the node exists.
std::string Importer::normalize(const std::string &tensor, const char *what) {
  TensorRef r = parse_ref(tensor);
  if (r.index < 0 || !by_name_.count(r.node))
    throw InputError(
        fmt::format("{}: {} '{}' names no node of the graph", src_.path, what, tensor));
  return tensor_name(r);
}

using Readers = std::unordered_map<std::string, std::vector<const tensorflow::NodeDef *>>;

// Node name -> the nodes reading one of its outputs as data (control edges
// "^x" are not reads).
Readers data_readers(const tensorflow::GraphDef &g) {
  Readers readers;
  for (const auto &n : g.node())
    for (const auto &in : n.input())
      if (!in.empty() && in[0] != '^')
        readers[parse_ref(in).node].push_back(&n);
  return readers;
}

// Nodes that cannot be graph outputs although nothing consumes their data:
// everything inside a while frame (forward from an Enter, up to the Exits) and
// the pivots of tf.cond (Identity of a Switch, read only through control edges).
std::unordered_set<std::string> control_flow_internal_nodes(
    const tensorflow::GraphDef &g, const Readers &readers,
    const std::unordered_map<std::string, const tensorflow::NodeDef *> &by_name) {
  std::unordered_set<std::string> internal;
  std::vector<const tensorflow::NodeDef *> todo;
  for (const auto &n : g.node())
    if (n.op() == "Enter" || n.op() == "RefEnter")
      todo.push_back(&n);
  while (!todo.empty()) {
    const tensorflow::NodeDef *n = todo.back();
    todo.pop_back();
    if (!internal.insert(n->name()).second)
      continue;
    auto rd = readers.find(n->name());
    if (rd == readers.end())
      continue;
    for (const tensorflow::NodeDef *r : rd->second)
      if (r->op() != "Exit" && r->op() != "RefExit")
        todo.push_back(r);
  }
  for (const auto &n : g.node()) {
    if (n.op() != "Identity" || n.input_size() == 0 || n.input(0).empty() || n.input(0)[0] == '^')
      continue;
    auto it = by_name.find(parse_ref(n.input(0)).node);
    if (it != by_name.end() && (it->second->op() == "Switch" || it->second->op() == "RefSwitch"))
      internal.insert(n.name());
  }
  return internal;
}

void Importer::choose_outputs() {
  const auto &wanted = !opts_.outputs.empty() ? opts_.outputs : src_.outputs;
  for (const auto &o : wanted)
    outputs_.push_back(normalize(o, "output"));
  if (!outputs_.empty())
    return;
  const Readers readers = data_readers(src_.graph); // one walk over every input
  std::unordered_set<std::string> internal =
      control_flow_internal_nodes(src_.graph, readers, by_name_);
  for (const auto &n : src_.graph.node())
    if (!readers.count(n.name()) && !kNotOutputs.count(n.op()) && !internal.count(n.name()) &&
        !training_only(n))
      outputs_.push_back(n.name());
  if (outputs_.empty())
    throw InputError(fmt::format("{}: the graph has no outputs (every node is consumed or a "
                                 "constant); name them with model.outputs",
                                 src_.path));
}

void Importer::choose_inputs() {
  const auto &wanted = !opts_.inputs.empty() ? opts_.inputs : src_.inputs;
  for (const auto &i : wanted) {
    std::string t = normalize(i, "input");
    if (parse_ref(t).index != 0)
      throw UnsupportedError(
          fmt::format("{}: input '{}': only a node's first output can be fed", src_.path, i));
    if (fed_.insert(t).second)
      inputs_.push_back(t);
  }
}

// Depth-first post-order from the outputs over data inputs; fed nodes are
// leaves. A back edge is a loop, legal only through a NextIteration.
void Importer::order_nodes() {
  std::unordered_map<const tensorflow::NodeDef *, int> color; // 1 open, 2 done
  struct Frame {
    const tensorflow::NodeDef *n;
    int next;
  };
  std::vector<Frame> stack;
  std::vector<const tensorflow::NodeDef *> path;
  auto push = [&](const tensorflow::NodeDef *n) {
    color[n] = 1;
    stack.push_back({n, 0});
    path.push_back(n);
  };
  for (const auto &o : outputs_) {
    const auto *root = by_name_.at(parse_ref(o).node);
    if (color[root])
      continue;
    push(root);
    while (!stack.empty()) {
      Frame &f = stack.back();
      bool leaf = fed_.count(f.n->name()) != 0;
      if (!leaf && f.next < f.n->input_size()) {
        const std::string &in = f.n->input(f.next++);
        if (in.empty() || in[0] == '^')
          continue;
        const auto *m = node_of(in, f.n);
        int c = color[m];
        if (c == 0)
          push(m);
        else if (c == 1)
          check_loop(path, m);
        continue;
      }
      color[f.n] = 2;
      order_.push_back(f.n);
      stack.pop_back();
      path.pop_back();
    }
  }
}

void Importer::check_loop(const std::vector<const tensorflow::NodeDef *> &path,
                          const tensorflow::NodeDef *back_to) {
  auto it = std::find(path.begin(), path.end(), back_to);
  std::string cycle;
  for (auto p = it; p != path.end(); ++p) {
    const std::string &op = (*p)->op();
    if (op == "NextIteration" || op == "RefNextIteration")
      return;
    cycle += (*p)->name() + " -> ";
  }
  throw InputError(
      fmt::format("{}: cycle outside a while frame: {}{}", src_.path, cycle, back_to->name()));
}

void Importer::count_consumers() {
  for (const auto *n : order_) {
    if (fed_.count(n->name()))
      continue;
    for (const auto &in : n->input())
      if (!in.empty() && in[0] != '^')
        st_.consumers[tensor_name(parse_ref(in))]++;
  }
  for (const auto &o : outputs_)
    st_.graph_outputs.insert(o);
}

ValueInfo placeholder_info(const tensorflow::NodeDef &n, DType dtype) {
  ValueInfo v;
  v.name = n.name();
  v.dtype = dtype;
  auto it = n.attr().find("shape");
  if (it == n.attr().end() || it->second.shape().unknown_rank())
    return v;
  v.has_shape = true;
  int i = 0;
  for (const auto &d : it->second.shape().dim()) {
    Dim dim;
    if (d.size() >= 0)
      dim.value = d.size();
    else
      dim.symbol = fmt::format("{}_d{}", n.name(), i);
    v.dims.push_back(dim);
    ++i;
  }
  return v;
}

// Output 0's dtype as far as the NodeDef tells (for ValueInfo; the runtime
// infers the real types): ops whose output type differs from their T first.
DType Importer::output_dtype(const tensorflow::NodeDef &n) const {
  static const std::set<std::string> boolean = {
      "Equal",     "NotEqual",   "Greater",   "GreaterEqual", "Less",
      "LessEqual", "LogicalAnd", "LogicalOr", "LogicalNot",   "IsNan",
      "IsInf",     "IsFinite",   "All",       "Any",          "LoopCond"};
  if (boolean.count(n.op()))
    return DType::boolean;
  if (n.op() == "Where" && n.input_size() == 1)
    return DType::i64;
  if (n.op().rfind("NonMaxSuppression", 0) == 0)
    return DType::i32;
  for (const char *k : {"output_type", "out_type", "DstT", "dtype", "T"}) {
    auto it = n.attr().find(k);
    if (it != n.attr().end() && it->second.value_case() == tensorflow::AttrValue::kType) {
      try {
        return dtype_from_tf(it->second.type());
      } catch (const Error &) {
        return DType::undefined;
      }
    }
  }
  return DType::undefined;
}

// Fed nodes first (in the order asked), then Placeholders nobody feeds.
void Importer::add_graph_inputs() {
  for (const auto *n : order_)
    if (!fed_.count(n->name()) && n->op() == "Placeholder") {
      fed_.insert(n->name());
      inputs_.push_back(n->name());
    }
  for (const auto &name : inputs_) {
    const auto &n = *by_name_.at(name);
    if (std::find(order_.begin(), order_.end(), &n) == order_.end())
      continue; // no output needs it
    g_.inputs.push_back(placeholder_info(n, output_dtype(n)));
  }
}

void Importer::convert(const tensorflow::NodeDef &n) {
  ConvertContext c(n, st_);
  const TfConverter *f = ConverterTable::instance().find(n.op());
  if (!f)
    c.unsupported("op not supported");
  try {
    (*f)(c);
  } catch (const Error &) {
    throw;
  } catch (const std::exception &e) {
    c.invalid(e.what());
  }
}

// Evaluates the nodes appended since `first` whose inputs are all constants.
void Importer::fold_from(size_t first) {
  std::vector<size_t> index(g_.nodes.size() - first, SIZE_MAX);
  std::vector<Node> kept;
  for (size_t i = first; i < g_.nodes.size(); ++i) {
    Node &n = g_.nodes[i];
    bool foldable = !kNoFold.count(n.op_type) && n.op_type.rfind("TensorArray", 0) != 0;
    for (const auto &in : n.inputs)
      if (in.empty() || !g_.is_initializer(in))
        foldable = false;
    if (foldable) {
      std::vector<Tensor> ins;
      for (const auto &in : n.inputs)
        ins.push_back(*g_.initializer(in));
      try {
        std::vector<Tensor> outs = eval_(n, ins);
        for (size_t k = 0; k < n.outputs.size() && k < outs.size(); ++k)
          g_.initializers[n.outputs[k]] = std::move(outs[k]);
        continue;
      } catch (const Error &) {
        // no kernel (yet) or values it rejects: the runtime runs or reports it
      }
    }
    index[i - first] = first + kept.size();
    kept.push_back(std::move(n));
  }
  g_.nodes.resize(first);
  for (auto &n : kept)
    g_.nodes.push_back(std::move(n));
  for (auto it = st_.conv_of.begin(); it != st_.conv_of.end();) {
    if (it->second < first) {
      ++it;
      continue;
    }
    size_t ni = index[it->second - first];
    if (ni == SIZE_MAX)
      it = st_.conv_of.erase(it);
    else
      (it++)->second = ni;
  }
}

void Importer::convert_all() {
  for (const auto *n : order_) {
    if (fed_.count(n->name()))
      continue;
    size_t first = g_.nodes.size();
    convert(*n);
    fold_from(first);
  }
  // Loops: a NextIteration may read a value aliased after it was converted.
  for (auto &n : g_.nodes)
    for (auto &in : n.inputs)
      if (!in.empty())
        in = st_.resolve(in);
}

// Every output is a node output of its TF name (an Identity where the value is
// an alias, a constant or another node's output).
void Importer::finish_outputs() {
  auto producers = g_.producers();
  for (const auto &o : outputs_) {
    std::string v = st_.resolve(o);
    bool is_input = std::any_of(g_.inputs.begin(), g_.inputs.end(),
                                [&](const ValueInfo &i) { return i.name == v; });
    if (v == o && (producers.count(o) || is_input)) {
      // already a node output (or a fed input passed through)
    } else {
      if (v == o) { // a folded constant: keep it as an initializer under another name
        v = st_.unique(o + "/value");
        g_.initializers[v] = std::move(g_.initializers.at(o));
        g_.initializers.erase(o);
      }
      Node id;
      id.name = st_.unique(parse_ref(o).node + "/output");
      id.op_type = "Identity";
      id.inputs = {v};
      id.outputs = {o};
      g_.nodes.push_back(std::move(id));
    }
    ValueInfo vi;
    vi.name = o;
    vi.dtype = output_dtype(*by_name_.at(parse_ref(o).node));
    g_.outputs.push_back(vi);
  }
}

Graph Importer::run() {
  g_.source = src_.path;
  g_.name = src_.path;
  g_.opset = 17;
  st_.graph = &g_;
  st_.source = &src_;
  index_nodes();
  choose_outputs();
  choose_inputs();
  order_nodes();
  count_consumers();
  add_graph_inputs();
  convert_all();
  finish_outputs();
  eliminate_dead_nodes(g_);
  bool has_loops = std::any_of(g_.nodes.begin(), g_.nodes.end(), [](const Node &n) {
    return n.domain == "tf" && is_control_flow(n.op_type);
  });
  if (has_loops)
    build_while_loops(g_);
  g_.toposort();
  return std::move(g_);
}

} // namespace

Graph import_graph(const ModelSource &source, const ImportOptions &options) {
  return Importer(source, options).run();
}

} // namespace qtune::tf
