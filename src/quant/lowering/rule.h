#pragma once
// A lowering rule: a name (what the report counts), the pass it runs in and a
// function that tries it on one node. Rules match from the node outwards and
// rewrite through LoweringContext::replace; false leaves the graph unchanged.
#include <string>
#include <vector>

#include "quant/lowering/context.h"
#include "quant/op_descriptor.h"

namespace qtune::quant {

struct LoweringRule {
  std::string name;
  // 0: rewrites another format into QDQ first (QOperator ops); 2: runs after
  // every pass-1 rule (sinking DQ below what stayed fp32)
  int pass = 1;
  bool (*apply)(LoweringContext &cx, size_t node) = nullptr;
};

// Rules and the descriptors of the ops they lower, filled by the rule files.
struct LoweringRegistry {
  std::vector<LoweringRule> rules;
  std::vector<OpDescriptor> ops;
  void add(LoweringRule r) { rules.push_back(std::move(r)); }
  void add(OpDescriptor d) { ops.push_back(std::move(d)); }
  const LoweringRule *rule(const std::string &name) const;
};

const LoweringRegistry &lowering_registry();

} // namespace qtune::quant
