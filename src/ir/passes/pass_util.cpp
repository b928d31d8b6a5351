#include "ir/passes/pass_util.h"

#include <unordered_set>

namespace qtune::passes {

void erase_nodes(Graph &g, const std::vector<bool> &dead) {
  std::vector<Node> kept;
  kept.reserve(g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (!dead[i])
      kept.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(kept);
}

int single_consumer(const Graph &g,
                    const std::unordered_map<std::string, std::vector<size_t>> &consumers,
                    const std::string &value) {
  if (g.is_graph_output(value))
    return -1;
  auto it = consumers.find(value);
  if (it == consumers.end() || it->second.size() != 1)
    return -1;
  return static_cast<int>(it->second[0]);
}

namespace {
std::optional<Shape> shape_of(const Graph &g, const std::string &value, bool with_outputs) {
  if (const Tensor *t = g.initializer(value))
    return t->shape();
  auto from_info = [](const ValueInfo &v) -> std::optional<Shape> {
    if (!v.has_shape)
      return std::nullopt;
    Shape s;
    for (const Dim &d : v.dims) {
      if (!d.known())
        return std::nullopt;
      s.push_back(d.value);
    }
    return s;
  };
  for (const auto &in : g.inputs)
    if (in.name == value)
      return from_info(in);
  auto it = g.value_info.find(value);
  if (it != g.value_info.end())
    return from_info(it->second);
  if (with_outputs)
    for (const auto &out : g.outputs)
      if (out.name == value)
        return from_info(out);
  return std::nullopt;
}
} // namespace

std::optional<Shape> known_shape(const Graph &g, const std::string &value) {
  return shape_of(g, value, true);
}

std::optional<Shape> inferred_shape(const Graph &g, const std::string &value) {
  return g.is_graph_output(value) ? std::nullopt : shape_of(g, value, false);
}

std::string add_initializer(Graph &g, const std::string &hint, Tensor t) {
  std::string name = hint;
  while (g.is_initializer(name) || g.value_info.count(name))
    name += "_";
  g.initializers[name] = std::move(t);
  return name;
}

} // namespace qtune::passes
