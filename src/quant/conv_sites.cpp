#include "quant/conv_sites.h"

namespace qtune::quant {

namespace {

const Node *producer(const Graph &g, const std::unordered_map<std::string, size_t> &prod,
                     const std::string &v, const char *op) {
  auto it = prod.find(v);
  if (it == prod.end() || g.nodes[it->second].op_type != op)
    return nullptr;
  return &g.nodes[it->second];
}

} // namespace

std::vector<Int8ConvSite> find_int8_conv_sites(const Graph &g) {
  auto prod = g.producers();
  std::vector<Int8ConvSite> sites;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node &n = g.nodes[i];
    if (n.op_type != "Conv" || n.inputs.size() < 3 || n.inputs[2].empty())
      continue;
    const Node *dq = producer(g, prod, n.inputs[0], "DequantizeLinear");
    const Node *q = dq ? producer(g, prod, dq->inputs[0], "QuantizeLinear") : nullptr;
    const Node *wdq = producer(g, prod, n.inputs[1], "DequantizeLinear");
    const Node *bdq = producer(g, prod, n.inputs[2], "DequantizeLinear");
    if (!q || !wdq || !bdq || !g.is_initializer(wdq->inputs[0]) ||
        !g.is_initializer(bdq->inputs[0]))
      continue;
    const Tensor *b = g.initializer(bdq->inputs[0]);
    if (b->dtype() != DType::i32 || b->rank() != 1)
      continue;
    sites.push_back({i, q->inputs[0], n.inputs[0], prod.at(n.inputs[1]), prod.at(n.inputs[2])});
  }
  return sites;
}

} // namespace qtune::quant
