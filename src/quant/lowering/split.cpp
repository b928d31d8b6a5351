// split: DQ(x) -> Split -> Q on every output  =>  the Split on the int8 values
// (the fp32 Split kernel copies bytes of any dtype). An output whose Q has x's
// scale, zero point and type reads the int8 part directly; one with other
// parameters (a Concat downstream gave it its scale) keeps its Q after a
// DequantizeLinear of the int8 part, which computes the same values as before
// on that part alone. ShuffleNet channel shuffles (NanoDet) split a tensor
// between an identity branch and a conv branch.
#include "quant/lowering/rule.h"

namespace qtune::quant {

namespace {

bool lower_split(LoweringContext &cx, size_t i) {
  const Node split = cx.g.nodes[i];
  const Node *dq = cx.producer(split.inputs.at(0), "DequantizeLinear");
  auto xp = dq ? cx.per_tensor_params(*dq) : std::nullopt;
  if (!xp)
    return false;
  const Node x_dq = *dq;
  Node moved = split;
  moved.inputs[0] = x_dq.inputs[0];
  std::vector<size_t> matched{i};
  std::vector<Node> requantized; // DQ of int8 parts whose Q has other parameters
  for (size_t k = 0; k < split.outputs.size(); ++k) {
    if (split.outputs[k].empty())
      continue;
    auto yq = cx.quantize_after(split.outputs[k]);
    if (!yq)
      return false;
    if (yq->second == *xp) {
      matched.push_back(yq->first);
      moved.outputs[k] = cx.g.nodes[yq->first].outputs.at(0);
      continue;
    }
    requantized.push_back(cx.dequantize_like(x_dq, split.name, split.outputs[k], moved.outputs[k]));
  }
  // The Split goes where its last matched node was; lower_qdq's final
  // toposort puts it back before the readers of its earlier outputs.
  cx.replace(matched, std::move(moved));
  for (Node &n : requantized)
    cx.g.nodes.push_back(std::move(n));
  cx.refresh();
  return true;
}

} // namespace

void register_split_rules(LoweringRegistry &r) {
  r.add(LoweringRule{"split", 1, lower_split});
  r.add(OpDescriptor("Split", QuantRole::passthrough, {"split"}));
}

} // namespace qtune::quant
