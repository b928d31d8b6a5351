#include "quant/compare.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <map>
#include <memory>
#include <unordered_set>

#include "runtime/executor.h"

namespace qtune::quant {

namespace {

// One FP32 tensor and the quantized model's tensor it is compared with.
struct Match {
  std::string fp32, quant;
  bool quantized = false;
  double q_lo = std::numeric_limits<double>::quiet_NaN();
  double q_hi = std::numeric_limits<double>::quiet_NaN();
};

// Running sums over samples for one match.
struct Accum {
  double sig2 = 0, err2 = 0, max_abs = 0;
  int64_t numel = 0;
  bool seen = false;
  TensorError first; // range + histogram from the first sample
};

std::unordered_set<std::string> float_candidates(const Graph &g) {
  std::unordered_set<std::string> names;
  for (const ValueInfo &v : g.inputs)
    names.insert(v.name);
  for (const Node &n : g.nodes)
    for (const std::string &o : n.outputs)
      if (!o.empty())
        names.insert(o);
  return names;
}

// [lo, hi] a per-tensor QuantizeLinear can represent, or NaNs.
void q_range(const Graph &g, const Node &q, Match &m) {
  const Tensor *scale = q.has_input(1) ? g.initializer(q.inputs[1]) : nullptr;
  const Tensor *zp = q.has_input(2) ? g.initializer(q.inputs[2]) : nullptr;
  if (!scale || scale->numel() != 1 || scale->dtype() != DType::f32 || (zp && zp->numel() != 1))
    return;
  const bool s8 = zp && zp->dtype() == DType::i8;
  double z = 0;
  if (zp)
    z = s8 ? double(zp->data<int8_t>()[0]) : double(zp->data<uint8_t>()[0]);
  const double qmin = s8 ? -128 : 0, qmax = s8 ? 127 : 255;
  const double s = scale->data<float>()[0];
  m.q_lo = s * (qmin - z);
  m.q_hi = s * (qmax - z);
}

std::vector<Match> match_tensors(const Graph &fp32, const Graph &quant) {
  const auto fp32_names = float_candidates(fp32);
  const auto prod = quant.producers();
  std::vector<Match> out;
  std::unordered_set<std::string> via_qdq;
  for (const Node &dq : quant.nodes) {
    if (dq.op_type != "DequantizeLinear" || dq.outputs.empty())
      continue;
    auto p = prod.find(dq.inputs.at(0));
    if (p == prod.end() || quant.nodes[p->second].op_type != "QuantizeLinear")
      continue; // a constant's DQ (weights): no FP32 activation to compare
    const Node &q = quant.nodes[p->second];
    const std::string &x = q.inputs.at(0);
    if (!fp32_names.count(x) || via_qdq.count(x))
      continue;
    Match m{x, dq.outputs[0], true};
    q_range(quant, q, m);
    via_qdq.insert(x);
    out.push_back(m);
  }
  for (const Node &n : quant.nodes) {
    if (n.op_type == "QuantizeLinear" || n.op_type == "DequantizeLinear")
      continue;
    for (const std::string &o : n.outputs)
      if (!o.empty() && fp32_names.count(o) && !via_qdq.count(o))
        out.push_back({o, o, false});
  }
  return out;
}

// Every float tensor named in `wanted`, copied out of one run (graph inputs too).
std::map<std::string, Tensor> capture(Executor &ex, const Inputs &in,
                                      const std::unordered_set<std::string> &wanted) {
  std::map<std::string, Tensor> got;
  for (const auto &[name, t] : in)
    if (wanted.count(name) && t.dtype() == DType::f32)
      got[name] = t.clone();
  ex.set_node_hook([&](const Node &n, std::span<const Tensor> outs) {
    for (size_t i = 0; i < outs.size() && i < n.outputs.size(); ++i)
      if (wanted.count(n.outputs[i]) && outs[i].dtype() == DType::f32)
        got[n.outputs[i]] = outs[i].clone();
  });
  ex.run(in);
  return got;
}

void histogram(std::span<const float> x, const Match &m, int bins, TensorError &e) {
  auto [lo, hi] = std::minmax_element(x.begin(), x.end());
  e.fp32_min = *lo, e.fp32_max = *hi;
  if (bins <= 0)
    return;
  e.hist_lo = std::isnan(m.q_lo) ? *lo : std::min<double>(*lo, m.q_lo);
  e.hist_hi = std::isnan(m.q_hi) ? *hi : std::max<double>(*hi, m.q_hi);
  if (e.hist_hi <= e.hist_lo)
    e.hist_hi = e.hist_lo + 1;
  e.histogram.assign(bins, 0);
  const double w = (e.hist_hi - e.hist_lo) / bins;
  for (float v : x)
    e.histogram[std::clamp(static_cast<int>((v - e.hist_lo) / w), 0, bins - 1)]++;
}

void accumulate(Accum &a, const Match &m, const Tensor &ref, const Tensor &got, int bins) {
  std::span<const float> x = ref.span<float>(), y = got.span<float>();
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = double(x[i]) - double(y[i]);
    a.sig2 += double(x[i]) * x[i];
    a.err2 += d * d;
    a.max_abs = std::max(a.max_abs, std::fabs(d));
  }
  if (!a.seen) {
    a.numel = static_cast<int64_t>(x.size());
    histogram(x, m, bins, a.first);
    a.seen = true;
  }
}

TensorError finish(const Match &m, const Accum &a) {
  TensorError e = a.first;
  e.name = m.fp32;
  e.matched = m.quant;
  e.quantized = m.quantized;
  e.numel = a.numel;
  e.q_lo = m.q_lo, e.q_hi = m.q_hi;
  e.max_abs = a.max_abs;
  e.rel_l2 = a.sig2 > 0 ? std::sqrt(a.err2 / a.sig2) : (a.err2 > 0 ? INFINITY : 0);
  e.sqnr_db = a.err2 > 0 ? 10 * std::log10(a.sig2 / a.err2) : INFINITY;
  return e;
}

} // namespace

