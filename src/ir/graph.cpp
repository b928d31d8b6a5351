#include "ir/graph.h"

#include <fmt/format.h>
#include <queue>
#include <unordered_set>

#include "qtune/error.h"

namespace qtune {

Shape ValueInfo::static_shape() const {
  Shape s;
  for (const Dim& d : dims) {
    if (!d.known()) throw Error(fmt::format("value '{}' has symbolic dimension '{}'", name, d.symbol));
    s.push_back(d.value);
  }
  return s;
}

namespace {
template <typename T> const T* find_attr(const Node& n, const std::string& k) {
  auto it = n.attrs.find(k);
  if (it == n.attrs.end()) return nullptr;
  const T* v = std::get_if<T>(&it->second);
  if (!v) throw InputError(fmt::format("{}: attribute '{}' has the wrong type", n.describe(), k));
  return v;
}
} // namespace

int64_t Node::attr_int(const std::string& k, int64_t def) const {
  const auto* v = find_attr<int64_t>(*this, k);
  return v ? *v : def;
}
float Node::attr_float(const std::string& k, float def) const {
  auto it = attrs.find(k);
  if (it != attrs.end())
    if (const auto* i = std::get_if<int64_t>(&it->second)) return static_cast<float>(*i);
  const auto* v = find_attr<float>(*this, k);
  return v ? *v : def;
}
std::string Node::attr_string(const std::string& k, const std::string& def) const {
  const auto* v = find_attr<std::string>(*this, k);
  return v ? *v : def;
}
std::vector<int64_t> Node::attr_ints(const std::string& k, std::vector<int64_t> def) const {
  const auto* v = find_attr<std::vector<int64_t>>(*this, k);
  return v ? *v : def;
}
std::vector<float> Node::attr_floats(const std::string& k, std::vector<float> def) const {
  const auto* v = find_attr<std::vector<float>>(*this, k);
  return v ? *v : def;
}
const Tensor* Node::attr_tensor(const std::string& k) const { return find_attr<Tensor>(*this, k); }

std::string Node::describe() const { return fmt::format("{} node '{}'", op_type, name); }

size_t Node::num_inputs() const {
  size_t n = inputs.size();
  while (n > 0 && inputs[n - 1].empty()) --n;
  return n;
}

const Tensor* Graph::initializer(const std::string& v) const {
  auto it = initializers.find(v);
  return it == initializers.end() ? nullptr : &it->second;
}

std::unordered_map<std::string, size_t> Graph::producers() const {
  std::unordered_map<std::string, size_t> p;
  for (size_t i = 0; i < nodes.size(); ++i)
    for (const auto& o : nodes[i].outputs)
      if (!o.empty()) p[o] = i;
  return p;
}

std::unordered_map<std::string, std::vector<size_t>> Graph::consumers() const {
  std::unordered_map<std::string, std::vector<size_t>> c;
  for (size_t i = 0; i < nodes.size(); ++i) {
    for (const auto& in : nodes[i].inputs)
      if (!in.empty()) c[in].push_back(i);
    for (const auto& [key, a] : nodes[i].attrs)
      if (const auto* sub = std::get_if<std::shared_ptr<Graph>>(&a); sub && *sub)
        for (const auto& v : (*sub)->outer_reads()) c[v].push_back(i);
  }
  return c;
}

std::vector<std::string> Graph::outer_reads() const {
  std::unordered_set<std::string> defined;
  for (const auto& in : inputs) defined.insert(in.name);
  for (const auto& [k, v] : initializers) defined.insert(k);
  for (const auto& n : nodes)
    for (const auto& o : n.outputs) defined.insert(o);
  std::vector<std::string> out;
  auto read = [&](const std::string& v) {
    if (!v.empty() && !defined.count(v)) out.push_back(v);
  };
  for (const auto& n : nodes) {
    for (const auto& in : n.inputs) read(in);
    for (const auto& [k, a] : n.attrs)
      if (const auto* sub = std::get_if<std::shared_ptr<Graph>>(&a); sub && *sub)
        for (const auto& v : (*sub)->outer_reads()) read(v);
  }
  for (const auto& o : outputs) read(o.name);
  return out;
}

bool Graph::is_graph_output(const std::string& v) const {
  for (const auto& o : outputs)
    if (o.name == v) return true;
  return false;
}

void Graph::toposort(const std::unordered_set<std::string>& outer_scope) {
  auto prod = producers();
  std::unordered_set<std::string> available(outer_scope.begin(), outer_scope.end());
  for (const auto& in : inputs) available.insert(in.name);
  for (const auto& [k, v] : initializers) available.insert(k);

  // Kahn's algorithm, keeping the original order among ready nodes so sorted
  // models stay as they are.
  std::vector<int> missing(nodes.size(), 0);
  std::unordered_map<std::string, std::vector<size_t>> waiting;
  for (size_t i = 0; i < nodes.size(); ++i) {
    for (const auto& in : nodes[i].inputs) {
      if (in.empty() || available.count(in)) continue;
      if (!prod.count(in))
        throw InputError(fmt::format("{}{}: input '{}' is not produced by any node, input or initializer",
                                     source.empty() ? "" : source + ": ", nodes[i].describe(), in));
      missing[i]++;
      waiting[in].push_back(i);
    }
  }
  std::priority_queue<size_t, std::vector<size_t>, std::greater<>> ready;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (missing[i] == 0) ready.push(i);
  std::vector<Node> sorted;
  sorted.reserve(nodes.size());
  while (!ready.empty()) {
    size_t i = ready.top();
    ready.pop();
    sorted.push_back(nodes[i]);
    for (const auto& o : nodes[i].outputs) {
      auto it = waiting.find(o);
      if (it == waiting.end()) continue;
      for (size_t j : it->second)
        if (--missing[j] == 0) ready.push(j);
      waiting.erase(it);
    }
  }
  if (sorted.size() != nodes.size()) {
    for (size_t i = 0; i < nodes.size(); ++i)
      if (missing[i] > 0)
        throw InputError(fmt::format("{}{}: graph has a cycle through this node",
                                     source.empty() ? "" : source + ": ", nodes[i].describe()));
  }
  nodes = std::move(sorted);
}

std::string Graph::unique_name(const std::string& hint) {
  std::unordered_set<std::string> used;
  for (const auto& n : nodes) {
    used.insert(n.name);
    for (const auto& o : n.outputs) used.insert(o);
  }
  for (const auto& [k, v] : initializers) used.insert(k);
  for (const auto& i : inputs) used.insert(i.name);
  for (;;) {
    std::string cand = fmt::format("{}_{}", hint, name_counter_++);
    if (!used.count(cand)) return cand;
  }
}

} // namespace qtune
