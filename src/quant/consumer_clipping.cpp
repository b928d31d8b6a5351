#include "quant/consumer_clipping.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <memory>

#include "quant/op_descriptor.h"
#include "quant/qdq_constant.h"
#include "runtime/executor.h"

namespace qtune::quant {

namespace {

using Batch = std::unordered_map<std::string, Tensor>;

constexpr float kFractions[] = {1.0f, 0.9f, 0.8f, 0.7f, 0.6f, 0.5f, 0.4f};

// One activation x -> Q -> DQ -> {Conv ...}.
struct Site {
  std::string x, scale;
  float s = 1;
  int32_t zero_point = 0, qmin = 0, qmax = 255;
  std::vector<size_t> convs; // readers of the DQ output
};

bool scalar_param(const Graph &g, const Node &q, Site &site) {
  if (q.inputs.size() < 3)
    return false;
  const Tensor *s = g.initializer(q.inputs[1]), *z = g.initializer(q.inputs[2]);
  if (!s || !z || s->numel() != 1 || z->numel() != 1 || s->dtype() != DType::f32)
    return false;
  site.scale = q.inputs[1];
  site.s = s->data<float>()[0];
  if (z->dtype() == DType::u8) {
    site.zero_point = z->data<uint8_t>()[0];
    site.qmin = 0;
    site.qmax = 255;
  } else if (z->dtype() == DType::i8) {
    site.zero_point = z->data<int8_t>()[0];
    site.qmin = -128;
    site.qmax = 127;
  } else {
    return false;
  }
  return site.s > 0;
}

// A conv reading `v` as its data input with int8 weights behind a DQ.
bool int8_conv_reader(const Graph &g, const std::unordered_map<std::string, size_t> &prod,
                      const Node &n, const std::string &v) {
  if (n.op_type != "Conv" || n.inputs.size() < 2 || n.inputs[0] != v || n.inputs[1] == v)
    return false;
  auto w = prod.find(n.inputs[1]);
  return w != prod.end() && g.nodes[w->second].op_type == "DequantizeLinear" &&
         g.is_initializer(g.nodes[w->second].inputs[0]);
}

std::vector<Site> find_sites(const Graph &g) {
  const auto prod = g.producers();
  const auto cons = g.consumers();
  std::vector<Site> sites;
  for (const Node &q : g.nodes) {
    Site site;
    if (q.op_type != "QuantizeLinear" || g.is_initializer(q.inputs[0]) || !scalar_param(g, q, site))
      continue;
    if (auto p = prod.find(q.inputs[0]); p != prod.end()) {
      auto role = quant_role(g.nodes[p->second]);
      if (role && *role == QuantRole::passthrough)
        continue;
    }
    auto qr = cons.find(q.outputs[0]);
    if (qr == cons.end() || qr->second.size() != 1)
      continue;
    const Node &dq = g.nodes[qr->second[0]];
    auto readers = cons.find(dq.outputs[0]);
    if (dq.op_type != "DequantizeLinear" || dq.inputs[1] != site.scale || readers == cons.end() ||
        g.is_graph_output(dq.outputs[0]))
      continue;
    bool all_convs = true;
    for (size_t r : readers->second)
      all_convs = all_convs && int8_conv_reader(g, prod, g.nodes[r], dq.outputs[0]);
    if (!all_convs)
      continue;
    site.x = q.inputs[0];
    site.convs = readers->second;
    sites.push_back(std::move(site));
  }
  return sites;
}

// conv_C without bias, reading one input "e" shaped like x, int8 weights as f32.
std::unique_ptr<Executor> error_conv(const Graph &g, const Node &conv, const Shape &x) {
  auto mini = std::make_shared<Graph>();
  mini->name = "consumer_error";
  mini->opset = g.opset;
  ValueInfo e;
  e.name = "e";
  e.dtype = DType::f32;
  for (int64_t d : x)
    e.dims.push_back({d, ""});
  e.has_shape = true;
  mini->inputs = {e};
  ValueInfo y;
  y.name = "y";
  y.dtype = DType::f32;
  mini->outputs = {y};
  const Node &wdq = g.nodes[g.producers().at(conv.inputs[1])];
  mini->initializers["w"] = dequantize_constant(wdq, g);
  Node n;
  n.name = conv.name;
  n.op_type = "Conv";
  n.inputs = {"e", "w"};
  n.outputs = {"y"};
  n.attrs = conv.attrs;
  mini->nodes = {n};
  return std::make_unique<Executor>(mini, ExecutorOptions{.threads = 1});
}

// DQ(Q(x; scale)) - x, ONNX rounding (half to even).
Tensor rounding_error(const Tensor &x, const Site &s, float scale) {
  Tensor e(DType::f32, x.shape());
  const float *p = x.data<float>();
  float *o = e.data<float>();
  for (int64_t i = 0; i < x.numel(); ++i) {
    const float q = std::clamp(std::nearbyint(p[i] / scale) + float(s.zero_point), float(s.qmin),
                               float(s.qmax));
    o[i] = (q - float(s.zero_point)) * scale - p[i];
  }
  return e;
}

double sum_squares(const Tensor &t) {
  double a = 0;
  for (float v : t.span<const float>())
    a += double(v) * v;
  return a;
}

// The f of kFractions with the least consumer output error.
float best_fraction(const Graph &g, const Site &s, const std::vector<Tensor> &xs) {
  std::vector<std::unique_ptr<Executor>> convs;
  for (size_t c : s.convs)
    convs.push_back(error_conv(g, g.nodes[c], xs.front().shape()));
  float best = 1.0f;
  double best_err = -1;
  for (float f : kFractions) {
    double err = 0;
    for (const Tensor &x : xs) {
      Batch in{{"e", rounding_error(x, s, s.s * f)}};
      for (auto &ex : convs)
        err += sum_squares(ex->run(in)[0]);
    }
    if (best_err < 0 || err < best_err) {
      best_err = err;
      best = f;
    }
  }
  return best;
}

} // namespace

std::string ClippingReport::summary() const {
  return fmt::format("consumer-error clipping: {} of {} activations narrowed (mean range x{:.2f})",
                     clipped, tensors, mean_fraction);
}

ClippingReport clip_by_consumer_error(Graph &qdq, const std::vector<Batch> &batches) {
  ClippingReport report;
  const std::vector<Site> sites = find_sites(qdq);
  if (sites.empty() || batches.empty())
    return report;
  std::unordered_map<std::string, std::vector<Tensor>> seen;
  for (const Site &s : sites)
    seen[s.x];
  {
    Executor ex(std::make_shared<const Graph>(qdq));
    ex.set_node_hook([&](const Node &n, std::span<const Tensor> outs) {
      for (size_t i = 0; i < outs.size() && i < n.outputs.size(); ++i)
        if (auto it = seen.find(n.outputs[i]); it != seen.end() && outs[i].dtype() == DType::f32)
          it->second.push_back(outs[i].clone());
    });
    for (const Batch &b : batches) {
      for (const auto &[name, t] : b)
        if (auto it = seen.find(name); it != seen.end() && t.dtype() == DType::f32)
          it->second.push_back(t); // the graph input read by the stem conv
      ex.run(b);
    }
  }
  double fraction_sum = 0;
  for (const Site &s : sites) {
    const std::vector<Tensor> &xs = seen.at(s.x);
    if (xs.empty())
      continue;
    const float f = best_fraction(qdq, s, xs);
    qdq.initializers[s.scale] = Tensor::scalar_f32(s.s * f);
    ++report.tensors;
    report.clipped += f < 1.0f;
    fraction_sum += f;
  }
  report.mean_fraction = report.tensors ? fraction_sum / report.tensors : 1.0;
  return report;
}

} // namespace qtune::quant
