#include "quant/equalize.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <limits>
#include <optional>

namespace qtune::quant {

namespace {

// conv1 -> (act) -> conv2 whose scales can move between the two convs.
struct Pair {
  size_t conv1 = 0, conv2 = 0;
  bool depthwise2 = false; // conv2 reads input channel i alone (group == channels)
};

struct Links {
  const Graph &g;
  std::unordered_map<std::string, std::vector<size_t>> consumers = g.consumers();

  // The one node reading `v`, if exactly one does and `v` is not a graph output.
  std::optional<size_t> only_reader(const std::string &v) const {
    auto it = consumers.find(v);
    if (it == consumers.end() || it->second.size() != 1 || g.is_graph_output(v))
      return std::nullopt;
    return it->second[0];
  }
  // An initializer read by this node alone (so scaling it changes nothing else).
  bool own_f32_constant(const std::string &v, size_t rank) const {
    const Tensor *t = g.initializer(v);
    if (!t || t->dtype() != DType::f32 || t->rank() != rank)
      return false;
    auto it = consumers.find(v);
    return it != consumers.end() && it->second.size() == 1 && !g.is_graph_output(v);
  }
};

bool is_conv_with_own_weights(const Links &l, const Node &n) {
  if (n.op_type != "Conv" || !n.domain.empty() || n.inputs.size() < 2)
    return false;
  if (!l.own_f32_constant(n.inputs[1], 4) || l.g.is_initializer(n.inputs[0]))
    return false;
  return !n.has_input(2) || l.own_f32_constant(n.inputs[2], 1);
}

float clip_bound(const Graph &g, const Node &n, size_t input, const char *attr, float def) {
  if (n.has_input(input)) {
    const Tensor *t = g.initializer(n.inputs[input]);
    return t && t->numel() == 1 && t->dtype() == DType::f32
               ? t->data<float>()[0]
               : std::numeric_limits<float>::quiet_NaN();
  }
  return n.attr_float(attr, def);
}

// "" when f(x / s) = f(x) / s for every s > 0, else the name the report uses.
std::string non_homogeneous(const Graph &g, const Node &act) {
  if (!act.domain.empty())
    return act.domain + ":" + act.op_type;
  if (act.op_type == "Relu" || act.op_type == "LeakyRelu" || act.op_type == "PRelu")
    return "";
  if (act.op_type == "Clip") {
    const float inf = std::numeric_limits<float>::infinity();
    const float lo = clip_bound(g, act, 1, "min", -inf), hi = clip_bound(g, act, 2, "max", inf);
    return lo == 0.0f && hi == inf ? "" : "Clip (Relu6-like bounds)";
  }
  return act.op_type;
}

// One value in, the rest constants (PRelu slope, Clip bounds).
bool unary(const Graph &g, const Node &n) {
  int values = 0;
  for (const std::string &v : n.inputs)
    values += !v.empty() && !g.is_initializer(v);
  return values == 1 && n.outputs.size() == 1;
}

// x * Sigmoid(x): the SiLU the exporters write; `x` has exactly these two readers.
std::optional<size_t> silu_mul(const Graph &g, const Links &l, const std::string &x) {
  auto it = l.consumers.find(x);
  if (it == l.consumers.end() || it->second.size() != 2)
    return std::nullopt;
  for (int k = 0; k < 2; ++k) {
    const Node &sig = g.nodes[it->second[k]];
    const Node &mul = g.nodes[it->second[1 - k]];
    if (sig.op_type == "Sigmoid" && mul.op_type == "Mul" &&
        std::find(mul.inputs.begin(), mul.inputs.end(), sig.outputs[0]) != mul.inputs.end())
      return it->second[1 - k];
  }
  return std::nullopt;
}

bool channels_fit(const Graph &g, const Node &c1, const Node &c2, bool &depthwise) {
  const Tensor &w1 = *g.initializer(c1.inputs[1]);
  const Tensor &w2 = *g.initializer(c2.inputs[1]);
  const int64_t channels = w1.dim(0), group = c2.attr_int("group", 1);
  depthwise = group > 1;
  if (group == 1)
    return w2.dim(1) == channels;
  return group == channels && w2.dim(1) == 1 && w2.dim(0) % channels == 0;
}

std::vector<Pair> find_pairs(const Graph &g, EqualizeReport &report) {
  Links l{g};
  std::vector<Pair> pairs;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node &c1 = g.nodes[i];
    if (!is_conv_with_own_weights(l, c1))
      continue;
    std::string act_name;
    std::optional<size_t> next = l.only_reader(c1.outputs[0]);
    if (next && g.nodes[*next].op_type != "Conv") {
      if (!unary(g, g.nodes[*next]))
        continue; // Add, Concat ...: not an activation between two convs
      act_name = non_homogeneous(g, g.nodes[*next]);
      next = l.only_reader(g.nodes[*next].outputs[0]);
    } else if (!next) {
      if (auto mul = silu_mul(g, l, c1.outputs[0])) {
        act_name = "SiLU (x * Sigmoid(x))";
        next = l.only_reader(g.nodes[*mul].outputs[0]);
      }
    }
    if (!next || !is_conv_with_own_weights(l, g.nodes[*next]))
      continue;
    Pair p{i, *next};
    if (!channels_fit(g, c1, g.nodes[*next], p.depthwise2))
      continue;
    if (!act_name.empty()) {
      report.skipped[act_name]++;
      continue;
    }
    pairs.push_back(p);
  }
  return pairs;
}

// Largest |w| of each output channel (axis 0) of conv1.
std::vector<float> output_ranges(const Tensor &w) {
  const int64_t o = w.dim(0), inner = w.numel() / o;
  std::vector<float> r(o, 0.0f);
  for (int64_t c = 0; c < o; ++c)
    for (int64_t k = 0; k < inner; ++k)
      r[c] = std::max(r[c], std::fabs(w.data<float>()[c * inner + k]));
  return r;
}

// Largest |w| over everything conv2 reads input channel c with.
std::vector<float> input_ranges(const Tensor &w, int64_t channels, bool depthwise) {
  if (depthwise)
    return [&] {
      // [C*m, 1, kh, kw]: output channels c*m .. c*m+m-1 read input channel c.
      std::vector<float> per_out = output_ranges(w), r(channels, 0.0f);
      const int64_t m = w.dim(0) / channels;
      for (int64_t o = 0; o < w.dim(0); ++o)
        r[o / m] = std::max(r[o / m], per_out[o]);
      return r;
    }();
  const int64_t o = w.dim(0), spatial = w.numel() / (o * channels);
  std::vector<float> r(channels, 0.0f);
  for (int64_t oc = 0; oc < o; ++oc)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t k = 0; k < spatial; ++k)
        r[c] = std::max(r[c], std::fabs(w.data<float>()[(oc * channels + c) * spatial + k]));
  return r;
}

