// maxpool: DQ(x) -> MaxPool -> Q with identical parameters  =>  qtune:QMaxPool.
// Max commutes with a monotonic affine map, so the pool runs on the int8
// values directly.
#include "quant/lowering/rule.h"

namespace qtune::quant {

namespace {

bool has_indices(const Node &pool) {
  return pool.outputs.size() > 1 && !pool.outputs[1].empty();
}

bool lower_maxpool(LoweringContext &cx, size_t pi) {
  const Node pool = cx.g.nodes[pi];
  if (has_indices(pool))
    return false;
  const Node *dq = cx.producer(pool.inputs.at(0), "DequantizeLinear");
  auto c = cx.sole_consumer(pool.outputs.at(0));
  if (!dq || !c || cx.g.nodes[*c].op_type != "QuantizeLinear")
    return false;
  auto in = cx.per_tensor_params(*dq), out = cx.per_tensor_params(cx.g.nodes[*c]);
  if (cx.g.initializer(dq->inputs[0]) || !in || !out || !(*in == *out))
    return false;
  Node p = pool;
  p.op_type = "QMaxPool";
  p.domain = "qtune";
  p.inputs = {dq->inputs[0]};
  p.outputs = {cx.g.nodes[*c].outputs.at(0)};
  cx.replace({pi, *c}, std::move(p));
  return true;
}

// Indices are a different tensor: they cannot stay int8.
const char *maxpool_unsupported(const Node &n) {
  return has_indices(n) ? "Indices output" : nullptr;
}

} // namespace

void register_maxpool_rules(LoweringRegistry &r) {
  r.add(LoweringRule{"maxpool", 1, lower_maxpool});
  OpDescriptor d("MaxPool", QuantRole::passthrough, {"maxpool"});
  d.unsupported = maxpool_unsupported;
  r.add(d);
}

} // namespace qtune::quant
