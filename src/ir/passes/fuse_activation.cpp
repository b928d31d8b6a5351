// Conv / Gemm / MatMul followed by an activation -> qtune:FusedConv /
// FusedGemm / FusedMatMul with `activation` + `activation_params` (contract in
// docs/ARCHITECTURE.md). One small rule per activation.
#include <limits>

#include "ir/passes/fusable_activation.h"
#include "ir/passes/pass.h"
#include "ir/passes/pass_util.h"

namespace qtune {

namespace {

using Activation = FusableActivation;

using Consumers = std::unordered_map<std::string, std::vector<size_t>>;

std::optional<float> scalar_initializer(const Graph &g, const Node &n, size_t i) {
  if (!n.has_input(i))
    return std::nullopt;
  const Tensor *t = g.initializer(n.inputs[i]);
  if (!t || t->numel() != 1)
    return std::nullopt;
  return static_cast<float>(t->get_f64(0));
}

} // namespace

// Rules for activations that read the producer output alone.
std::optional<FusableActivation> fusable_activation(const Graph &g, const Node &a) {
  if (!a.domain.empty())
    return std::nullopt;
  const std::string &op = a.op_type;
  if (op == "Relu" || op == "Sigmoid" || op == "Tanh" || op == "HardSwish")
    return Activation{op, {}};
  if (op == "LeakyRelu")
    return Activation{op, {a.attr_float("alpha", 0.01f)}};
  if (op == "HardSigmoid")
    return Activation{op, {a.attr_float("alpha", 0.2f), a.attr_float("beta", 0.5f)}};
  if (op == "Clip") { // min/max must be constants; absent means unbounded
    float lo = std::numeric_limits<float>::lowest(), hi = std::numeric_limits<float>::max();
    if (a.has_input(1)) {
      auto v = scalar_initializer(g, a, 1);
      if (!v)
        return std::nullopt;
      lo = *v;
    }
    if (a.has_input(2)) {
      auto v = scalar_initializer(g, a, 2);
      if (!v)
        return std::nullopt;
      hi = *v;
    }
    return Activation{op, {lo, hi}};
  }
  return std::nullopt;
}

namespace {

// SiLU: y = x * Sigmoid(x) where x is the producer output, read by exactly
// the Sigmoid and the Mul. Returns the Mul index and sets `sigmoid`.
int match_silu(const Graph &g, const Consumers &consumers, const std::string &x, int &sigmoid) {
  auto it = consumers.find(x);
  if (it == consumers.end() || it->second.size() != 2 || g.is_graph_output(x))
    return -1;
  size_t a = it->second[0], b = it->second[1];
  if (g.nodes[a].op_type != "Sigmoid")
    std::swap(a, b);
  const Node &s = g.nodes[a];
  const Node &m = g.nodes[b];
  if (s.op_type != "Sigmoid" || m.op_type != "Mul" || !s.domain.empty() || !m.domain.empty())
    return -1;
  if (passes::single_consumer(g, consumers, s.outputs.at(0)) != static_cast<int>(b))
    return -1;
  bool reads = (m.inputs.at(0) == x && m.inputs.at(1) == s.outputs[0]) ||
               (m.inputs.at(1) == x && m.inputs.at(0) == s.outputs[0]);
  if (!reads)
    return -1;
  sigmoid = static_cast<int>(a);
  return static_cast<int>(b);
}

// Op that can take a fused activation, and its fused name.
const char *fused_name(const Node &n) {
  if (n.domain.empty()) {
    if (n.op_type == "Conv")
      return "FusedConv";
    if (n.op_type == "Gemm")
      return "FusedGemm";
    if (n.op_type == "MatMul")
      return "FusedMatMul";
    return nullptr;
  }
  // An already fused op without an activation yet (e.g. from residual fusion) is fine too.
  if (n.domain == "qtune" && !n.has_attr("activation") && !n.attr_int("sum", 0)) {
    if (n.op_type == "FusedConv" || n.op_type == "FusedGemm" || n.op_type == "FusedMatMul")
      return n.op_type.c_str();
  }
  return nullptr;
}

void make_fused(Node &n, const char *name, const Activation &act, const std::string &output) {
  n.op_type = name;
  n.domain = "qtune";
  n.attrs["activation"] = act.name;
  if (!act.params.empty())
    n.attrs["activation_params"] = act.params;
  n.outputs[0] = output;
}

} // namespace

bool fuse_activations(Graph &g) {
  auto consumers = g.consumers();
  std::vector<bool> dead(g.nodes.size(), false);
  bool changed = false;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node &n = g.nodes[i];
    const char *fused = fused_name(n);
    if (!fused || dead[i] || n.outputs.size() != 1)
      continue;
    std::string name = fused; // n.op_type may be overwritten below
    const std::string y = n.outputs[0];
    int sig = -1;
    int mul = match_silu(g, consumers, y, sig);
    if (mul >= 0 && !dead[mul] && !dead[sig]) {
      make_fused(n, name.c_str(), {"SiLU", {}}, g.nodes[mul].outputs[0]);
      dead[mul] = dead[sig] = true;
      changed = true;
      continue;
    }
    int c = passes::single_consumer(g, consumers, y);
    if (c < 0 || dead[c])
      continue;
    auto act = fusable_activation(g, g.nodes[c]);
    if (!act)
      continue;
    make_fused(n, name.c_str(), *act, g.nodes[c].outputs.at(0));
    dead[c] = true;
    changed = true;
  }
  passes::erase_nodes(g, dead);
  return changed;
}

} // namespace qtune
