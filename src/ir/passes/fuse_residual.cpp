// Conv (+activation) + Add(other) (+Relu) -> qtune:FusedConv with sum=1 and
// the other operand as input 3 (oneDNN sum post-op):
//   y = post(act(conv(x) + b) + other).
// Only when `other` has the Add's output shape and is available before the conv.
#include "ir/passes/pass.h"
#include "ir/passes/pass_util.h"

namespace qtune {

namespace {

bool is_conv(const Node &n) {
  if (n.domain.empty())
    return n.op_type == "Conv";
  return n.domain == "qtune" && n.op_type == "FusedConv" && !n.attr_int("sum", 0);
}

// The Add operand that is not `y`, or "" if the Add does not qualify.
std::string other_operand(const Graph &g, const Node &add, const std::string &y) {
  if (add.op_type != "Add" || !add.domain.empty() || add.num_inputs() != 2)
    return "";
  if (add.inputs[0] == add.inputs[1])
    return "";
  std::string other = add.inputs[0] == y ? add.inputs[1] : add.inputs[0];
  auto s_other = passes::known_shape(g, other);
  auto s_y = passes::known_shape(g, y);
  auto s_out = passes::known_shape(g, add.outputs.at(0));
  if (!s_other || !s_y || !s_out || *s_other != *s_out || *s_y != *s_out)
    return "";
  return other;
}

} // namespace

bool fuse_residual_add(Graph &g) {
  auto consumers = g.consumers();
  auto producers = g.producers();
  std::vector<bool> dead(g.nodes.size(), false);
  bool changed = false;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node &conv = g.nodes[i];
    if (dead[i] || !is_conv(conv) || conv.outputs.size() != 1)
      continue;
    int a = passes::single_consumer(g, consumers, conv.outputs[0]);
    if (a < 0 || dead[a])
      continue;
    std::string other = other_operand(g, g.nodes[a], conv.outputs[0]);
    if (other.empty() || g.is_initializer(other))
      continue;
    auto p = producers.find(other);
    if (p != producers.end() && p->second >= i)
      continue; // must exist before the conv runs
    std::string out = g.nodes[a].outputs[0];
    dead[a] = true;
    int r = passes::single_consumer(g, consumers, out);
    if (r >= 0 && !dead[r] && g.nodes[r].op_type == "Relu" && g.nodes[r].domain.empty()) {
      conv.attrs["post_activation"] = std::string("Relu");
      out = g.nodes[r].outputs.at(0);
      dead[r] = true;
    }
    conv.op_type = "FusedConv";
    conv.domain = "qtune";
    conv.inputs.resize(4);
    conv.inputs[3] = other;
    conv.attrs["sum"] = int64_t{1};
    conv.outputs[0] = out;
    changed = true;
  }
  passes::erase_nodes(g, dead);
  return changed;
}

} // namespace qtune
