// Cost of the tuner's paired bootstrap on COCO: 200 resamples of AP for the FP32
// baseline (once per run) and for a candidate (once per trial), from the
// per-image matching. Real YOLOX-Nano detections on val2017_tiny (80 images),
// also replicated 3x under new ids (240 images, the size of val2017_241); the
// candidate is the same detections with every box moved by 3 pixels.
#include <benchmark/benchmark.h>
#include <cstdlib>
#include <filesystem>

#include "metrics/coco_eval.h"
#include "tune/bootstrap.h"

namespace {

std::string shared(const std::string &rel) {
  const char *env = std::getenv("QTUNE_SHARED_DATA");
  std::filesystem::path root = env && *env ? env : QTUNE_DEFAULT_SHARED_DATA;
  return (root / rel).string();
}

struct Pair {
  qtune::metrics::SampleResults baseline, candidate;
};

qtune::metrics::SampleResults samples(const qtune::coco::Dataset &gt,
                                      const std::vector<qtune::coco::Annotation> &res) {
  qtune::metrics::SampleResults s;
  s.reduce = qtune::metrics::Reduce::coco_ap;
  s.images = qtune::metrics::coco_evaluate(gt, res, qtune::metrics::IouType::bbox).image_matches;
  s.num_categories = gt.num_categories();
  return s;
}

Pair make_pair(int copies) {
  using namespace qtune;
  coco::Dataset tiny =
      coco::load_coco(shared("coco/val2017_tiny/annotations/instances_val2017.json"));
  auto res =
      metrics::load_results_file(tiny, shared("reference/yolox_nano_val2017_tiny.detections.json"));
  coco::Dataset gt;
  gt.categories = tiny.categories;
  std::vector<coco::Annotation> dets;
  const int64_t shift = 1000000;
  for (int c = 0; c < copies; ++c) {
    for (coco::Image im : tiny.images) {
      im.id += c * shift;
      gt.images.push_back(im);
    }
    for (coco::Annotation a : tiny.annotations) {
      a.image_id += c * shift;
      gt.annotations.push_back(a);
    }
    for (coco::Annotation r : res) {
      r.image_id += c * shift;
      dets.push_back(r);
    }
  }
  gt.build_index();
  Pair p;
  p.baseline = samples(gt, dets);
  for (auto &d : dets)
    d.bbox[0] += 3;
  p.candidate = samples(gt, dets);
  return p;
}

void BaselineResamples(benchmark::State &state) {
  Pair p = make_pair(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    qtune::tune::PairedBootstrap b(p.baseline, {true, true}, 1978, 0.9);
    benchmark::DoNotOptimize(b.samples());
  }
  state.counters["images"] = double(p.baseline.size());
}

void CandidateInterval(benchmark::State &state) {
  Pair p = make_pair(static_cast<int>(state.range(0)));
  qtune::tune::PairedBootstrap b(p.baseline, {true, true}, 1978, 0.9);
  for (auto _ : state) {
    auto i = b.interval(p.candidate);
    benchmark::DoNotOptimize(i.high);
  }
  state.counters["images"] = double(p.baseline.size());
}

} // namespace

BENCHMARK(BaselineResamples)->Arg(1)->Arg(3)->Unit(benchmark::kMillisecond);
BENCHMARK(CandidateInterval)->Arg(1)->Arg(3)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
