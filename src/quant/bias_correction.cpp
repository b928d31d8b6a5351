#include "quant/bias_correction.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "quant/conv_sites.h"
#include "quant/qdq_constant.h"
#include "runtime/executor.h"

namespace qtune::quant {

namespace {

// Per-channel (axis 1) sums of the tensors named, over every batch.
struct ChannelMeans {
  std::unordered_map<std::string, std::vector<double>> sum;
  std::unordered_map<std::string, double> count;

  void add(const std::string &name, const Tensor &t) {
    auto it = sum.find(name);
    if (it == sum.end() || t.dtype() != DType::f32 || t.rank() < 2)
      return;
    const int64_t n = t.dim(0), c = t.dim(1), inner = t.numel() / std::max<int64_t>(1, n * c);
    if (it->second.empty())
      it->second.assign(c, 0.0);
    if (int64_t(it->second.size()) != c)
      return;
    const float *p = t.data<float>();
    for (int64_t b = 0; b < n; ++b)
      for (int64_t ch = 0; ch < c; ++ch) {
        double acc = 0;
        for (int64_t i = 0; i < inner; ++i)
          acc += p[(b * c + ch) * inner + i];
        it->second[ch] += acc;
      }
    count[name] += double(n * inner);
  }
  std::vector<double> mean(const std::string &name) const {
    std::vector<double> m = sum.at(name);
    const double k = count.count(name) ? count.at(name) : 0.0;
    for (double &v : m)
      v = k > 0 ? v / k : 0.0;
    return m;
  }
};

// delta[m] = sum_{c,k} Wq[m,c,k] mq[g*cpg+c] - W[m,c,k] mx[g*cpg+c].
std::vector<double> output_shift(const Tensor &w, const Tensor &wq, const std::vector<double> &mx,
                                 const std::vector<double> &mq) {
  const int64_t m = w.dim(0), cpg = w.dim(1), k = w.numel() / (m * cpg);
  const int64_t group = static_cast<int64_t>(mx.size()) / cpg;
  std::vector<double> delta(m, 0.0);
  if (group < 1 || group * cpg != int64_t(mx.size()) || m % group != 0)
    return {};
  const float *wf = w.data<float>(), *qf = wq.data<float>();
  for (int64_t oc = 0; oc < m; ++oc) {
    const int64_t g = oc / (m / group);
    double d = 0;
    for (int64_t c = 0; c < cpg; ++c)
      for (int64_t j = 0; j < k; ++j) {
        const int64_t idx = (oc * cpg + c) * k + j;
        d += double(qf[idx]) * mq[g * cpg + c] - double(wf[idx]) * mx[g * cpg + c];
      }
    delta[oc] = d;
  }
  return delta;
}

} // namespace

BiasCorrectionReport
correct_biases(Graph &qdq, const Graph &fp32,
               const std::vector<std::unordered_map<std::string, Tensor>> &batches) {
  BiasCorrectionReport report;
  std::vector<Int8ConvSite> sites = find_int8_conv_sites(qdq);
  if (sites.empty() || batches.empty())
    return report;
  ChannelMeans means;
  for (const Int8ConvSite &s : sites) {
    means.sum[s.x];
    means.sum[s.x_dq];
  }
  {
    Executor ex(std::make_shared<const Graph>(qdq));
    ex.set_node_hook([&](const Node &n, std::span<const Tensor> outs) {
      for (size_t i = 0; i < outs.size() && i < n.outputs.size(); ++i)
        means.add(n.outputs[i], outs[i]);
    });
    for (const auto &batch : batches) {
      for (const auto &[name, t] : batch)
        means.add(name, t); // a graph input read by a conv (the stem)
      ex.run(batch);
    }
  }
  std::unordered_map<std::string, size_t> fp32_index;
  for (size_t i = 0; i < fp32.nodes.size(); ++i)
    fp32_index[fp32.nodes[i].name] = i;
  double shift_sum = 0;
  int64_t shift_count = 0;
  for (const Int8ConvSite &s : sites) {
    const Node &n = qdq.nodes[s.node];
    auto f = fp32_index.find(n.name);
    if (f == fp32_index.end())
      continue;
    const Tensor *w = fp32.initializer(fp32.nodes[f->second].inputs.at(1));
    if (!w || w->dtype() != DType::f32 || w->rank() < 2)
      continue;
    const Tensor wq = dequantize_constant(qdq.nodes[s.weight_dq], qdq);
    std::vector<double> delta = output_shift(*w, wq, means.mean(s.x), means.mean(s.x_dq));
    const Node &bdq = qdq.nodes[s.bias_dq];
    Tensor &bias = qdq.initializers.at(bdq.inputs[0]);
    const Tensor *scale = qdq.initializer(bdq.inputs[1]);
    if (delta.empty() || int64_t(delta.size()) != bias.numel())
      continue;
    const std::vector<float> scales = scale->to_f32_vector();
    Tensor corrected = bias.clone();
    for (int64_t c = 0; c < bias.numel(); ++c) {
      const double sc = scales[scales.size() == 1 ? 0 : c];
      const double v = std::nearbyint(double(bias.data<int32_t>()[c]) - delta[c] / sc);
      corrected.data<int32_t>()[c] =
          static_cast<int32_t>(std::clamp(v, -2147483648.0, 2147483647.0));
      shift_sum += std::fabs(delta[c]);
      ++shift_count;
    }
    bias = std::move(corrected);
    ++report.convs;
  }
  report.mean_abs_shift = shift_count ? shift_sum / double(shift_count) : 0.0;
  return report;
}

} // namespace qtune::quant
