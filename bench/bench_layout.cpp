// What the layout pass buys on NHWC models (TensorFlow imports, keras2onnx
// exports): for each model, the FP32 graph through the standard pipeline as
// it was without the layout passes (no optimize_transposes, no
// fold_conv_affine) and through today's pipeline; prints Transpose and node
// counts, median latency at 1 and 2 threads, and the largest output difference.
//
//   build/bench/bench_layout [--iterations N] [--threads T] [--inputs A,B] [--outputs C,D]
//                            MODEL[@HxW] ...
// (--threads: only that count; default 1 and 2.)
// @HxW sets the unknown spatial dims of an image input ([1,-1,-1,3] uint8);
// other unknown dims are 1. --inputs / --outputs (TensorFlow node names, as
// the YAML's model.inputs / outputs) apply to the models after them.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "frontends/model_loader.h"
#include "runtime/executor.h"
#include "runtime/fold_constants.h"

namespace qtune {
namespace {

Graph without_layout_passes(Graph g) {
  ConstantEvaluator eval = make_constant_evaluator();
  std::vector<Pass> passes = {
      {"fold_constants", [&](Graph &x) { return fold_constants(x, eval); }},
      {"eliminate_dead_nodes", eliminate_dead_nodes},
      {"fold_batchnorm", fold_batchnorm},
      {"fuse_matmul_add", fuse_matmul_add},
      {"fuse_activations", fuse_activations},
      {"fuse_residual_add", fuse_residual_add},
      {"eliminate_dead_nodes", eliminate_dead_nodes},
  };
  run_passes(g, passes);
  return g;
}

Tensor make_input(const ValueInfo &vi, int64_t h, int64_t w) {
  Shape shape;
  for (size_t i = 0; i < vi.dims.size(); ++i) {
    const Dim &d = vi.dims[i];
    int64_t v = 1;
    if (d.known())
      v = d.value;
    else if (vi.dims.size() == 4 && i == 1)
      v = h;
    else if (vi.dims.size() == 4 && i == 2)
      v = w;
    shape.push_back(v);
  }
  Tensor t(DType::f32, shape);
  uint32_t state = 12345;
  for (float &v : t.span<float>()) {
    state = state * 1664525u + 1013904223u;
    v = static_cast<float>(state >> 8) / 16777216.f;
  }
  if (vi.dtype == DType::u8)
    for (float &v : t.span<float>())
      v = std::floor(v * 255.f);
  return vi.dtype == DType::f32 || vi.dtype == DType::undefined ? t : t.cast(vi.dtype);
}

int count(const Graph &g, const char *op) {
  return static_cast<int>(std::count_if(g.nodes.begin(), g.nodes.end(),
                                        [&](const Node &n) { return n.op_type == op; }));
}

double median_ms(const std::shared_ptr<Graph> &g, const std::unordered_map<std::string, Tensor> &in,
                 int threads, int iterations, std::vector<Tensor> *out) {
  Executor ex(g, {.threads = threads});
  for (int i = 0; i < 3; ++i)
    *out = ex.run(in);
  std::vector<double> ms;
  for (int i = 0; i < iterations; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    ex.run(in);
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

double max_diff(const std::vector<Tensor> &a, const std::vector<Tensor> &b) {
  double worst = 0;
  for (size_t k = 0; k < a.size() && k < b.size(); ++k) {
    if (a[k].shape() != b[k].shape())
      return INFINITY;
    auto x = a[k].to_f32_vector(), y = b[k].to_f32_vector();
    for (size_t i = 0; i < x.size(); ++i)
      worst = std::max(worst, double(std::abs(x[i] - y[i])));
  }
  return worst;
}

std::vector<std::string> split(const std::string &s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t comma; (comma = s.find(',', start)) != std::string::npos; start = comma + 1)
    out.push_back(s.substr(start, comma - start));
  out.push_back(s.substr(start));
  return out;
}

void measure(const std::string &arg, const LoadOptions &options, int iterations,
             std::vector<int> thread_counts) {
  std::string path = arg;
  int64_t h = 1, w = 1;
  if (auto at = arg.rfind('@'); at != std::string::npos) {
    path = arg.substr(0, at);
    std::sscanf(arg.c_str() + at + 1, "%ldx%ld", &h, &w);
  }
  Graph raw = load_model(path, options);
  auto before = std::make_shared<Graph>(without_layout_passes(raw));
  auto after = std::make_shared<Graph>(raw);
  optimize_graph_with_runtime(*after);
  std::unordered_map<std::string, Tensor> in;
  for (const ValueInfo &vi : raw.inputs)
    in[vi.name] = make_input(vi, h, w);
  std::printf("%s\n  imported: %d Transpose / %zu nodes\n", arg.c_str(), count(raw, "Transpose"),
              raw.nodes.size());
  std::printf("  pipeline without layout passes: %d Transpose / %zu nodes\n",
              count(*before, "Transpose"), before->nodes.size());
  std::printf("  pipeline with layout passes:    %d Transpose / %zu nodes\n",
              count(*after, "Transpose"), after->nodes.size());
  for (int threads : thread_counts) {
    std::vector<Tensor> ob, oa;
    double tb = median_ms(before, in, threads, iterations, &ob);
    double ta = median_ms(after, in, threads, iterations, &oa);
    std::printf("  %d thread%s: median %.3f ms -> %.3f ms (%.2fx), max |diff| %.3g\n", threads,
                threads > 1 ? "s" : "", tb, ta, tb / ta, max_diff(ob, oa));
  }
}

} // namespace
} // namespace qtune

int main(int argc, char **argv) {
  int iterations = 30;
  qtune::LoadOptions options;
  std::vector<int> threads = {1, 2};
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--iterations") && i + 1 < argc) {
      iterations = std::max(1, std::atoi(argv[++i]));
      continue;
    }
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) {
      threads = {std::max(1, std::atoi(argv[++i]))};
      continue;
    }
    if (!std::strcmp(argv[i], "--inputs") && i + 1 < argc) {
      options.inputs = qtune::split(argv[++i]);
      continue;
    }
    if (!std::strcmp(argv[i], "--outputs") && i + 1 < argc) {
      options.outputs = qtune::split(argv[++i]);
      continue;
    }
    try {
      qtune::measure(argv[i], options, iterations, threads);
    } catch (const std::exception &e) {
      std::printf("%s: %s\n", argv[i], e.what());
    }
  }
  return 0;
}
