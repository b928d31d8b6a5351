#include "quant/activation_equalize.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <unordered_map>

#include "ir/passes/fusable_activation.h"

namespace qtune::quant {

namespace {

constexpr double kMaxGain = 64; // a nearly dead channel is not blown up further

bool is_conv(const Node &n) {
  return (n.op_type == "Conv" && n.domain.empty()) ||
         (n.op_type == "FusedConv" && n.domain == "qtune");
}

// How a reader's weight [O, C/group, kh, kw] sees input channel c: group 1
// (every output, column c) or depthwise (output channels c*m .. c*m+m-1).
enum class ReaderKind { pointwise, depthwise, none };

ReaderKind reader_kind(const Graph &g, const Node &n, int64_t channels) {
  if (!is_conv(n) || n.inputs.size() < 2 || n.inputs[0].empty())
    return ReaderKind::none;
  const Tensor *w = g.initializer(n.inputs[1]);
  if (!w || w->dtype() != DType::f32 || w->rank() != 4)
    return ReaderKind::none;
  const int64_t group = n.attr_int("group", 1);
  if (group == 1 && w->dim(1) == channels)
    return ReaderKind::pointwise;
  if (group == channels && w->dim(1) == 1 && w->dim(0) % channels == 0)
    return ReaderKind::depthwise;
  return ReaderKind::none;
}

// The u8 zero point that serves all channels best when each channel c gets
// its own scale max(hi/(255-z), -lo/z): the one minimising the summed log
// excess over each channel's own asymmetric optimum.
int shared_zero_point(const std::vector<double> &lo, const std::vector<double> &hi) {
  int best_z = 1;
  double best = INFINITY;
  for (int z = 1; z < 255; ++z) {
    double cost = 0;
    for (size_t c = 0; c < lo.size(); ++c) {
      const double own = (hi[c] - lo[c]) / 255.0;
      if (own > 0)
        cost += std::log(std::max(hi[c] / (255 - z), -lo[c] / z) / own);
    }
    if (cost < best)
      best = cost, best_z = z;
  }
  return best_z;
}

// f[c] >= 1 per channel of a tensor with per-channel extremes lo/hi.
std::vector<double> channel_gains(const TensorStats &s, double alpha) {
  const size_t n = s.channel_min.size();
  std::vector<double> lo(n), hi(n);
  for (size_t c = 0; c < n; ++c) {
    lo[c] = std::min(s.channel_min[c], 0.0);
    hi[c] = std::max(s.channel_max[c], 0.0);
  }
  const int z = shared_zero_point(lo, hi);
  std::vector<double> scale(n);
  for (size_t c = 0; c < n; ++c)
    scale[c] = std::max(hi[c] / (255 - z), -lo[c] / z);
  const double widest = *std::max_element(scale.begin(), scale.end());
  std::vector<double> f(n, 1.0);
  for (size_t c = 0; c < n; ++c)
    if (scale[c] > 0 && std::isfinite(scale[c]))
      f[c] = std::clamp(std::pow(widest / scale[c], alpha), 1.0, kMaxGain);
  return f;
}

// x's statistics as x * f: exact for the extremes and the per-channel fields;
// the histogram is rebuilt from the new extremes only, so only minmax may use it.
TensorStats scaled_stats(const TensorStats &s, const std::vector<double> &f) {
  TensorStats out;
  double lo = 0, hi = 0;
  out.channel_min.resize(f.size());
  out.channel_max.resize(f.size());
  out.channel_sum.resize(f.size());
  for (size_t c = 0; c < f.size(); ++c) {
    out.channel_min[c] = s.channel_min[c] * f[c];
    out.channel_max[c] = s.channel_max[c] * f[c];
    out.channel_sum[c] = c < s.channel_sum.size() ? s.channel_sum[c] * f[c] : 0.0;
    lo = std::min(lo, out.channel_min[c]);
    hi = std::max(hi, out.channel_max[c]);
  }
  const float ends[2] = {static_cast<float>(lo), static_cast<float>(hi)};
  out.add(ends);
  out.min = lo; // the exact extremes, not float-rounded
  out.max = hi;
  out.count = s.count;
  out.channel_count = s.channel_count;
  return out;
}

// Divides input channel c of a reader's weights by f[c] (a fresh tensor:
// copies of a Tensor share storage).
Tensor divided_weights(const Tensor &w, ReaderKind kind, const std::vector<double> &f) {
  Tensor out = w.clone();
  float *p = out.data<float>();
  const int64_t o_count = w.dim(0), c_count = w.dim(1), taps = w.dim(2) * w.dim(3);
  const int64_t per_channel = kind == ReaderKind::depthwise ? o_count / int64_t(f.size()) : 0;
  for (int64_t o = 0; o < o_count; ++o)
    for (int64_t c = 0; c < c_count; ++c) {
      const double g = kind == ReaderKind::depthwise ? f[o / per_channel] : f[c];
      float *tap = p + (o * c_count + c) * taps;
      for (int64_t k = 0; k < taps; ++k)
        tap[k] = static_cast<float>(tap[k] / g);
    }
  return out;
}

// Whether a conv writes `x`, directly or through an activation the conv
// kernels fuse (ir/passes/fusable_activation.h, or the gated x * Sigmoid(x) /
// x * HardSigmoid(x) form of SiLU and HardSwish): the int8 conv can then apply
// the factors before it requantizes. A Concat, Add or Resize output is not
// taken (its int8 form copies or adds bytes at one scale).
bool written_by_conv(const Graph &g, const std::unordered_map<std::string, size_t> &producers,
                     const std::string &x) {
  auto producer_of = [&](const std::string &v) -> const Node * {
    auto it = producers.find(v);
    return it == producers.end() ? nullptr : &g.nodes[it->second];
  };
  const Node *p = producer_of(x);
  if (!p)
    return false;
  if (auto gated = gated_activation_input(*p, g, producers))
    p = producer_of(*gated);
  else if (fusable_activation(g, *p))
    p = producer_of(p->inputs.at(0));
  return p && is_conv(*p);
}

bool reader_scheme_ok(const Plan &plan, const Node &n) {
  const NodeDecision d = plan.decide(n);
  return d.activation.asymmetric && d.activation.algorithm == CalibAlgorithm::minmax;
}

} // namespace

std::string ActivationEqualization::summary() const {
  std::string s = fmt::format("activation equalization: {} activations scaled per channel "
                              "(mean gain {:.2f}), weights of {} convs divided",
                              tensors, mean_gain, readers);
  if (skipped_scheme)
    s += fmt::format("; {} skipped (int8 readers not u8 minmax)", skipped_scheme);
  return s;
}

ActivationEqualization equalize_activations(const Graph &fp32, const CalibrationStats &stats,
                                            const Plan &plan, double alpha) {
  ActivationEqualization r;
  r.graph = fp32;
  r.stats = stats;
  Graph &g = r.graph;
  const auto consumers = g.consumers();
  const auto producers = g.producers();
  std::unordered_map<std::string, int> uses; // how many inputs name each initializer
  for (const Node &n : g.nodes)
    for (const std::string &v : n.inputs)
      ++uses[v];

  std::vector<Node> nodes;
  nodes.reserve(g.nodes.size() * 2);
  double gain_sum = 0;
  int64_t gain_count = 0;
  std::unordered_map<std::string, std::string> renamed; // x -> x~ for the readers
  for (const Node &producer : fp32.nodes) {
    nodes.push_back(producer);
    for (const std::string &x : producer.outputs) {
      const TensorStats *s = stats.find(x);
      auto readers = consumers.find(x);
      if (x.empty() || g.is_graph_output(x) || !s || s->channel_min.size() < 2 ||
          readers == consumers.end() || !written_by_conv(fp32, producers, x))
        continue;
      const auto channels = static_cast<int64_t>(s->channel_min.size());
      bool ok = true, scheme = true, only_depthwise = true;
      for (size_t k : readers->second) {
        const Node &rd = fp32.nodes[k];
        const ReaderKind kind = reader_kind(g, rd, channels);
        ok = ok && rd.inputs[0] == x && kind != ReaderKind::none && uses[rd.inputs[1]] == 1 &&
             std::count(rd.inputs.begin(), rd.inputs.end(), x) == 1 &&
             plan.decide(rd).precision == Precision::int8; // an fp32 reader gains nothing
        scheme = scheme && reader_scheme_ok(plan, rd);
        only_depthwise = only_depthwise && kind == ReaderKind::depthwise;
      }
      if (!ok)
        continue;
      if (!scheme) {
        ++r.skipped_scheme;
        continue;
      }
      // Depthwise readers take the factors into their per-channel weight
      // scales exactly: nothing to trade, so the full gain.
      const std::vector<double> f = channel_gains(*s, only_depthwise ? 1.0 : alpha);
      if (std::all_of(f.begin(), f.end(), [](double v) { return v == 1.0; }))
        continue;
      std::vector<float> f32(f.begin(), f.end());
      const std::string factors = g.unique_name(x + "_equalize");
      g.initializers[factors] = Tensor::from_vector<float>({1, channels, 1, 1}, f32);
      Node mul;
      mul.name = g.unique_name(x + "_equalize_Mul");
      mul.op_type = "Mul";
      mul.inputs = {x, factors};
      mul.outputs = {g.unique_name(x + "_equalized")};
      mul.attrs[kChannelScaleAttr] = int64_t{1};
      if (auto vi = g.value_info.find(x); vi != g.value_info.end()) {
        ValueInfo v = vi->second;
        v.name = mul.outputs[0];
        g.value_info[v.name] = v;
      }
      r.stats.tensors[mul.outputs[0]] = scaled_stats(*s, f);
      renamed[x] = mul.outputs[0];
      for (size_t k : readers->second) {
        const Node &rd = fp32.nodes[k];
        const Tensor &w = *g.initializer(rd.inputs[1]);
        g.initializers[rd.inputs[1]] = divided_weights(w, reader_kind(g, rd, channels), f);
        ++r.readers;
      }
      nodes.push_back(std::move(mul));
      ++r.tensors;
      for (double v : f)
        gain_sum += v;
      gain_count += channels;
    }
  }
  for (Node &n : nodes)
    if (!n.attrs.count(kChannelScaleAttr))
      for (std::string &v : n.inputs)
        if (auto it = renamed.find(v); it != renamed.end())
          v = it->second;
  g.nodes = std::move(nodes);
  r.mean_gain = gain_count ? gain_sum / double(gain_count) : 1.0;
  return r;
}

} // namespace qtune::quant
