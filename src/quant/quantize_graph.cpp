#include "quant/quantize_graph.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <unordered_map>
#include <unordered_set>

#include "qtune/error.h"

namespace qtune::quant {

std::string QuantizeReport::summary() const {
  return fmt::format("int8 {} / bf16 {} / fp32 {}", int8, bf16, fp32);
}

ActivationParams activation_params(const TensorStats &s, const ActivationScheme &scheme) {
  ClipRange r = clip_range(s, scheme.algorithm, scheme.percentile, scheme.asymmetric);
  ActivationParams p;
  p.is_unsigned = scheme.asymmetric;
  if (scheme.asymmetric) {
    // The range must contain 0 so that zero (padding, ReLU output) is exact.
    double lo = std::min(r.lo, 0.0), hi = std::max(r.hi, 0.0);
    double scale = (hi - lo) / 255.0;
    if (!(scale > 0) || !std::isfinite(scale))
      scale = 1.0;
    p.scale = static_cast<float>(scale);
    p.zero_point = static_cast<int32_t>(std::clamp(std::nearbyint(-lo / p.scale), 0.0, 255.0));
  } else {
    double t = std::max(std::fabs(r.lo), std::fabs(r.hi));
    double scale = t / 127.0;
    if (!(scale > 0) || !std::isfinite(scale))
      scale = 1.0;
    p.scale = static_cast<float>(scale);
    p.zero_point = 0;
  }
  return p;
}

namespace {

// Inputs of an int8 node by what they become in the QDQ graph.
struct NodeInputs {
  std::vector<size_t> activations; // input indices quantized with Q/DQ
  int weight = -1;                 // input index of the weight initializer
  int weight_axis = 0;             // its output-channel axis
  int bias = -1;                   // input index of a 1-D bias (compute ops)
};

struct QuantizedWeight {
  Tensor values;              // i8, same shape
  std::vector<float> scales;  // one per channel, or one
  std::vector<float> dequant; // dequantized weights (for bias correction)
};

QuantizedWeight quantize_weight(const Tensor &w32, int axis, bool per_channel) {
  const Shape &shape = w32.shape();
  int64_t outer = 1, channels = 1, inner = 1;
  if (per_channel) {
    for (int i = 0; i < axis; ++i)
      outer *= shape[i];
    channels = shape[axis];
    for (size_t i = axis + 1; i < shape.size(); ++i)
      inner *= shape[i];
  } else {
    inner = w32.numel();
  }
  const float *w = w32.data<float>();
  QuantizedWeight q;
  q.values = Tensor(DType::i8, shape);
  q.scales.assign(channels, 0.0f);
  q.dequant.resize(w32.numel());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t i = 0; i < inner; ++i)
        q.scales[c] = std::max(q.scales[c], std::fabs(w[(o * channels + c) * inner + i]));
  for (float &s : q.scales)
    s = s > 0 ? s / 127.0f : 1.0f;
  int8_t *dst = q.values.data<int8_t>();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t i = 0; i < inner; ++i) {
        int64_t k = (o * channels + c) * inner + i;
        float v = std::clamp(std::nearbyint(w[k] / q.scales[c]), -127.0f, 127.0f);
        dst[k] = static_cast<int8_t>(v);
        q.dequant[k] = v * q.scales[c];
      }
  return q;
}

class QdqBuilder {
public:
  QdqBuilder(const Graph &src, const CalibrationStats &stats, const Plan &plan)
      : src_(src), stats_(stats), plan_(plan) {}

  Graph build(QuantizeReport *report);

private:
  const Graph &src_;
  const CalibrationStats &stats_;
  const Plan &plan_;
  Graph out_;
  std::map<std::string, NodeDecision> decisions_;
  std::vector<bool> int8_;                                // per source node
  std::vector<NodeInputs> roles_;                         // per source node
  std::unordered_map<std::string, ActivationParams> act_; // quantized activation tensors
  std::unordered_map<std::string, std::string> dq_name_;  // tensor -> its DQ output
  std::unordered_map<std::string, TensorStats> const_stats_;
  std::map<std::string, std::string> fallback_;

