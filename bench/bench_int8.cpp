// INT8 vs FP32 latency of a ResNet-50-style conv net (224x224, bottleneck
// stages 3-4-6-3, random He-initialised weights; a stride-2 3x3 conv stands in
// for the stem max-pool and the classifier head is left out: the body is >97%
// of ResNet-50's FLOPs). The INT8 graph is built the way a calibrated QDQ model
// looks: ranges from running the FP32 graph on a random input, u8 activations
// on every conv input, per-channel symmetric i8 weights, then lowered with
// quant::lower_qdq. Prints the int8-vs-fp32 output error and the per-op profile.
//
//   build/bench/bench_int8 --benchmark_min_time=2
#include <benchmark/benchmark.h>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>

#include "quant/lower_qdq.h"
#include "resnet_body.h"
#include "runtime/executor.h"
#include "time_kernel.h"

namespace qtune {
namespace {

// The body with graph input x [1, 3, 224, 224].
bench::ResNetBody build_net() {
  bench::ResNetBody b;
  std::string y = b.body("x");
  b.g.inputs.push_back({"x", DType::f32, {{1}, {3}, {224}, {224}}, true});
  b.g.outputs.push_back({y, DType::f32, {}, false});
  return b;
}

Tensor random_input() {
  Tensor x(DType::f32, {1, 3, 224, 224});
  std::mt19937 rng(3);
  std::normal_distribution<float> d(0.f, 1.f);
  for (float &v : x.span<float>())
    v = d(rng);
  return x;
}

// Inserts QuantizeLinear/DequantizeLinear after every calibrated tensor and
// replaces conv weights by DQ(per-channel i8).
Graph make_qdq(const Graph &fp32, const std::vector<std::string> &points,
               const std::map<std::string, std::pair<float, float>> &ranges) {
  Graph q;
  q.inputs = fp32.inputs;
  q.outputs = fp32.outputs;
  q.initializers = fp32.initializers;
  std::map<std::string, std::string> renamed; // tensor -> its DQ output
  auto add_qdq = [&](const std::string &t) {
    auto [lo, hi] = ranges.at(t);
    lo = std::min(lo, 0.f), hi = std::max(hi, 0.f);
    float scale = std::max(hi - lo, 1e-6f) / 255.f;
    Tensor zp(DType::u8, {});
    zp.data<uint8_t>()[0] =
        static_cast<uint8_t>(std::clamp(std::nearbyint(-lo / scale), 0.f, 255.f));
    q.initializers[t + "_s"] = Tensor::scalar_f32(scale);
    q.initializers[t + "_z"] = zp;
    Node qn, dn;
    qn.name = t + "_Q", qn.op_type = "QuantizeLinear";
    qn.inputs = {t, t + "_s", t + "_z"}, qn.outputs = {t + "_q"};
    dn.name = t + "_DQ", dn.op_type = "DequantizeLinear";
    dn.inputs = {t + "_q", t + "_s", t + "_z"}, dn.outputs = {t + "_dq"};
    q.nodes.push_back(qn);
    q.nodes.push_back(dn);
    renamed[t] = t + "_dq";
  };
  if (std::find(points.begin(), points.end(), "x") != points.end())
    add_qdq("x");
  for (const Node &n : fp32.nodes) {
    Node m = n;
    for (auto &in : m.inputs)
      if (renamed.count(in))
        in = renamed[in];
    if (n.op_type == "Conv") {
      const Tensor &w = fp32.initializers.at(n.inputs[1]);
      int64_t oc = w.dim(0), per = w.numel() / oc;
      Tensor wq(DType::i8, w.shape());
      std::vector<float> s(oc);
      for (int64_t o = 0; o < oc; ++o) {
        float m_abs = 1e-8f;
        for (int64_t i = 0; i < per; ++i)
          m_abs = std::max(m_abs, std::abs(w.data<float>()[o * per + i]));
        s[o] = m_abs / 127.f;
        for (int64_t i = 0; i < per; ++i)
          wq.data<int8_t>()[o * per + i] =
              static_cast<int8_t>(std::nearbyint(w.data<float>()[o * per + i] / s[o]));
      }
      q.initializers[n.inputs[1] + "_q8"] = wq;
      q.initializers[n.inputs[1] + "_ws"] = Tensor::from_vector<float>({oc}, s);
      Node dn;
      dn.name = n.inputs[1] + "_DQ", dn.op_type = "DequantizeLinear";
      dn.inputs = {n.inputs[1] + "_q8", n.inputs[1] + "_ws"};
      dn.outputs = {n.inputs[1] + "_dq"};
      dn.attrs["axis"] = int64_t{0};
      q.nodes.push_back(dn);
      m.inputs[1] = n.inputs[1] + "_dq";
    }
    q.nodes.push_back(m);
    for (const auto &out : n.outputs)
      if (std::find(points.begin(), points.end(), out) != points.end())
        add_qdq(out);
  }
  // The graph output is read through its DQ.
  q.outputs[0].name =
      renamed.count(q.outputs[0].name) ? renamed[q.outputs[0].name] : q.outputs[0].name;
  q.toposort();
  return q;
}

struct Models {
  std::shared_ptr<Graph> fp32, int8;
  Tensor input = random_input();

