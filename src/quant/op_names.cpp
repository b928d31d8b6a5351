#include "quant/op_names.h"

#include <algorithm>
#include <cctype>

#include "ir/edit_distance.h"
#include "quant/plan.h"

namespace qtune::quant {

namespace {

// Ops between a conv and the value a TF node name denotes: layout changes,
// activations, a constant bias. Input 0 is the data path.
bool transparent(const Node &n, const Graph &g) {
  static const std::vector<std::string> ops = {"Transpose", "Identity", "Relu",     "Clip",
                                               "LeakyRelu", "Sigmoid",  "Tanh",     "Elu",
                                               "Reshape",   "Squeeze",  "Unsqueeze"};
  if (std::find(ops.begin(), ops.end(), n.op_type) != ops.end())
    return true;
  return (n.op_type == "Add" || n.op_type == "Sub") && n.inputs.size() == 2 &&
         g.is_initializer(n.inputs[1]);
}

// TF nodes the import folds into the conv before them, so no IR node keeps
// their name: BiasAdd, batch norm (FusedBatchNorm or its Rsqrt/Mul/Sub form under
// a BatchNorm scope), activations fused into _FusedConv2D.
bool folded_at_import(const std::string &name) {
  auto slash = name.rfind('/');
  std::string last = slash == std::string::npos ? name : name.substr(slash + 1);
  if (last == "BiasAdd" || last == "Relu" || last == "Relu6" || last == "LeakyRelu" ||
      last.rfind("FusedBatchNorm", 0) == 0)
    return true;
  return name.find("BatchNorm/") != std::string::npos ||
         name.find("batchnorm/") != std::string::npos;
}

std::string parent_scope(const std::string &name) {
  auto slash = name.rfind('/');
  return slash == std::string::npos ? "" : name.substr(0, slash);
}

} // namespace

std::string imported_origin(const Node &n) {
  auto slash = n.name.rfind('/');
  if (slash == std::string::npos)
    return n.name;
  const std::string last = n.name.substr(slash + 1);
  const std::string prefix = n.op_type + "_";
  if (last.size() <= prefix.size() || last.compare(0, prefix.size(), prefix) != 0)
    return n.name;
  for (size_t i = prefix.size(); i < last.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(last[i])))
      return n.name;
  return n.name.substr(0, slash);
}

OpNameResolver::OpNameResolver(const Graph &g) : g_(g), producers_(g.producers()) {
  for (size_t i = 0; i < g.nodes.size(); ++i)
    node_index_[g.nodes[i].name] = i;
  for (const auto &q : list_quantizable_nodes(g)) {
    index_[q.name] = quantizable_.size();
    quantizable_.push_back(q.name);
    compute_.push_back(q.role != QuantRole::passthrough);
  }
}

std::vector<std::string> OpNameResolver::imported_from(const std::string &tf_name,
                                                       bool compute_only) const {
  std::vector<std::string> out;
  for (size_t i = 0; i < quantizable_.size(); ++i) {
    const Node &n = g_.nodes[node_index_.at(quantizable_[i])];
    if (n.name != tf_name && imported_origin(n) == tf_name && (compute_[i] || !compute_only))
      out.push_back(n.name);
  }
  return out;
}

std::string OpNameResolver::trace_value(const std::string &value) const {
  std::string v = value;
  for (int depth = 0; depth < 16; ++depth) {
    auto p = producers_.find(v);
    if (p == producers_.end())
      return "";
    const Node &n = g_.nodes[p->second];
    if (auto q = index_.find(n.name); q != index_.end() && compute_[q->second])
      return n.name;
    if (!transparent(n, g_) || n.inputs.empty())
      return "";
    v = n.inputs[0];
  }
  return "";
}

std::vector<std::string> OpNameResolver::in_scope(const std::string &scope) const {
  std::vector<std::string> out;
  for (size_t i = 0; i < quantizable_.size(); ++i) {
    if (!compute_[i])
      continue;
    const Node &n = g_.nodes[node_index_.at(quantizable_[i])];
    if (parent_scope(imported_origin(n)) == scope)
      out.push_back(n.name);
  }
  return out;
}

OpNameMatch OpNameResolver::match(const std::string &name) const {
  // The TF import names the NHWC Transpose after a conv like the TF conv node:
  // the conv itself comes first.
  if (auto v = imported_from(name, true); !v.empty())
    return {v, "imported from"};
  if (index_.count(name))
    return {{name}, "exact"};
  if (auto v = imported_from(name, false); !v.empty())
    return {v, "imported from"};
  // A node name is also its output 0 (TF convention; ONNX nodes named after outputs).
  std::string value = name;
  if (auto it = node_index_.find(name);
      it != node_index_.end() && !g_.nodes[it->second].outputs.empty())
    value = g_.nodes[it->second].outputs[0];
  if (auto c = trace_value(value); !c.empty())
    return {{c}, "value"};
  if (!folded_at_import(name))
    return {};
  std::string scope = parent_scope(name);
  for (int up = 0; up < 2 && !scope.empty(); ++up, scope = parent_scope(scope)) {
    auto v = in_scope(scope);
    if (v.size() == 1)
      return {v, "scope"};
    if (v.size() > 1)
      break;
  }
  return {};
}

std::vector<std::string> OpNameResolver::close_names(const std::string &name, size_t max) const {
  // Compare with the TF origin of imported nodes: the names users write.
  std::vector<std::pair<size_t, std::string>> scored;
  for (const auto &q : quantizable_) {
    const Node &n = g_.nodes[node_index_.at(q)];
    std::string shown = imported_origin(n);
    bool sub = shown.find(name) != std::string::npos || name.find(shown) != std::string::npos;
    size_t d = sub ? 0 : edit_distance_nocase(name, shown);
    scored.push_back({d, shown});
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto &a, const auto &b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (const auto &[d, s] : scored) {
    if (out.size() >= max)
      break;
    if (std::find(out.begin(), out.end(), s) == out.end())
      out.push_back(s);
  }
  return out;
}

std::string OpNameResolver::unmatched_message(const std::string &where,
                                              const std::string &name) const {
  std::string msg = where + ": '" + name + "' matches no quantizable node (" +
                    std::to_string(quantizable_.size()) + " in the model); ";
  auto close = close_names(name);
  if (close.empty())
    return msg + "no close names";
  msg += "close: ";
  for (size_t i = 0; i < close.size(); ++i)
    msg += (i ? ", " : "") + close[i];
  return msg;
}

ResolvedNames resolve_op_names(const Graph &g, const std::vector<std::string> &names,
                               const std::string &where) {
  OpNameResolver r(g);
  ResolvedNames out;
  for (const auto &name : names) {
    OpNameMatch m = r.match(name);
    out.nodes[name] = m.nodes;
    out.exact[name] = m.rule == "exact";
    if (m.nodes.empty()) {
      out.messages.push_back("warning: " + r.unmatched_message(where, name));
    } else if (m.rule != "exact") {
      std::string list;
      for (const auto &n : m.nodes)
        list += (list.empty() ? "" : ", ") + n;
      out.messages.push_back("note: " + where + ": '" + name + "' -> " + list + " (" + m.rule +
                             ")");
    }
  }
  return out;
}

} // namespace qtune::quant
