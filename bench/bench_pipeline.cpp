// Decode + preprocess throughput of the data pipeline on val2017_tiny (80 COCO
// images), YOLOX-style letterbox to 416x416 and 640x640, 1 and 2 worker threads.
// Reports images/s; compare with the model's own images/s from `qtune evaluate`.
// Run from the repo root (or set QTUNE_SHARED_DATA): build/bench/bench_pipeline
#include <benchmark/benchmark.h>
#include <cstdlib>
#include <filesystem>

#include "data/dataset.h"
#include "data/pipeline.h"
#include "data/transforms.h"

using namespace qtune::data;

namespace {

std::string shared(const std::string &rel) {
  const char *env = std::getenv("QTUNE_SHARED_DATA");
  return (std::filesystem::path(env && *env ? env : QTUNE_DEFAULT_SHARED_DATA) / rel).string();
}

const CocoRawDataset &tiny() {
  static CocoRawDataset ds(shared("coco/val2017_tiny/annotations/instances_val2017.json"),
                           shared("coco/val2017_tiny/val2017"));
  return ds;
}

// Reading files is part of the pipeline, but the OS cache makes it cheap after
// the first pass; the benchmark's repetitions measure the warm case.
void BM_DecodePreprocess(benchmark::State &state) {
  const int size = static_cast<int>(state.range(0));
  const int threads = static_cast<int>(state.range(1));
  const auto interp = state.range(2) ? Interp::bilinear_antialias : Interp::bilinear;
  TransformList t;
  t.push_back(make_letterbox(size, size, 114, false, interp));
  t.push_back(make_channel_order(true));
  t.push_back(make_layout(true));
  const CocoRawDataset &ds = tiny();
  int64_t images = 0;
  for (auto _ : state) {
    Pipeline p(ds, t, {.threads = threads, .queue_depth = 2 * threads + 2});
    while (auto s = p.next()) {
      qtune::Tensor x = frame_to_tensor(s->frame);
      benchmark::DoNotOptimize(x.raw());
      ++images;
    }
  }
  state.counters["images/s"] =
      benchmark::Counter(static_cast<double>(images), benchmark::Counter::kIsRate);
}

} // namespace

// args: size, threads, antialias
BENCHMARK(BM_DecodePreprocess)
    ->ArgNames({"size", "threads", "aa"})
    ->Args({416, 1, 1})
    ->Args({416, 2, 1})
    ->Args({640, 1, 1})
    ->Args({640, 2, 1})
    ->Args({416, 1, 0})
    ->Args({640, 1, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);

BENCHMARK_MAIN();
