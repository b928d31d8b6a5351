// (FP32 graph, statistics, plan) -> QDQ graph: which nodes go int8 (from their
// op descriptors) and the assembly of the new graph; the scales and the
// emitted Q/DQ nodes live in qdq_scales.cpp and qdq_emit.cpp.
#include "quant/quantize_graph.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include "qtune/error.h"
#include "quant/precision_map.h"
#include "quant/qdq_builder.h"

namespace qtune::quant {

std::string QuantizeReport::summary() const {
  return fmt::format("int8 {} / bf16 {} / fp32 {}", int8, bf16, fp32);
}

ActivationParams range_params(double lo, double hi, bool asymmetric) {
  ActivationParams p;
  p.is_unsigned = asymmetric;
  if (asymmetric) {
    // The range must contain 0 so that zero (padding, ReLU output) is exact.
    lo = std::min(lo, 0.0), hi = std::max(hi, 0.0);
    double scale = (hi - lo) / 255.0;
    if (!(scale > 0) || !std::isfinite(scale))
      scale = 1.0;
    p.scale = static_cast<float>(scale);
    p.zero_point = static_cast<int32_t>(std::clamp(std::nearbyint(-lo / p.scale), 0.0, 255.0));
  } else {
    double t = std::max(std::fabs(lo), std::fabs(hi));
    double scale = t / 127.0;
    if (!(scale > 0) || !std::isfinite(scale))
      scale = 1.0;
    p.scale = static_cast<float>(scale);
    p.zero_point = 0;
  }
  return p;
}

ActivationParams activation_params(const TensorStats &s, const ActivationScheme &scheme) {
  ClipRange r = clip_range(s, scheme.algorithm, scheme.percentile, scheme.asymmetric);
  return range_params(r.lo, r.hi, scheme.asymmetric);
}

namespace detail {

const TensorStats *QdqBuilder::stats_for(const std::string &v) {
  if (const TensorStats *s = stats_.find(v))
    return s;
  const Tensor *init = src_.initializer(v);
  if (!init || init->dtype() != DType::f32)
    return nullptr;
  auto it = const_stats_.find(v);
  if (it == const_stats_.end()) {
    TensorStats s;
    s.add(init->span<float>());
    it = const_stats_.emplace(v, std::move(s)).first;
  }
  return &it->second;
}

// Decides which inputs are activations/weights/bias; false (with a reason) when
// the node cannot be int8 and must stay fp32.
bool QdqBuilder::classify(size_t, const Node &n, NodeInputs &in, std::string &why) {
  const OpDescriptor &op = *find_descriptor(n);
  if (op.unsupported) {
    if (const char *reason = op.unsupported(n))
      return why = reason, false;
  }
  auto f32_init = [&](int k) -> const Tensor * {
    const Tensor *t = n.has_input(k) ? src_.initializer(n.inputs[k]) : nullptr;
    return t && t->dtype() == DType::f32 ? t : nullptr;
  };
  if (op.all_inputs) {
    for (size_t k = 0; k < n.inputs.size(); ++k)
      if (n.has_input(k))
        in.activations.push_back(k);
  } else {
    in.activations.push_back(0);
  }
  if (op.weight >= 0) {
    const Tensor *w = f32_init(op.weight);
    if (op.weight_optional && (!w || w->rank() != 2)) {
      in.activations.push_back(op.weight); // MatMul of two activations
    } else if (!w) {
      return why = "weight is not an f32 initializer", false;
    } else {
      in.weight = op.weight;
      in.weight_axis = op.weight_axis ? op.weight_axis(n) : 0;
      if (w->rank() < 1)
        return why = "scalar weight", false;
    }
  }
  if (in.weight >= 0 && op.bias >= 0 && n.has_input(op.bias)) {
    const Tensor *b = f32_init(op.bias);
    const Tensor *w = src_.initializer(n.inputs[in.weight]);
    if (b && b->rank() == 1 && b->dim(0) == w->dim(in.weight_axis))
      in.bias = op.bias;
    else if (!op.bias_optional)
      return why = "bias is not a 1-D f32 initializer", false;
  }
  for (size_t k : in.activations)
    if (!stats_for(n.inputs[k]))
      return why = "no f32 calibration statistics for input '" + n.inputs[k] + "'", false;
  if (shares_one_scale(n) && !concat_ranges_compatible(n, in, why))
    return false;
  if (plan_.recipes.depthwise_range_check && !depthwise_input_resolved(n, why))
    return false;
  if (op.role == QuantRole::passthrough) {
    for (const std::string &o : n.outputs)
      if (!o.empty() && !stats_.find(o))
        return why = "no f32 calibration statistics for output '" + o + "'", false;
  }
  return true;
}

// Recipe depthwise_range_check. A depthwise conv's output channel c sees input
// channel c alone, so a channel that one per-tensor scale squeezes into a few
// levels is lost outright (YOLOX-Nano: the stem output, whose lower quarter of
// channels spans <= 3 of 256 levels, feeding dark2's depthwise conv). Such a
// conv stays fp32 when the lower-quartile channel gets fewer than 8 levels.
bool QdqBuilder::depthwise_input_resolved(const Node &n, std::string &why) {
  constexpr double kMinLevels = 8;
  const Tensor *w = n.inputs.size() > 1 ? src_.initializer(n.inputs[1]) : nullptr;
  const int64_t group = n.attr_int("group", 1);
  if (n.op_type != "Conv" || group <= 1 || !w || w->rank() < 2 || w->dim(1) != 1)
    return true;
  const TensorStats *s = stats_.find(n.inputs[0]);
  if (!s || s->channel_min.size() < 4)
    return true;
  const ActivationParams p = activation_params(*s, decisions_.at(n.name).activation);
  std::vector<double> levels;
  for (size_t c = 0; c < s->channel_min.size(); ++c)
    levels.push_back((s->channel_max[c] - s->channel_min[c]) / p.scale);
  std::nth_element(levels.begin(), levels.begin() + levels.size() / 4, levels.end());
  const double quartile = levels[levels.size() / 4];
  if (quartile >= kMinLevels)
    return true;
  why = fmt::format("recipe: depthwise conv whose input's lower-quartile channel spans {:.1f} "
                    "levels of one per-tensor scale (depthwise_range_check)",
                    quartile);
  return false;
}

void QdqBuilder::drop_unused_initializers() {
  std::unordered_set<std::string> used;
  for (const Node &n : out_.nodes)
    for (const std::string &v : n.inputs)
      used.insert(v);
  for (const ValueInfo &o : out_.outputs)
    used.insert(o.name);
  for (auto it = out_.initializers.begin(); it != out_.initializers.end();) {
    if (used.count(it->first))
      ++it;
    else
      it = out_.initializers.erase(it);
  }
}

// Why a quantizable node is not int8, on the node itself (quant/precision_map.h).
void QdqBuilder::record_reason(Node &n) const {
  if (auto it = fallback_.find(n.name); it != fallback_.end())
    n.attrs[kPrecisionReasonAttr] = it->second;
  else if (auto p = plan_why_.find(n.name); p != plan_why_.end())
    n.attrs[kPrecisionReasonAttr] = p->second;
}

Graph QdqBuilder::build(QuantizeReport *report) {
  decisions_ = resolve_plan(src_, plan_, &plan_why_);
  const size_t count = src_.nodes.size();
  int8_.assign(count, false);
  roles_.assign(count, {});
  for (size_t i = 0; i < count; ++i) {
    const Node &n = src_.nodes[i];
    auto it = decisions_.find(n.name);
    if (it == decisions_.end() || it->second.precision != Precision::int8)
      continue;
    std::string why;
    if (classify(i, n, roles_[i], why))
      int8_[i] = true;
    else // the recipe checks say so themselves; the rest is what int8 cannot do here
      fallback_[n.name] = why.rfind("recipe: ", 0) == 0 ? why : "quantizer: " + why;
  }
  drop_passthrough_without_int8_reader();
  assign_concat_scales();
  assign_activation_scales();
  assign_activation_tables();

  out_ = src_;
  for (const Node &n : src_.nodes) {
    names_.insert(n.name);
    names_.insert(n.outputs.begin(), n.outputs.end());
    names_.insert(n.inputs.begin(), n.inputs.end());
  }
  for (const auto &[k, v] : src_.initializers)
    names_.insert(k);
  for (const ValueInfo &v : src_.inputs)
    names_.insert(v.name);
  out_.nodes.clear();
  out_.nodes.reserve(count * 2);
  out_.opset = std::max<int64_t>(src_.opset, 13);
  // Graph inputs and initializers that are quantized activations come first.
  std::unordered_set<std::string> produced;
  for (const Node &n : src_.nodes)
    for (const std::string &o : n.outputs)
      produced.insert(o);
  for (const auto &[v, p] : act_)
    if (!produced.count(v))
      emit_qdq(v);

  for (size_t i = 0; i < count; ++i) {
    Node n = src_.nodes[i];
    if (auto it = decisions_.find(n.name);
        it != decisions_.end() && it->second.precision == Precision::bf16)
      n.attrs[kPrecisionAttr] = std::string("bf16");
    if (!int8_[i]) {
      record_reason(n);
      for (std::string &v : n.inputs) // recipe activation_table: the gate reads DQ(x)
        if (table_inputs_.count(v))
          v = dq_name_.at(v);
    }
    if (int8_[i]) {
      const NodeDecision &d = decisions_.at(n.name);
      const NodeInputs &in = roles_[i];
      for (size_t k : in.activations)
        n.inputs[k] = dq_name_.at(src_.nodes[i].inputs[k]);
      if (in.weight >= 0) {
        QuantizedWeight qw;
        n.inputs[in.weight] = emit_weight(src_.nodes[i], in, d, qw);
        std::string bias = emit_bias(src_.nodes[i], in, qw, d);
        if (!bias.empty()) {
          if (n.inputs.size() < 3)
            n.inputs.resize(3);
          n.inputs[2] = bias;
        }
      }
    }
    std::vector<std::string> outputs = n.outputs;
    out_.nodes.push_back(std::move(n));
    for (const std::string &o : outputs)
      if (!o.empty() && act_.count(o))
        emit_qdq(o);
  }
  drop_unused_initializers();

  if (report) {
    *report = {};
    for (const auto &[name, d] : decisions_) {
      Precision p = d.precision;
      if (p == Precision::int8 && fallback_.count(name))
        p = Precision::fp32;
      report->nodes[name] = p;
      (p == Precision::int8 ? report->int8 : p == Precision::bf16 ? report->bf16 : report->fp32)++;
    }
    report->fallback_reason = fallback_;
  }
  return std::move(out_);
}

} // namespace detail

Graph quantize_graph(const Graph &fp32, const CalibrationStats &stats, const Plan &plan,
                     QuantizeReport *report) {
  return detail::QdqBuilder(fp32, stats, plan).build(report);
}

} // namespace qtune::quant
