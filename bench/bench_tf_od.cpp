// FP32 vs INT8 latency of the TensorFlow Object Detection API graphs at 1 and 2
// threads, the whole graph from uint8 image_tensor to the four detection outputs
// (pre-processing, backbone, box predictor and the tf:While post-processing):
//   ssd_resnet50_v1_fpn_640x640  real meta + index, synthesized weights
//   ssd_mobilenet_v1 (300x300)   real meta + index, synthesized weights
//   aiy_ssd (256x256)            real frozen graph and weights
// Checkpoint weights are synthesized as the tests do (tests/tf/checkpoint_writer.h);
// the INT8 models are calibrated here on one image (dog.jpg) with the default
// plan (everything int8 the quantizer can do) and go through the same
// preparation as `qtune benchmark` (graph passes, QDQ lowering). Before the
// timings it prints each model's per-op-type profile (1 thread) and the share
// of the tf:While post-processing. From the repository root:
//   build/bench/bench_tf_od --benchmark_min_time=2
#include <algorithm>
#include <benchmark/benchmark.h>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "../tests/tf/checkpoint_writer.h"
#include "data/image_decode.h"
#include "data/transforms.h"
#include "quant/calibrate.h"
#include "quant/inference_graph.h"
#include "quant/quantize_graph.h"
#include "runtime/executor.h"
#include "runtime/fold_constants.h"
#include "time_kernel.h"
#include "tune/model_backend.h"

namespace qtune {
namespace {

namespace fs = std::filesystem;
using Inputs = std::unordered_map<std::string, Tensor>;

std::string shared_data() {
  const char *env = std::getenv("QTUNE_SHARED_DATA");
  return env ? env : "../shared/data";
}

struct OdModel {
  const char *name;
  std::string path; // frozen graph, or the real checkpoint prefix to synthesize from
  bool synthesize;  // weights synthesized
  int image_size;   // dog.jpg is resized to this square (the graphs resize again inside)
};

const std::vector<OdModel> &models() {
  static const std::vector<OdModel> m{
      {"ssd_resnet50_v1_fpn_640",
       shared_data() + "/tf/od_api/ssd_resnet50_v1_fpn_640x640_tf1.15_11classes/model.ckpt", true,
       640},
      {"ssd_mobilenet_v1_300",
       shared_data() + "/tf/od_api/ssd_mobilenet_v1_coco_2018_01_28/model.ckpt", true, 300},
      {"aiy_ssd_256",
       shared_data() +
           "/tf/od_api_weights/aiy_ssd_mobilenet_v1_256_person_cat_dog/frozen_inference_graph.pb",
       false, 256},
  };
  return m;
}

Inputs image_input(int size) {
  data::Frame f =
      data::frame_from_image(data::load_image_file(shared_data() + "/models/yolox_nano/dog.jpg"));
  f = data::resize_frame(f, size, size, data::Interp::bilinear);
  return {{"image_tensor", data::frame_to_tensor(f, DType::u8)}};
}

struct Prepared {
  std::shared_ptr<const Graph> fp32, int8;
  Inputs inputs;
  std::string int8_summary;
};

Prepared prepare(const OdModel &m) {
  std::string path = m.path;
  fs::path dir = fs::temp_directory_path() / ("qtune_bench_tf_od_" + std::string(m.name));
  if (m.synthesize)
    path = test::synthesize_checkpoint(m.path, dir.string());
  LoadOptions o;
  o.inputs = {"image_tensor"};
  o.outputs = {"num_detections", "detection_boxes", "detection_scores", "detection_classes"};
  std::shared_ptr<Graph> raw = tune::load_model_file(path, o); // as qtune quantize loads
  if (m.synthesize)
    fs::remove_all(dir);
  Prepared p;
  p.inputs = image_input(m.image_size);
  quant::Calibrator cal(raw);
  cal.add(p.inputs);
  quant::QuantizeReport report;
  auto q = std::make_shared<Graph>(quant::quantize_graph(*raw, cal.take(), {}, &report));
  p.int8_summary = report.summary();
  quant::prepare_for_inference(*q);
  auto f = std::make_shared<Graph>(*raw);
  optimize_graph_with_runtime(*f);
  p.fp32 = f;
  p.int8 = q;
  return p;
}

const Prepared &prepared(const OdModel &m) {
  static std::map<std::string, Prepared> cache;
  auto it = cache.find(m.name);
  if (it == cache.end())
    it = cache.emplace(m.name, prepare(m)).first;
  return it->second;
}

void run_model(benchmark::State &state, const OdModel &m, bool int8) {
  const Prepared &p = prepared(m);
  Executor ex(int8 ? p.int8 : p.fp32, {.threads = static_cast<int>(state.range(0))});
  for (int i = 0; i < 2; ++i)
    ex.run(p.inputs); // plan, primitives, packed weights, warm caches
  for (auto _ : state)
    benchmark::DoNotOptimize(ex.run(p.inputs));
}

void print_profile(const OdModel &m, bool int8) {
  const Prepared &p = prepared(m);
  Executor ex(int8 ? p.int8 : p.fp32, {.threads = 1, .profile = true});
  ex.run(p.inputs);
  ex.reset_profile();
  const int runs = 3;
  for (int i = 0; i < runs; ++i)
    ex.run(p.inputs);
  std::string title = std::string(m.name) + (int8 ? " INT8 (" + p.int8_summary + ")" : " FP32") +
                      " per-op-type profile, 1 thread";
  auto by_type = bench::print_op_type_profile(ex.profile(), runs, title);
  double total = 0;
  for (const auto &[k, ms] : by_type)
    total += ms;
  double loops = by_type.count("While") ? by_type["While"] : 0;
  std::printf("  tf:While post-processing: %.2f ms = %.1f%% of the kernels' time\n", loops,
              100 * loops / total);
}

void register_benchmarks() {
  bench::register_fp32_int8_benchmarks(models(), run_model);
}

} // namespace
} // namespace qtune

int main(int argc, char **argv) {
  benchmark::Initialize(&argc, argv);
  for (const auto &m : qtune::models())
    for (bool int8 : {false, true})
      qtune::print_profile(m, int8);
  qtune::register_benchmarks();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
