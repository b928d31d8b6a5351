// Activation parameters of the QDQ graph: which tensors get Q/DQ and with what
// scale (concat and max-pool scale propagation, pass-through hand-over).
#include <algorithm>
#include <cmath>
#include <string>

#include "quant/qdq_builder.h"

namespace qtune::quant::detail {

// A pass-through op of several data inputs (Concat): one int8 scale for all.
bool shares_one_scale(const Node &n) {
  const OpDescriptor *d = find_descriptor(n);
  return d && d->role == QuantRole::passthrough && d->all_inputs;
}

// An int8 Concat gives all its inputs one scale. When one input spans a far
// smaller range than another (YOLOX's head concatenates raw box offsets with
// sigmoid scores), that scale would flatten the small input to a few levels, so
// such a Concat stays fp32 and each input keeps its own scale.
bool QdqBuilder::concat_ranges_compatible(const Node &n, const NodeInputs &in, std::string &why) {
  constexpr double kMaxRangeRatio = 8.0;
  double smallest = 0, largest = 0;
  for (size_t k : in.activations) {
    const TensorStats *s = stats_for(n.inputs[k]);
    double range = s->max - s->min;
    if (smallest == 0 || range < smallest)
      smallest = range;
    largest = std::max(largest, range);
  }
  if (smallest > 0 && largest / smallest <= kMaxRangeRatio)
    return true;
  why = "inputs' ranges differ more than " + std::to_string(static_cast<int>(kMaxRangeRatio)) +
        "x; a shared int8 scale would erase the smaller ones";
  return false;
}

void QdqBuilder::set_from_stats(const std::string &v, const NodeDecision &d) {
  if (act_.count(v))
    return;
  act_[v] = activation_params(*stats_for(v), d.activation);
}

// Moving data in int8 only pays when an int8 op reads the result. A pass-through
// op (Concat, Reshape, ...) whose output reaches no int8 op would only add a
// rounding step: at the end of a detection head that flattens box offsets and
// scores into one tensor of one scale (YOLOX: scores lose everything below one
// step). Consumers come later in topological order, so one reverse sweep decides.
void QdqBuilder::drop_passthrough_without_int8_reader() {
  auto consumers = src_.consumers();
  for (size_t i = src_.nodes.size(); i-- > 0;) {
    const Node &n = src_.nodes[i];
    if (!int8_[i] || *quant_role(n) != QuantRole::passthrough)
      continue;
    bool read_by_int8 = false;
    for (const std::string &o : n.outputs)
      if (auto it = consumers.find(o); it != consumers.end())
        for (size_t c : it->second)
          read_by_int8 = read_by_int8 || int8_[c];
    if (!read_by_int8) {
      int8_[i] = false;
      fallback_[n.name] = "quantizer: no int8 op reads its output";
    }
  }
}

// LPOT scale_propagation_concat: all inputs of an int8 Concat take the output's
// scale, so the lowered concat is a plain copy. Downstream concats win.
// Recipe concat_fork_own_scale: an input that other ops also read keeps its own
// scale. The Concat's range is the widest of its inputs; a conv reading a
// narrower input at that scale loses resolution for nothing (YOLOX-Nano: the
// dark3 / dark4 outputs feed both the FPN Concat and the next stage's depthwise
// conv at 1.6-1.7x their own range; own scales: val2017_241 AP -4.6% -> README).
void QdqBuilder::assign_concat_scales() {
  if (!plan_.recipes.scale_propagation_concat)
    return;
  const auto consumers = src_.consumers();
  auto forked = [&](const std::string &v) {
    auto it = consumers.find(v);
    return plan_.recipes.concat_fork_own_scale && it != consumers.end() && it->second.size() > 1;
  };
  for (size_t i = src_.nodes.size(); i-- > 0;) {
    const Node &n = src_.nodes[i];
    if (!int8_[i] || !shares_one_scale(n))
      continue;
    const NodeDecision &d = decisions_.at(n.name);
    set_from_stats(n.outputs[0], d);
    for (size_t k : roles_[i].activations)
      if (!act_.count(n.inputs[k]) && !forked(n.inputs[k]))
        act_[n.inputs[k]] = act_[n.outputs[0]];
  }
}

// Forward over the graph: each int8 node's activation inputs get parameters from
// their statistics (first int8 consumer's scheme decides); pass-through ops hand
// their input's parameters to their output (or back, if the output was set first).
void QdqBuilder::assign_activation_scales() {
  for (size_t i = 0; i < src_.nodes.size(); ++i) {
    if (!int8_[i])
      continue;
    const Node &n = src_.nodes[i];
    const NodeDecision &d = decisions_.at(n.name);
    QuantRole role = *quant_role(n);
    if (role != QuantRole::passthrough) {
      for (size_t k : roles_[i].activations)
        set_from_stats(n.inputs[k], d);
      continue;
    }
    if (shares_one_scale(n)) {
      for (size_t k : roles_[i].activations)
        set_from_stats(n.inputs[k], d);
      set_from_stats(n.outputs[0], d);
      continue;
    }
    const std::string &in = n.inputs[0];
    const bool keep_scale = n.op_type != "MaxPool" || plan_.recipes.scale_propagation_max_pooling;
    for (const std::string &out : n.outputs) {
      if (out.empty())
        continue;
      if (act_.count(out) && !act_.count(in) && keep_scale)
        act_[in] = act_[out];
      set_from_stats(in, d);
      if (!act_.count(out))
        act_[out] = keep_scale ? act_[in] : activation_params(*stats_.find(out), d.activation);
    }
  }
}

namespace {

// x * gate(x) for the gate node of a SiLU (Sigmoid) or HardSwish (HardSigmoid).
double gated(const Node &gate, double x) {
  if (gate.op_type == "Sigmoid")
    return x / (1.0 + std::exp(-x));
  const double alpha = gate.attr_float("alpha", 0.2f), beta = gate.attr_float("beta", 0.5f);
  return x * std::clamp(alpha * x + beta, 0.0, 1.0);
}

// Recipe activation_table: the pre-activation's lower bound for a table
// (the calibrated lo <= 0 raised): below it the activation's
// output stays within half an output step of 0 (SiLU: x / (1 + e^-x) -> 0 as
// x -> -inf), so clipping there changes almost no output code and frees the
// int8 levels the raw negative tail (-10 to -100 after a folded BatchNorm in
// YOLOX-Nano) would take: clipped bounds -3 to -7.
double table_lower_bound(const Node &gate, double lo, double out_scale) {
  constexpr int kSteps = 4096;
  const double half_step = out_scale / 2, step = -lo / kSteps;
  double t = lo;
  while (t < 0 && std::fabs(gated(gate, t + step)) < half_step)
    t += step;
  return t;
}

} // namespace

// Recipe activation_table: the pre-activation x of an int8 Conv's gated
// activation (Mul(x, Sigmoid(x)), Mul(x, HardSigmoid(x))) whose output is int8
// gets its own Q/DQ, so the lowering's lut rule turns Mul(DQ(x), gate(DQ(x))) -> Q
// into one 256-entry table (which conv_table then folds into the conv). Only
// where the gate and the Mul are x's sole readers, the Mul the gate's, and
// neither x nor the gate's output is a graph output: any other reader would
// see the clipped pre-activation.
void QdqBuilder::assign_activation_tables() {
  if (!plan_.recipes.activation_table)
    return;
  const auto producers = src_.producers();
  const auto consumers = src_.consumers();
  auto readers = [&](const std::string &v) {
    auto it = consumers.find(v);
    return it == consumers.end() || src_.is_graph_output(v) ? size_t{0} : it->second.size();
  };
  for (const Node &mul : src_.nodes) {
    auto x = gated_activation_input(mul, src_, producers);
    if (!x || act_.count(*x) || !act_.count(mul.outputs[0]))
      continue;
    const std::string &g = mul.inputs[0] == *x ? mul.inputs[1] : mul.inputs[0];
    auto conv = producers.find(*x);
    if (conv == producers.end() || !int8_[conv->second] ||
        src_.nodes[conv->second].op_type != "Conv" || readers(*x) != 2 || readers(g) != 1 ||
        !stats_for(*x))
      continue;
    const Node &gate = src_.nodes[producers.at(g)];
    const ActivationScheme &scheme = decisions_.at(src_.nodes[conv->second].name).activation;
    const ClipRange r =
        clip_range(*stats_for(*x), scheme.algorithm, scheme.percentile, scheme.asymmetric);
    const double lo = table_lower_bound(gate, r.lo, act_.at(mul.outputs[0]).scale);
    act_[*x] = range_params(lo, r.hi, scheme.asymmetric);
    table_inputs_.insert(*x);
  }
}

} // namespace qtune::quant::detail