CompareResult compare_models(const Graph &fp32, const Graph &quantized,
                             const std::vector<Inputs> &inputs, int threads, int histogram_bins) {
  const std::vector<Match> matches = match_tensors(fp32, quantized);
  std::unordered_set<std::string> want_fp32, want_quant;
  for (const Match &m : matches)
    want_fp32.insert(m.fp32), want_quant.insert(m.quant);
  Executor ex32(std::make_shared<const Graph>(fp32), {.threads = threads});
  Executor exq(std::make_shared<const Graph>(quantized), {.threads = threads});
  std::vector<Accum> acc(matches.size());
  std::map<std::string, std::string> skipped;
  CompareResult r;
  for (const Inputs &in : inputs) {
    // One sample's FP32 tensors at a time: memory is one set of activations.
    const auto ref = capture(ex32, in, want_fp32);
    const auto got = capture(exq, in, want_quant);
    for (size_t i = 0; i < matches.size(); ++i) {
      auto a = ref.find(matches[i].fp32), b = got.find(matches[i].quant);
      if (a == ref.end() || b == got.end())
        continue; // not float in one of the graphs
      if (a->second.numel() != b->second.numel()) {
        skipped[matches[i].fp32] =
            fmt::format("{}: FP32 shape {} but quantized {}", matches[i].fp32,
                        shape_str(a->second.shape()), shape_str(b->second.shape()));
        continue;
      }
      accumulate(acc[i], matches[i], a->second, b->second, histogram_bins);
    }
    // Batched inputs hold several samples (batch dim first).
    const Tensor &first = in.begin()->second;
    r.samples += first.rank() > 0 && first.shape()[0] > 0 ? first.shape()[0] : 1;
  }
  for (size_t i = 0; i < matches.size(); ++i)
    if (acc[i].seen)
      r.rows.push_back(finish(matches[i], acc[i]));
  std::stable_sort(r.rows.begin(), r.rows.end(), [](const TensorError &a, const TensorError &b) {
    return a.sqnr_db < b.sqnr_db;
  });
  for (auto &[name, note] : skipped)
    r.skipped.push_back(note);
  return r;
}

namespace {

// JSON has no infinity: an exact match is written as null.
nlohmann::json finite_or_null(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

} // namespace

nlohmann::json to_json(const TensorError &e) {
  nlohmann::json j = {{"name", e.name},
                      {"matched", e.matched},
                      {"quantized", e.quantized},
                      {"numel", e.numel},
                      {"sqnr_db", finite_or_null(e.sqnr_db)},
                      {"rel_l2", finite_or_null(e.rel_l2)},
                      {"max_abs", e.max_abs},
                      {"fp32_min", e.fp32_min},
                      {"fp32_max", e.fp32_max}};
  if (!std::isnan(e.q_lo))
    j["q_range"] = {e.q_lo, e.q_hi};
  if (!e.histogram.empty())
    j["histogram"] = {{"lo", e.hist_lo}, {"hi", e.hist_hi}, {"counts", e.histogram}};
  return j;
}

nlohmann::json to_json(const CompareResult &r) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto &e : r.rows)
    rows.push_back(to_json(e));
  return {{"samples", r.samples}, {"tensors", rows}, {"skipped", r.skipped}};
}

} // namespace qtune::quant
