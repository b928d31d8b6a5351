// Constants, variables and the ops that only pass a value on (Identity and
// friends): no IR node, the output is an alias or an initializer.
#include <fmt/format.h>

#include "frontends/tensorflow/ops/convert.h"

namespace qtune::tf {

namespace {

// VariableV2 / VarHandleOp / a TF.js Const whose value lives in the weight
// files: bound to the value the checkpoint (SavedModel, TF.js shards) holds.
void variable(ConvertContext &c) {
  const auto &vars = c.state().source->variables;
  auto it = vars.find(c.name());
  if (it == vars.end()) {
    std::string shared = c.attr_string("shared_name", "");
    if (!shared.empty())
      it = vars.find(shared);
  }
  if (it == vars.end())
    c.invalid(fmt::format("variable '{}' has no value in the checkpoint / weight files", c.name()));
  c.set_constant(0, it->second);
}

void constant(ConvertContext &c) {
  auto it = c.node().attr().find("value");
  if (it == c.node().attr().end() || !it->second.has_tensor())
    return variable(c); // TF.js: the value is in the weight shards
  c.set_constant(0, tensor_from_tf(it->second.tensor(), c.where()));
}

void pass_through(ConvertContext &c) {
  c.alias(0, c.input(0));
}

void identity_n(ConvertContext &c) {
  for (size_t k = 0; k < c.num_inputs(); ++k)
    c.alias(k, c.input(k));
}

// Nodes only reached through control edges (pruned away) or that do nothing.
void nothing(ConvertContext &) {}

} // namespace

void register_tf_core_converters(ConverterTable &t) {
  t.add("Const", constant);
  t.add("HostConst", constant);
  for (const char *op : {"VariableV2", "Variable", "VarHandleOp"})
    t.add(op, variable);
  for (const char *op :
       {"Identity", "ReadVariableOp", "StopGradient", "PreventGradient", "Snapshot",
        "PlaceholderWithDefault", "EnsureShape", "CheckNumerics", "RefIdentity"})
    t.add(op, pass_through);
  t.add("IdentityN", identity_n);
  for (const char *op : {"NoOp", "Assert"})
    t.add(op, nothing);
}

} // namespace qtune::tf