  Models() {
    bench::ResNetBody b = build_net();
    fp32 = std::make_shared<Graph>(b.g);
    std::map<std::string, std::pair<float, float>> ranges;
    {
      Executor calib(fp32, {});
      calib.set_node_hook([&](const Node &n, std::span<const Tensor> outs) {
        auto v = outs[0].span<float>();
        auto [lo, hi] = std::minmax_element(v.begin(), v.end());
        ranges[n.outputs[0]] = {*lo, *hi};
      });
      auto vx = input.span<float>();
      auto [lo, hi] = std::minmax_element(vx.begin(), vx.end());
      ranges["x"] = {*lo, *hi};
      calib.run({{"x", input}});
    }
    Graph qdq = make_qdq(*fp32, b.quantize_points, ranges);
    auto report = quant::lower_qdq(qdq);
    std::printf("lowering: %s; %zu nodes\n", report.summary().c_str(), qdq.nodes.size());
    int8 = std::make_shared<Graph>(std::move(qdq));
    // Accuracy of the int8 net against fp32 on the same input.
    Executor ef(fp32, {}), ei(int8, {.threads = 0, .profile = true});
    Tensor yf = ef.run({{"x", input}})[0], yi = ei.run({{"x", input}})[0];
    double num = 0, den = 0;
    for (int64_t i = 0; i < yf.numel(); ++i) {
      double d = yf.data<float>()[i] - yi.data<float>()[i];
      num += d * d, den += double(yf.data<float>()[i]) * yf.data<float>()[i];
    }
    std::printf("int8 vs fp32 output: relative L2 error %.4f\n", std::sqrt(num / den));
    ei.reset_profile();
    for (int i = 0; i < 3; ++i)
      ei.run({{"x", input}});
    std::printf("int8 per-op profile (top 12 of 3 runs):\n");
    auto prof = ei.profile();
    for (size_t i = 0; i < prof.size() && i < 12; ++i)
      std::printf("  %-28s %-16s %8.2f ms\n", prof[i].name.c_str(), prof[i].op_type.c_str(),
                  prof[i].total_ms / 3);
  }
};

Models &models() {
  static Models m;
  return m;
}

void run_net(benchmark::State &state, bool int8) {
  Models &m = models();
  bench::time_graph_runs(state, int8 ? m.int8 : m.fp32, m.input);
}

void BM_resnet50_body_fp32(benchmark::State &s) {
  run_net(s, false);
}
void BM_resnet50_body_int8(benchmark::State &s) {
  run_net(s, true);
}
BENCHMARK(BM_resnet50_body_fp32)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_resnet50_body_int8)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

} // namespace
} // namespace qtune

BENCHMARK_MAIN();
