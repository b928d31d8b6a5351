// Writing the QDQ graph: Q/DQ node pairs, int8 weights with their scales and
// int32 biases (with optional fast bias correction), fresh value names.
#include <algorithm>
#include <cmath>

#include "quant/qdq_builder.h"

namespace qtune::quant::detail {

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

// DQ(values) of a constant with zero points 0 of `zp_type`: scales per channel
// on `axis` (all of `scales`) or per tensor (scales[0]).
std::string QdqBuilder::emit_constant_dq(const std::string &base, Tensor values,
                                         const std::vector<float> &scales, bool per_channel,
                                         DType zp_type, int64_t axis) {
  const auto n = static_cast<int64_t>(scales.size());
  std::string values_name = add_initializer(base + "_quantized", std::move(values));
  Tensor scale =
      per_channel ? Tensor::from_vector<float>({n}, scales) : Tensor::scalar_f32(scales[0]);
  std::string scale_name = add_initializer(base + "_scale", std::move(scale));
  std::string zp_name =
      add_initializer(base + "_zero_point", Tensor(zp_type, per_channel ? Shape{n} : Shape{}));
  Node dn;
  dn.name = fresh_name(base + "_DequantizeLinear");
  dn.op_type = "DequantizeLinear";
  dn.inputs = {values_name, scale_name, zp_name};
  dn.outputs = {fresh_name(base + "_dequantized")};
  if (per_channel)
    dn.attrs["axis"] = axis;
  std::string dq = dn.outputs[0];
  out_.nodes.push_back(std::move(dn));
  return dq;
}

std::string QdqBuilder::emit_weight(const Node &n, const NodeInputs &in, const NodeDecision &d,
                                    QuantizedWeight &qw) {
  const std::string &wname = n.inputs[in.weight];
  const Tensor &w = *src_.initializer(wname);
  qw = quantize_weight(w, in.weight_axis, d.weight.per_channel);
  return emit_constant_dq(wname, qw.values, qw.scales, d.weight.per_channel, DType::i8,
                          in.weight_axis);
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
  if (plan_.recipes.fast_bias_correction && find_descriptor(n)->conv_bias_correction) {
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
  return emit_constant_dq(base, std::move(q), scales, d.weight.per_channel, DType::i32, 0);
}

} // namespace qtune::quant::detail