  const TensorStats *stats_for(const std::string &v);
  bool classify(size_t i, const Node &n, NodeInputs &in, std::string &why);
  bool concat_ranges_compatible(const Node &n, const NodeInputs &in, std::string &why);
  void drop_passthrough_without_int8_reader();
  void assign_concat_scales();
  void assign_activation_scales();
  void set_from_stats(const std::string &v, const NodeDecision &d);
  void emit_qdq(const std::string &v);
  std::string emit_weight(const Node &n, const NodeInputs &in, const NodeDecision &d,
                          QuantizedWeight &qw);
  std::string emit_bias(const Node &n, const NodeInputs &in, const QuantizedWeight &qw,
                        const NodeDecision &d);
  std::string add_initializer(const std::string &hint, Tensor t);
  std::unordered_set<std::string> names_; // every value/node name in use
  std::string fresh_name(const std::string &hint);
  void add_value_info(const std::string &from, const std::string &to, DType dtype);
  void drop_unused_initializers();
};

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
  QuantRole role = *quant_role(n);
  auto is_f32_init = [&](size_t k) {
    const Tensor *t = n.has_input(k) ? src_.initializer(n.inputs[k]) : nullptr;
    return t && t->dtype() == DType::f32;
  };
  const std::string &t = n.op_type;
  if (role == QuantRole::compute) {
    in.activations.push_back(0);
    if (t == "Conv" || t == "FusedConv") {
      if (!is_f32_init(1))
        return why = "weight is not an f32 initializer", false;
      in.weight = 1;
      in.weight_axis = 0;
      if (n.has_input(3))
        return why = "fused residual sum", false;
    } else if (t == "Gemm" || t == "FusedGemm") {
      if (n.attr_int("transA", 0) != 0)
        return why = "transA", false;
      if (n.attr_float("alpha", 1.f) != 1.f || n.attr_float("beta", 1.f) != 1.f)
        return why = "alpha/beta != 1", false;
      if (!is_f32_init(1))
        return why = "weight is not an f32 initializer", false;
      in.weight = 1;
      in.weight_axis = n.attr_int("transB", 0) ? 0 : 1;
    } else { // MatMul
      if (is_f32_init(1) && src_.initializer(n.inputs[1])->rank() == 2) {
        in.weight = 1;
        in.weight_axis = 1;
      } else {
        in.activations.push_back(1);
      }
    }
    if (in.weight >= 0 && src_.initializer(n.inputs[in.weight])->rank() < 1)
      return why = "scalar weight", false;
    if (in.weight >= 0 && n.has_input(2) && t != "MatMul" && t != "FusedMatMul") {
      const Tensor *b = src_.initializer(n.inputs[2]);
      const Tensor *w = src_.initializer(n.inputs[in.weight]);
      if (b && b->dtype() == DType::f32 && b->rank() == 1 && b->dim(0) == w->dim(in.weight_axis))
        in.bias = 2;
      else if (t != "Gemm" && t != "FusedGemm")
        return why = "bias is not a 1-D f32 initializer", false;
    }
  } else if (role == QuantRole::elementwise || t == "Concat") {
    for (size_t k = 0; k < n.inputs.size(); ++k)
      if (n.has_input(k))
        in.activations.push_back(k);
  } else {
    in.activations.push_back(0);
  }
  for (size_t k : in.activations)
    if (!stats_for(n.inputs[k]))
      return why = "no f32 calibration statistics for input '" + n.inputs[k] + "'", false;
  if (t == "Concat" && !concat_ranges_compatible(n, in, why))
    return false;
  if (role == QuantRole::passthrough) {
    for (const std::string &o : n.outputs)
      if (!o.empty() && !stats_.find(o))
        return why = "no f32 calibration statistics for output '" + o + "'", false;
  }
  return true;
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
      fallback_[n.name] = "no int8 op reads its output";
    }
  }
}

