// avgpool: DQ(x) -> AveragePool|GlobalAveragePool -> Q (own output
// parameters)  =>  qtune:QAveragePool.
#include <algorithm>

#include "quant/lowering/rule.h"
#include "runtime/kernels/qavgpool.h"

namespace qtune::quant {

namespace {

bool lower_avgpool(LoweringContext &cx, size_t pi) {
  const Node pool = cx.g.nodes[pi];
  const bool global = pool.op_type == "GlobalAveragePool";
  const Node *dq = cx.producer(pool.inputs.at(0), "DequantizeLinear");
  auto yq = cx.quantize_after(pool.outputs.at(0));
  auto xp = dq ? cx.per_tensor_params(*dq) : std::nullopt;
  if (!xp || !yq)
    return false;
  if (!global) {
    size_t k = pool.attr_ints("kernel_shape").size();
    std::vector<int64_t> dil = pool.attr_ints("dilations");
    bool dilated = std::any_of(dil.begin(), dil.end(), [](int64_t d) { return d != 1; });
    // ceil_mode's extra end window with count_include_pad has no agreed divisor.
    bool ceil_pad = pool.attr_int("ceil_mode", 0) != 0 && pool.attr_int("count_include_pad", 0);
    if (k < 1 || k > 3 || dilated || ceil_pad)
      return false;
  }
  Node q = pool;
  q.op_type = "QAveragePool";
  q.domain = "qtune";
  QAveragePoolParams p;
  p.global = global;
  p.x = {xp->scale, xp->zero_point};
  p.y = LoweringContext::output_params(yq->second);
  p.write(q);
  q.inputs = {dq->inputs[0]};
  q.outputs = {cx.g.nodes[yq->first].outputs.at(0)};
  cx.replace({pi, yq->first}, std::move(q));
  return true;
}

} // namespace

void register_avgpool_rules(LoweringRegistry &r) {
  r.add(LoweringRule{"avgpool", 1, lower_avgpool});
  for (const char *op : {"AveragePool", "GlobalAveragePool"})
    r.add(OpDescriptor(op, QuantRole::pooling, {"avgpool"}));
}

} // namespace qtune::quant
