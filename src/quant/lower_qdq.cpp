// The lowering driver: every node whose descriptor names rules gets them tried
// in order (pass 1, then pass 2 over the nodes that stayed), dead Q/DQ nodes
// go, and Q/DQ of constants become initializers.
#include "quant/lower_qdq.h"

#include <fmt/format.h>

#include "quant/lowering/rule.h"
#include "quant/lowering/rule_list.h"
#include "runtime/fold_constants.h"

namespace qtune::quant {

#define QTUNE_DECLARE_RULES(name) void register_##name##_rules(LoweringRegistry &);
QTUNE_LOWERING_RULES(QTUNE_DECLARE_RULES)
#undef QTUNE_DECLARE_RULES

static LoweringRegistry make_lowering_registry() {
  LoweringRegistry r;
#define QTUNE_REGISTER_RULES(name) register_##name##_rules(r);
  QTUNE_LOWERING_RULES(QTUNE_REGISTER_RULES)
#undef QTUNE_REGISTER_RULES
  return r;
}

const LoweringRegistry &lowering_registry() {
  static const LoweringRegistry registry = make_lowering_registry();
  return registry;
}

const LoweringRule *LoweringRegistry::rule(const std::string &name) const {
  for (const LoweringRule &r : rules)
    if (r.name == name)
      return &r;
  return nullptr;
}

int LowerReport::count(const std::string &rule) const {
  auto it = rules.find(rule);
  return it == rules.end() ? 0 : it->second;
}

std::string LowerReport::summary() const {
  std::string s;
  for (const LoweringRule &r : lowering_registry().rules)
    if (int n = count(r.name))
      s += fmt::format("{} {}, ", r.name, n);
  return s + fmt::format("removed {}, constant Q/DQ folded {}", removed_nodes, folded_constants);
}

namespace {

// Tries the node's pass-`pass` rules in order; the first that applies counts.
void run_pass(LoweringContext &cx, int pass, size_t count, LowerReport &report) {
  const LoweringRegistry &reg = lowering_registry();
  for (size_t i = 0; i < count; ++i) {
    const OpDescriptor *d = find_descriptor(cx.g.nodes[i]);
    if (!d)
      continue;
    for (const std::string &name : d->rules) {
      const LoweringRule *r = reg.rule(name);
      if (r && r->pass == pass && r->apply(cx, i)) {
        ++report.rules[name];
        break;
      }
    }
  }
}

} // namespace

LowerReport lower_qdq(Graph &graph) {
  LoweringContext cx(graph);
  LowerReport report;
  // Pass 0 rewrites other formats (QOperator ops) as QDQ, appending nodes.
  run_pass(cx, 0, graph.nodes.size(), report);
  if (!report.rules.empty()) {
    graph.toposort();
    cx.refresh();
  }
  run_pass(cx, 1, graph.nodes.size(), report);
  // Pass 2 visits the nodes that existed before it (it appends DQ nodes).
  run_pass(cx, 2, graph.nodes.size(), report);
  report.removed_nodes = cx.remove_dead();
  report.folded_constants = cx.fold_constant_qdq(make_constant_evaluator());
  graph.toposort();
  return report;
}

} // namespace qtune::quant