// LPOT scale_propagation_concat: all inputs of an int8 Concat take the output's
// scale, so the lowered concat is a plain copy. Downstream concats win.
void QdqBuilder::assign_concat_scales() {
  if (!plan_.recipes.scale_propagation_concat)
    return;
  for (size_t i = src_.nodes.size(); i-- > 0;) {
    const Node &n = src_.nodes[i];
    if (!int8_[i] || n.op_type != "Concat")
      continue;
    const NodeDecision &d = decisions_.at(n.name);
    set_from_stats(n.outputs[0], d);
    for (size_t k : roles_[i].activations)
      if (!act_.count(n.inputs[k]))
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
    if (n.op_type == "Concat") {
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

// `hint` itself when free (ORT-like names: "x_quantized"), else hint_1, hint_2 ...
std::string QdqBuilder::fresh_name(const std::string &hint) {
  std::string name = hint;
  for (int k = 1; names_.count(name); ++k)
    name = hint + "_" + std::to_string(k);
  names_.insert(name);
  return name;
}

std::string QdqBuilder::add_initializer(const std::string &hint, Tensor t) {
  std::string name = fresh_name(hint);
  out_.initializers[name] = std::move(t);
  return name;
}

void QdqBuilder::add_value_info(const std::string &from, const std::string &to, DType dtype) {
  ValueInfo vi;
  if (auto it = src_.value_info.find(from); it != src_.value_info.end()) {
    vi = it->second;
  } else {
    for (const ValueInfo &g : src_.inputs)
      if (g.name == from)
        vi = g;
  }
  if (vi.name.empty())
    return;
  vi.name = to;
  vi.dtype = dtype;
  out_.value_info[to] = vi;
}

void QdqBuilder::emit_qdq(const std::string &v) {
  const ActivationParams &p = act_.at(v);
  std::string scale = add_initializer(v + "_scale", Tensor::scalar_f32(p.scale));
  Tensor zp_t(p.is_unsigned ? DType::u8 : DType::i8, {});
  if (p.is_unsigned)
    zp_t.data<uint8_t>()[0] = static_cast<uint8_t>(p.zero_point);
  else
    zp_t.data<int8_t>()[0] = static_cast<int8_t>(p.zero_point);
  std::string zp = add_initializer(v + "_zero_point", std::move(zp_t));
  std::string q = fresh_name(v + "_quantized");
  std::string dq = fresh_name(v + "_dequantized");
  Node qn;
  qn.name = fresh_name(v + "_QuantizeLinear");
  qn.op_type = "QuantizeLinear";
  qn.inputs = {v, scale, zp};
  qn.outputs = {q};
  Node dn;
  dn.name = fresh_name(v + "_DequantizeLinear");
  dn.op_type = "DequantizeLinear";
  dn.inputs = {q, scale, zp};
  dn.outputs = {dq};
  out_.nodes.push_back(std::move(qn));
  out_.nodes.push_back(std::move(dn));
  add_value_info(v, q, p.is_unsigned ? DType::u8 : DType::i8);
  add_value_info(v, dq, DType::f32);
  dq_name_[v] = dq;
}

std::string QdqBuilder::emit_weight(const Node &n, const NodeInputs &in, const NodeDecision &d,
                                    QuantizedWeight &qw) {
  const std::string &wname = n.inputs[in.weight];
  const Tensor &w = *src_.initializer(wname);
  qw = quantize_weight(w, in.weight_axis, d.weight.per_channel);
  std::string values = add_initializer(wname + "_quantized", qw.values);
  Tensor scale = d.weight.per_channel
                     ? Tensor::from_vector<float>({int64_t(qw.scales.size())}, qw.scales)
                     : Tensor::scalar_f32(qw.scales[0]);
  Tensor zp(DType::i8, d.weight.per_channel ? Shape{int64_t(qw.scales.size())} : Shape{});
  std::string scale_name = add_initializer(wname + "_scale", std::move(scale));
  std::string zp_name = add_initializer(wname + "_zero_point", std::move(zp));
  Node dn;
  dn.name = fresh_name(wname + "_DequantizeLinear");
  dn.op_type = "DequantizeLinear";
  dn.inputs = {values, scale_name, zp_name};
  dn.outputs = {fresh_name(wname + "_dequantized")};
  if (d.weight.per_channel)
    dn.attrs["axis"] = int64_t(in.weight_axis);
  std::string dq = dn.outputs[0];
  out_.nodes.push_back(std::move(dn));
  return dq;
}

// Bias as int32 with scale s_x * s_w[c] (zero point 0). With fast_bias_correction
// the fp32 bias first absorbs the mean output shift caused by weight rounding:
// delta[m] = sum_{c,k} (W - Wq)[m,c,k] * mean(x[c]) (linear in x, padding ignored).
std::string QdqBuilder::emit_bias(const Node &n, const NodeInputs &in, const QuantizedWeight &qw,
                                  const NodeDecision &d) {
  const Tensor *b = in.bias >= 0 ? src_.initializer(n.inputs[in.bias]) : nullptr;
  const Tensor &w = *src_.initializer(n.inputs[in.weight]);
  const int64_t m = w.dim(in.weight_axis);
  std::vector<float> bias(m, 0.0f);
  if (b)
    bias = b->to_f32_vector();
  bool corrected = false;
  const bool is_conv = n.op_type == "Conv" || n.op_type == "FusedConv";
  if (plan_.recipes.fast_bias_correction && is_conv) {
    const TensorStats *xs = stats_.find(n.inputs[0]);
    std::vector<double> mean = xs ? xs->channel_mean() : std::vector<double>{};
    const int64_t group = n.attr_int("group", 1);
    const int64_t cpg = w.dim(1), k = w.numel() / (m * cpg);
    if (int64_t(mean.size()) == cpg * group) {
      const float *wf = w.data<float>();
      for (int64_t oc = 0; oc < m; ++oc) {
        int64_t g = oc / (m / group);
        double delta = 0;
        for (int64_t c = 0; c < cpg; ++c)
          for (int64_t j = 0; j < k; ++j) {
            int64_t idx = (oc * cpg + c) * k + j;
            delta += (double(wf[idx]) - qw.dequant[idx]) * mean[g * cpg + c];
          }
        bias[oc] += static_cast<float>(delta);
      }
      corrected = true;
    }
  }
  if (!b && !corrected)
    return "";
  const float sx = act_.at(n.inputs[0]).scale;
  const size_t nscales = d.weight.per_channel ? size_t(m) : 1;
  std::vector<float> scales(nscales);
  Tensor q(DType::i32, {m});
  for (int64_t c = 0; c < m; ++c) {
    float s = sx * qw.scales[d.weight.per_channel ? c : 0];
    if (size_t(c) < nscales)
      scales[c] = s;
    double v = std::nearbyint(double(bias[c]) / s);
    q.data<int32_t>()[c] = static_cast<int32_t>(std::clamp(v, -2147483648.0, 2147483647.0));
  }
  const std::string base = b ? n.inputs[in.bias] : n.name + "_bias";
  std::string values = add_initializer(base + "_quantized", std::move(q));
  Tensor scale_t = d.weight.per_channel ? Tensor::from_vector<float>({m}, scales)
                                        : Tensor::scalar_f32(scales[0]);
  Tensor zp(DType::i32, d.weight.per_channel ? Shape{m} : Shape{});
  std::string scale_name = add_initializer(base + "_scale", std::move(scale_t));
  std::string zp_name = add_initializer(base + "_zero_point", std::move(zp));
  Node dn;
  dn.name = fresh_name(base + "_DequantizeLinear");
  dn.op_type = "DequantizeLinear";
  dn.inputs = {values, scale_name, zp_name};
  dn.outputs = {fresh_name(base + "_dequantized")};
  if (d.weight.per_channel)
    dn.attrs["axis"] = int64_t(0);
  std::string dq = dn.outputs[0];
  out_.nodes.push_back(std::move(dn));
  return dq;
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

Graph QdqBuilder::build(QuantizeReport *report) {
  decisions_ = resolve_plan(src_, plan_);
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
    else
      fallback_[n.name] = why;
  }
  drop_passthrough_without_int8_reader();
  assign_concat_scales();
  assign_activation_scales();

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

} // namespace

Graph quantize_graph(const Graph &fp32, const CalibrationStats &stats, const Plan &plan,
                     QuantizeReport *report) {
  return QdqBuilder(fp32, stats, plan).build(report);
}

} // namespace qtune::quant