// Applies one pair's scales; returns the largest |log s_i| (0 when settled).
double equalize_pair(Graph &g, const Pair &p) {
  const Node &c1 = g.nodes[p.conv1], &c2 = g.nodes[p.conv2];
  Tensor w1 = g.initializers.at(c1.inputs[1]).clone();
  Tensor w2 = g.initializers.at(c2.inputs[1]).clone();
  const int64_t channels = w1.dim(0);
  std::vector<float> r1 = output_ranges(w1), r2 = input_ranges(w2, channels, p.depthwise2);
  std::vector<float> s(channels, 1.0f);
  double moved = 0;
  for (int64_t c = 0; c < channels; ++c) {
    if (r1[c] > 0 && r2[c] > 0)
      s[c] = std::sqrt(r1[c] / r2[c]);
    moved = std::max(moved, std::fabs(std::log(double(s[c]))));
  }
  const int64_t inner1 = w1.numel() / channels;
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t k = 0; k < inner1; ++k)
      w1.data<float>()[c * inner1 + k] /= s[c];
  if (c1.has_input(2)) {
    Tensor b = g.initializers.at(c1.inputs[2]).clone();
    for (int64_t c = 0; c < channels; ++c)
      b.data<float>()[c] /= s[c];
    g.initializers[c1.inputs[2]] = b;
  }
  if (p.depthwise2) {
    const int64_t m = w2.dim(0) / channels, inner2 = w2.numel() / w2.dim(0);
    for (int64_t o = 0; o < w2.dim(0); ++o)
      for (int64_t k = 0; k < inner2; ++k)
        w2.data<float>()[o * inner2 + k] *= s[o / m];
  } else {
    const int64_t spatial = w2.numel() / (w2.dim(0) * channels);
    for (int64_t o = 0; o < w2.dim(0); ++o)
      for (int64_t c = 0; c < channels; ++c)
        for (int64_t k = 0; k < spatial; ++k)
          w2.data<float>()[(o * channels + c) * spatial + k] *= s[c];
  }
  g.initializers[c1.inputs[1]] = w1;
  g.initializers[c2.inputs[1]] = w2;
  return moved;
}

constexpr int kMaxSweeps = 50;
constexpr double kSettled = 1e-4; // largest |log s| of a sweep

} // namespace

std::string EqualizeReport::summary() const {
  std::string s = fmt::format("cross-layer equalization: {} conv pairs ({} sweeps)", pairs, sweeps);
  for (const auto &[act, n] : skipped)
    s += fmt::format("; {} pairs skipped across {} (not positively homogeneous)", n, act);
  return s;
}

EqualizeReport equalize_cross_layer(Graph &g) {
  EqualizeReport report;
  const std::vector<Pair> pairs = find_pairs(g, report);
  report.pairs = static_cast<int>(pairs.size());
  if (pairs.empty())
    return report;
  for (report.sweeps = 1; report.sweeps <= kMaxSweeps; ++report.sweeps) {
    double moved = 0;
    for (const Pair &p : pairs)
      moved = std::max(moved, equalize_pair(g, p));
    if (moved < kSettled)
      break;
  }
  report.sweeps = std::min(report.sweeps, kMaxSweeps);
  return report;
}

} // namespace qtune::quant
