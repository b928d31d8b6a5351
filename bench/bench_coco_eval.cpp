// COCO evaluation speed at full val2017 scale: val2017_tiny's real annotations and
// the reference YOLOX-Nano / CenterNet detections replicated under new image ids
// to ~5000 images (the size of COCO val2017), bbox and segm.
#include <benchmark/benchmark.h>
#include <cstdlib>
#include <filesystem>

#include "metrics/coco_eval.h"

namespace {

std::string shared(const std::string &rel) {
  const char *env = std::getenv("QTUNE_SHARED_DATA");
  std::filesystem::path root = env && *env ? env : QTUNE_DEFAULT_SHARED_DATA;
  return (root / rel).string();
}

struct Scaled {
  qtune::coco::Dataset gt;
  std::vector<qtune::coco::Annotation> results;
};

// copies x (80 images): image ids and annotation ids shifted per copy.
Scaled scaled(const std::string &detections, int copies) {
  using namespace qtune;
  coco::Dataset tiny =
      coco::load_coco(shared("coco/val2017_tiny/annotations/instances_val2017.json"));
  auto res = metrics::load_results_file(tiny, shared(detections));
  Scaled s;
  s.gt.source = "val2017_tiny x" + std::to_string(copies);
  s.gt.categories = tiny.categories;
  const int64_t shift = 1000000;
  for (int c = 0; c < copies; ++c) {
    for (coco::Image im : tiny.images) {
      im.id += c * shift;
      s.gt.images.push_back(im);
    }
    for (coco::Annotation a : tiny.annotations) {
      a.image_id += c * shift;
      a.id += c * shift * 10;
      s.gt.annotations.push_back(a);
    }
    for (coco::Annotation r : res) {
      r.image_id += c * shift;
      r.id += c * int64_t(res.size());
      s.results.push_back(r);
    }
  }
  s.gt.build_index();
  return s;
}

void run(benchmark::State &state, const char *detections, qtune::metrics::IouType type) {
  Scaled s = scaled(detections, static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto r = qtune::metrics::coco_evaluate(s.gt, s.results, type);
    benchmark::DoNotOptimize(r.stats);
  }
  state.counters["images"] = double(s.gt.images.size());
  state.counters["detections"] = double(s.results.size());
}

void BM_CocoEvalBboxYolox(benchmark::State &st) {
  run(st, "reference/yolox_nano_val2017_tiny.detections.json", qtune::metrics::IouType::bbox);
}
void BM_CocoEvalBboxCenternet(benchmark::State &st) {
  run(st, "reference/centernet_val2017_tiny.detections.json", qtune::metrics::IouType::bbox);
}
void BM_CocoEvalSegmYolox(benchmark::State &st) {
  run(st, "reference/yolox_nano_val2017_tiny.detections.json", qtune::metrics::IouType::segm);
}

} // namespace

BENCHMARK(BM_CocoEvalBboxYolox)->Arg(1)->Arg(63)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CocoEvalBboxCenternet)->Arg(1)->Arg(63)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CocoEvalSegmYolox)->Arg(1)->Arg(63)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK_MAIN();
