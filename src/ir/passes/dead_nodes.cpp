// Dead-node elimination: walk back from the graph outputs; nodes nobody needs
// and initializers nobody reads go away.
#include <unordered_set>

#include "ir/passes/pass.h"
#include "ir/passes/pass_util.h"

namespace qtune {

namespace {
// Everything a node reads, including what its sub-graphs read from outside.
std::vector<std::string> node_reads(const Node &n) {
  std::vector<std::string> reads;
  for (const auto &in : n.inputs)
    if (!in.empty())
      reads.push_back(in);
  for (const auto &[k, a] : n.attrs)
    if (auto *g = std::get_if<std::shared_ptr<Graph>>(&a))
      for (auto &v : (*g)->outer_reads())
        reads.push_back(std::move(v));
  return reads;
}
} // namespace

bool eliminate_dead_nodes(Graph &g) {
  std::unordered_set<std::string> needed;
  for (const auto &o : g.outputs)
    needed.insert(o.name);
  std::vector<bool> dead(g.nodes.size(), true);
  for (size_t k = g.nodes.size(); k-- > 0;) {
    const Node &n = g.nodes[k];
    bool used = false;
    for (const auto &o : n.outputs)
      if (!o.empty() && needed.count(o))
        used = true;
    if (!used)
      continue;
    dead[k] = false;
    for (auto &r : node_reads(n))
      needed.insert(std::move(r));
  }
  size_t before_nodes = g.nodes.size(), before_inits = g.initializers.size();
  passes::erase_nodes(g, dead);
  for (auto it = g.initializers.begin(); it != g.initializers.end();)
    it = needed.count(it->first) ? std::next(it) : g.initializers.erase(it);
  return g.nodes.size() != before_nodes || g.initializers.size() != before_inits;
}

} // namespace qtune
