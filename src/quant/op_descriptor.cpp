#include "quant/op_descriptor.h"

#include "quant/lowering/rule.h"

namespace qtune::quant {

std::string op_key(const Node &n) {
  if (n.domain.empty() || n.domain == "ai.onnx")
    return n.op_type;
  return n.domain + ":" + n.op_type;
}

const OpDescriptor *find_descriptor(const Node &n) {
  const std::string key = op_key(n);
  for (const OpDescriptor &d : lowering_registry().ops)
    if (d.op == key)
      return &d;
  return nullptr;
}

std::optional<QuantRole> quant_role(const Node &n) {
  const OpDescriptor *d = find_descriptor(n);
  return d ? d->role : std::nullopt;
}

} // namespace qtune::quant
