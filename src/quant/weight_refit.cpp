#include "quant/weight_refit.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <memory>
#include <set>

#include "quant/conv_sites.h"
#include "quant/qdq_constant.h"
#include "runtime/dnnl_util.h"
#include "runtime/executor.h"

namespace qtune::quant {

namespace {

using Batch = std::unordered_map<std::string, Tensor>;

// Second-order statistics of one group's im2col patches, each extended by a
// constant 1 (the bias): H = sum q q^T, C = sum q f^T, F = sum f f^T with q the
// quantized model's patch and f the FP32 model's patch at the same position.
struct GroupStats {
  std::vector<double> H, C, F;
};

struct Site {
  Int8ConvSite conv;
  std::string x_fp;        // the FP32 conv's data input
  std::vector<float> w, b; // FP32 weights [m, cpg, kh, kw] and bias [m]
  int64_t m = 0, group = 1, cpg = 0, kh = 0, kw = 0, dim = 0; // dim = cpg*kh*kw + 1
  std::vector<GroupStats> stats;
  double positions = 0;
  int inputs_seen = 0;
};

// The refit solves dim x dim systems per group and keeps three of them:
// larger patches (wide dense 3x3 convs) are left to bias correction.
constexpr int64_t kMaxDim = 1200;
constexpr double kMaxStatsBytes = 256.0 * 1024 * 1024;

std::vector<Site> find_sites(const Graph &qdq, const Graph &fp32, int &skipped) {
  std::unordered_map<std::string, size_t> fp32_index;
  for (size_t i = 0; i < fp32.nodes.size(); ++i)
    fp32_index[fp32.nodes[i].name] = i;
  const auto readers = qdq.consumers();
  // A constant another node also reads cannot be refitted for this conv alone.
  auto shared_initializer = [&](const std::string &name) {
    auto it = readers.find(name);
    return it != readers.end() && it->second.size() > 1;
  };
  std::vector<Site> sites;
  for (const Int8ConvSite &c : find_int8_conv_sites(qdq)) {
    const Node &n = qdq.nodes[c.node];
    auto f = fp32_index.find(n.name);
    const Node *fn = f == fp32_index.end() ? nullptr : &fp32.nodes[f->second];
    const Tensor *w = fn && fn->inputs.size() > 1 ? fp32.initializer(fn->inputs[1]) : nullptr;
    const Node &wdq = qdq.nodes[c.weight_dq];
    if (!w || w->dtype() != DType::f32 || w->rank() != 4 || shared_initializer(wdq.inputs[0]) ||
        shared_initializer(qdq.nodes[c.bias_dq].inputs[0])) {
      ++skipped;
      continue;
    }
    Site s;
    s.conv = c;
    s.x_fp = fn->inputs[0];
    s.m = w->dim(0);
    s.cpg = w->dim(1);
    s.kh = w->dim(2);
    s.kw = w->dim(3);
    s.group = n.attr_int("group", 1);
    s.dim = s.cpg * s.kh * s.kw + 1;
    // Three dim x dim statistics per group: at most kMaxStatsBytes per conv.
    if (s.group < 1 || s.m % s.group != 0 || s.dim > kMaxDim ||
        double(s.group) * double(s.dim) * double(s.dim) * 3 * sizeof(double) > kMaxStatsBytes) {
      ++skipped;
      continue;
    }
    s.w = w->to_f32_vector();
    s.b.assign(s.m, 0.0f);
    if (fn->inputs.size() > 2 && !fn->inputs[2].empty())
      if (const Tensor *b = fp32.initializer(fn->inputs[2]); b && b->numel() == s.m)
        s.b = b->to_f32_vector();
    sites.push_back(std::move(s));
  }
  return sites;
}

// H and F are filled in their upper triangle only (mirrored before solving).
void add_outer(std::vector<double> &m, const std::vector<double> &a, const std::vector<double> &b,
               int64_t dim, bool upper) {
  for (int64_t i = 0; i < dim; ++i) {
    const double ai = a[i];
    if (ai == 0.0)
      continue;
    double *row = m.data() + i * dim;
    for (int64_t j = upper ? i : 0; j < dim; ++j)
      row[j] += ai * b[j];
  }
}

// One patch of channel group `g` at output position (n, oh, ow), plus the 1.
void patch(const Tensor &x, const Site &s, const dnnl_util::Window &win, int64_t n, int64_t g,
           int64_t oh, int64_t ow, std::vector<double> &v) {
  const int64_t c = x.dim(1), h = x.dim(2), w = x.dim(3);
  const float *p = x.data<float>();
  int64_t k = 0;
  for (int64_t ch = 0; ch < s.cpg; ++ch) {
    const float *plane = p + (n * c + g * s.cpg + ch) * h * w;
    for (int64_t i = 0; i < s.kh; ++i) {
      const int64_t ih = oh * win.strides[0] - win.pad_begin[0] + i * win.dilations[0];
      for (int64_t j = 0; j < s.kw; ++j, ++k) {
        const int64_t iw = ow * win.strides[1] - win.pad_begin[1] + j * win.dilations[1];
        v[k] = ih >= 0 && ih < h && iw >= 0 && iw < w ? plane[ih * w + iw] : 0.0;
      }
    }
  }
  v[k] = 1.0;
}

void accumulate(Site &s, const Node &conv, const Tensor &xq, const Tensor &xf, double work_budget) {
  if (xq.shape() != xf.shape() || xq.rank() != 4 || xq.dtype() != DType::f32 ||
      xf.dtype() != DType::f32 || xq.dim(1) != s.cpg * s.group)
    return;
  const dnnl_util::Window win = dnnl_util::resolve_window(conv, xq.shape(), {s.kh, s.kw}, false);
  const int64_t oh_n = win.out[0], ow_n = win.out[1], per_image = oh_n * ow_n;
  const int64_t total = xq.dim(0) * per_image;
  const double cost = double(s.group) * double(s.dim) * double(s.dim) * 3.0;
  const int64_t step = std::max<int64_t>(1, int64_t(std::ceil(double(total) * cost / work_budget)));
  const int64_t start = (int64_t(s.inputs_seen++) * 7919) % step; // other positions per input
  if (s.stats.empty())
    s.stats.assign(s.group, {std::vector<double>(s.dim * s.dim, 0.0),
                             std::vector<double>(s.dim * s.dim, 0.0),
                             std::vector<double>(s.dim * s.dim, 0.0)});
  std::vector<double> q(s.dim), f(s.dim);
  for (int64_t p = start; p < total; p += step) {
    const int64_t n = p / per_image, oh = (p % per_image) / ow_n, ow = p % ow_n;
    for (int64_t g = 0; g < s.group; ++g) {
      patch(xq, s, win, n, g, oh, ow, q);
      patch(xf, s, win, n, g, oh, ow, f);
      GroupStats &st = s.stats[g];
      add_outer(st.H, q, q, s.dim, true);
      add_outer(st.C, q, f, s.dim, false);
      add_outer(st.F, f, f, s.dim, true);
    }
    s.positions += 1;
  }
}

void mirror(std::vector<double> &m, int64_t dim) {
  for (int64_t i = 0; i < dim; ++i)
    for (int64_t j = 0; j < i; ++j)
      m[i * dim + j] = m[j * dim + i];
}

// Cholesky factor L (lower) of a symmetric positive definite matrix, in place.
bool cholesky(std::vector<double> &a, int64_t dim) {
  for (int64_t j = 0; j < dim; ++j) {
    double d = a[j * dim + j];
    for (int64_t k = 0; k < j; ++k)
      d -= a[j * dim + k] * a[j * dim + k];
    if (!(d > 0.0))
      return false;
    d = std::sqrt(d);
    a[j * dim + j] = d;
    for (int64_t i = j + 1; i < dim; ++i) {
      double v = a[i * dim + j];
      for (int64_t k = 0; k < j; ++k)
        v -= a[i * dim + k] * a[j * dim + k];
      a[i * dim + j] = v / d;
    }
  }
  return true;
}

std::vector<double> cholesky_solve(const std::vector<double> &l, int64_t dim,
                                   std::vector<double> x) {
  for (int64_t i = 0; i < dim; ++i) {
    for (int64_t k = 0; k < i; ++k)
      x[i] -= l[i * dim + k] * x[k];
    x[i] /= l[i * dim + i];
  }
  for (int64_t i = dim - 1; i >= 0; --i) {
    for (int64_t k = i + 1; k < dim; ++k)
      x[i] -= l[k * dim + i] * x[k];
    x[i] /= l[i * dim + i];
  }
  return x;
}

// v^T M u for a full dim x dim matrix.
double bilinear(const std::vector<double> &v, const std::vector<double> &m,
                const std::vector<double> &u, int64_t dim) {
  double acc = 0;
  for (int64_t i = 0; i < dim; ++i) {
    double row = 0;
    for (int64_t j = 0; j < dim; ++j)
      row += m[i * dim + j] * u[j];
    acc += v[i] * row;
  }
  return acc;
}

// Squared error of output weights `v` (on quantized patches) against the
// FP32 output `w` (on FP32 patches): v'Hv - 2 v'Cw + w'Fw.
double squared_error(const GroupStats &st, const std::vector<double> &v,
                     const std::vector<double> &w, int64_t dim) {
  return bilinear(v, st.H, v, dim) - 2.0 * bilinear(v, st.C, w, dim) + bilinear(w, st.F, w, dim);
}

struct Refitted {
  std::vector<float> scales;  // per output channel
  std::vector<int8_t> values; // [m, cpg, kh, kw]
  std::vector<double> bias;   // f32 bias for the rounded weights
  // Sums over output channels of the squared error relative to the FP32
  // output's energy, before and after; `channels` of them.
  double before = 0, after = 0;
  int64_t channels = 0;
};

// Solves every output channel of `s`; `old_w` / `old_b` are what the QDQ graph
// holds now (dequantized), `old_scales` its weight scales (one or per channel).
Refitted solve(Site &s, const std::vector<float> &old_w, const std::vector<float> &old_b,
               const std::vector<float> &old_scales, double ridge) {
  const int64_t dim = s.dim, taps = dim - 1, per_group = s.m / s.group;
  Refitted r;
  r.scales.resize(s.m);
  r.values.resize(s.m * taps);
  r.bias.resize(s.m);
  for (int64_t g = 0; g < s.group; ++g) {
    GroupStats &st = s.stats[g];
    mirror(st.H, dim);
    mirror(st.F, dim);
    double trace = 0;
    for (int64_t i = 0; i < taps; ++i)
      trace += st.H[i * dim + i];
    // Ridge towards the FP32 weights: directions the calibration inputs do
    // not excite keep their original value instead of drifting.
    double lambda = ridge * std::max(trace / double(std::max<int64_t>(1, taps)), 1e-12);
    std::vector<double> l;
    for (int attempt = 0; attempt < 6; ++attempt, lambda *= 10) {
      l = st.H;
      for (int64_t i = 0; i < taps; ++i) // not the bias: H's bias entry is the count > 0
        l[i * dim + i] += lambda;
      if (cholesky(l, dim))
        break;
      l.clear();
    }
    for (int64_t oc = g * per_group; oc < (g + 1) * per_group; ++oc) {
      std::vector<double> w(dim), old(dim);
      for (int64_t k = 0; k < taps; ++k) {
        w[k] = s.w[oc * taps + k];
        old[k] = old_w[oc * taps + k];
      }
      w[taps] = s.b[oc];
      old[taps] = old_b[oc];
      const double energy = std::max(bilinear(w, st.F, w, dim), 1e-30);
      const double before = squared_error(st, old, w, dim);
      std::vector<double> best = old;
      double after = before;
      float scale = old_scales[old_scales.size() == 1 ? 0 : oc];
      if (!l.empty()) {
        std::vector<double> rhs(dim, 0.0);
        for (int64_t i = 0; i < dim; ++i) {
          for (int64_t j = 0; j < dim; ++j)
            rhs[i] += st.C[i * dim + j] * w[j];
          rhs[i] += i < taps ? lambda * w[i] : 0.0;
        }
        std::vector<double> fit = cholesky_solve(l, dim, rhs);
        float new_scale = scale;
        if (old_scales.size() > 1) { // per channel: the refitted range sets the scale
          double mx = 0;
          for (int64_t k = 0; k < taps; ++k)
            mx = std::max(mx, std::fabs(fit[k]));
          const float fitted = float(mx / 127.0);
          new_scale = fitted > 0 && std::isfinite(fitted) ? fitted : scale;
        }
        std::vector<double> rounded(dim);
        double sum_q = 0;
        for (int64_t k = 0; k < taps; ++k) {
          rounded[k] = std::clamp(std::nearbyint(fit[k] / new_scale), -127.0, 127.0) * new_scale;
          sum_q += rounded[k] * st.H[taps * dim + k];
        }
        // Bias for the rounded weights: the mean output matches FP32 exactly.
        double sum_y = 0;
        for (int64_t j = 0; j < dim; ++j)
          sum_y += st.C[taps * dim + j] * w[j];
        rounded[taps] = (sum_y - sum_q) / std::max(st.H[taps * dim + taps], 1.0);
        const double err = squared_error(st, rounded, w, dim);
        if (err < before) { // on the calibration positions; else keep what we had
          best = rounded;
          after = err;
          scale = new_scale;
        }
      }
      r.scales[oc] = scale;
      for (int64_t k = 0; k < taps; ++k)
        r.values[oc * taps + k] =
            static_cast<int8_t>(std::clamp(std::nearbyint(best[k] / scale), -127.0, 127.0));
      r.bias[oc] = best[taps];
      r.before += before / energy;
      r.after += after / energy;
      ++r.channels;
    }
  }
  return r;
}

// Writes the refit into the QDQ graph: int8 weights and their scales, the
// int32 bias at scale s_x * s_w[c] (s_x read back from the old bias scale).
void write_back(Graph &qdq, const Site &s, const Refitted &r) {
  const Node &wdq = qdq.nodes[s.conv.weight_dq];
  const Node &bdq = qdq.nodes[s.conv.bias_dq];
  Tensor &values = qdq.initializers.at(wdq.inputs[0]);
  Tensor &wscale = qdq.initializers.at(wdq.inputs[1]);
  Tensor &bias = qdq.initializers.at(bdq.inputs[0]);
  Tensor &bscale = qdq.initializers.at(bdq.inputs[1]);
  const std::vector<float> old_ws = wscale.to_f32_vector(), old_bs = bscale.to_f32_vector();
  Tensor v(DType::i8, values.shape());
  std::copy(r.values.begin(), r.values.end(), v.data<int8_t>());
  Tensor ws = wscale.clone(), b(DType::i32, bias.shape()), bs = bscale.clone();
  for (int64_t c = 0; c < s.m; ++c) {
    const size_t wi = old_ws.size() == 1 ? 0 : size_t(c), bi = old_bs.size() == 1 ? 0 : size_t(c);
    const double sx = double(old_bs[bi]) / double(old_ws[wi]);
    if (old_ws.size() > 1)
      ws.data<float>()[c] = r.scales[c];
    // The bias scale as stored (f32), which is what the int32 bias is read at.
    const float sb = old_bs.size() > 1 ? float(sx * double(r.scales[c])) : old_bs[0];
    if (old_bs.size() > 1)
      bs.data<float>()[c] = sb;
    const double q = std::nearbyint(r.bias[c] / double(sb));
    b.data<int32_t>()[c] = static_cast<int32_t>(std::clamp(q, -2147483648.0, 2147483647.0));
  }
  values = std::move(v);
  wscale = std::move(ws);
  bias = std::move(b);
  bscale = std::move(bs);
}

// One pass over the batches: FP32 inputs of the stage's convs are kept per
// batch, then the current QDQ graph runs and each conv's DQ input is paired
// with its FP32 counterpart.
void measure(const std::vector<Site *> &stage, const Graph &qdq, Executor &fp32,
             const std::vector<Batch> &batches, double work_budget) {
  std::unordered_map<std::string, std::vector<Site *>> by_dq;
  std::set<std::string> fp_names;
  for (Site *s : stage) {
    by_dq[s->conv.x_dq].push_back(s);
    fp_names.insert(s->x_fp);
  }
  Executor ex(std::make_shared<const Graph>(qdq));
  std::unordered_map<std::string, Tensor> kept;
  fp32.set_node_hook([&](const Node &n, std::span<const Tensor> outs) {
    for (size_t i = 0; i < outs.size() && i < n.outputs.size(); ++i)
      if (fp_names.count(n.outputs[i]))
        kept[n.outputs[i]] = outs[i].clone();
  });
  ex.set_node_hook([&](const Node &n, std::span<const Tensor> outs) {
    for (size_t i = 0; i < outs.size() && i < n.outputs.size(); ++i) {
      auto it = by_dq.find(n.outputs[i]);
      if (it == by_dq.end())
        continue;
      for (Site *s : it->second)
        if (auto f = kept.find(s->x_fp); f != kept.end())
          accumulate(*s, qdq.nodes[s->conv.node], outs[i], f->second, work_budget);
    }
  });
  for (const Batch &batch : batches) {
    kept.clear();
    for (const auto &[name, t] : batch)
      if (fp_names.count(name))
        kept[name] = t; // a graph input read by a conv (the stem)
    fp32.run(batch);
    ex.run(batch);
  }
  fp32.set_node_hook({});
}

// Convs grouped so that no conv of a group is upstream of another: group k
// holds the convs with k refitted convs on their longest path from the inputs.
// A conv refitted together with one feeding it would both correct the same
// upstream error (measured: all 111 YOLOX convs in 4 graph-order groups made
// the next group's input error 5x larger, though each conv's own fit improved).
std::vector<std::vector<Site *>> independent_stages(const Graph &g, std::vector<Site> &sites) {
  std::unordered_map<size_t, Site *> site_of;
  for (Site &s : sites)
    site_of[s.conv.node] = &s;
  const std::unordered_map<std::string, size_t> prod = g.producers();
  // Per node: refitted convs on the longest path up to and including it.
  // Post-order with an explicit stack (deep graphs, node list in any order);
  // -1 unvisited, -2 in progress (a cycle, rejected at load, counts as 0).
  std::vector<int> node_level(g.nodes.size(), -1);
  auto visit = [&](size_t root) {
    std::vector<std::pair<size_t, size_t>> stack{{root, 0}};
    while (!stack.empty()) {
      const size_t i = stack.back().first;
      size_t &next = stack.back().second;
      if (next == 0 && node_level[i] >= 0) {
        stack.pop_back();
        continue;
      }
      node_level[i] = -2;
      const std::vector<std::string> &ins = g.nodes[i].inputs;
      bool descended = false;
      while (next < ins.size() && !descended) {
        auto p = prod.find(ins[next++]);
        if (p != prod.end() && node_level[p->second] == -1) {
          stack.push_back({p->second, 0});
          descended = true;
        }
      }
      if (descended)
        continue;
      int in = 0;
      for (const std::string &v : ins)
        if (auto p = prod.find(v); p != prod.end())
          in = std::max(in, node_level[p->second]);
      node_level[i] = in + (site_of.count(i) ? 1 : 0);
      stack.pop_back();
    }
    return node_level[root];
  };
  std::vector<std::vector<Site *>> stages;
  for (Site &s : sites) {
    const int l = std::max(1, visit(s.conv.node));
    if (int(stages.size()) < l)
      stages.resize(l);
    stages[l - 1].push_back(&s);
  }
  std::erase_if(stages, [](const std::vector<Site *> &st) { return st.empty(); });
  return stages;
}

} // namespace

std::string WeightRefitReport::summary() const {
  const double n = std::max(1, convs);
  return fmt::format("weight refit: {} convs in {} stages ({} left alone), output error vs FP32 "
                     "on calibration positions {:.4g} -> {:.4g} (mean relative) on {} "
                     "calibration samples",
                     convs, stages, skipped, error_before / n, error_after / n, samples);
}

WeightRefitReport refit_weights(Graph &qdq, const Graph &fp32, const std::vector<Batch> &batches,
                                const WeightRefitOptions &options) {
  WeightRefitReport report;
  std::vector<Site> sites = find_sites(qdq, fp32, report.skipped);
  if (sites.empty() || batches.empty())
    return report;
  const std::vector<Batch> used(batches.begin(),
                                batches.begin() + std::min(batches.size(), options.max_batches));
  Executor fp32_ex(std::make_shared<const Graph>(fp32));
  const std::vector<std::vector<Site *>> stages = independent_stages(qdq, sites);
  report.stages = static_cast<int>(stages.size());
  report.samples = used.size();
  for (const std::vector<Site *> &stage : stages) {
    measure(stage, qdq, fp32_ex, used, options.work_per_input);
    for (Site *s : stage) {
      if (s->positions < options.min_positions_per_unknown * double(s->dim)) {
        ++report.skipped;
        continue;
      }
      const Node &wdq = qdq.nodes[s->conv.weight_dq];
      const Tensor old_w = dequantize_constant(wdq, qdq);
      const Tensor old_b = dequantize_constant(qdq.nodes[s->conv.bias_dq], qdq);
      const std::vector<float> old_scales = qdq.initializer(wdq.inputs[1])->to_f32_vector();
      Refitted r =
          solve(*s, old_w.to_f32_vector(), old_b.to_f32_vector(), old_scales, options.ridge);
      write_back(qdq, *s, r);
      s->stats.clear();
      report.error_before += r.before / double(std::max<int64_t>(1, r.channels));
      report.error_after += r.after / double(std::max<int64_t>(1, r.channels));
      ++report.convs;
    }
  }
  return report;
}

} // namespace qtune::quant
