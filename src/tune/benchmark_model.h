#pragma once
// `qtune benchmark`'s measurement of one model in this process as a library
// call (the CLI parses arguments, prints, and starts pinned instances): the
// model loaded through the frontend seam, prepared as for inference (QDQ
// lowered to int8 kernels), fed a fixed pseudo-random input (symbolic dims = 1)
// and timed in rounds (tune/latency.h).
#include <string>
#include <vector>

#include "ir/graph.h"
#include "quant/lower_qdq.h"
#include "runtime/executor.h"
#include "tune/latency.h"

namespace qtune::tune {

struct BenchmarkOptions {
  std::string model;
  int threads = 0;     // 0 = OpenMP's default
  int iterations = 50; // timed runs per round
  int warmup = 5;
  int rounds = 1;
  bool profile = false;
  bool optimize = true; // BN folding, fusions, QDQ -> int8 kernels
};

// One op type's share of the timed runs (--profile).
struct OpTypeTime {
  std::string op_type;
  int nodes = 0;
  double ms_per_run = 0;
  double share = 0; // of all profiled time, 0..1
};

struct BenchmarkResult {
  LatencyStats latency;
  quant::LowerReport lowering;
  int threads = 0;                 // threads the executor used
  std::vector<OpTypeTime> by_type; // slowest first; empty without profile
  std::vector<NodeProfile> nodes;  // every node, slowest first, ms per run
};

BenchmarkResult benchmark_model(const BenchmarkOptions &o);

// An f32 tensor uniform in [lo, hi) from a linear congruential sequence
// started at `seed`: the same values on every platform and run (benchmark
// inputs and weights in bench/ and tests/).
Tensor lcg_uniform(Shape shape, uint32_t seed, float lo, float hi);

// The deterministic input benchmark_model feeds: lcg_uniform [0, 1) with seed
// 12345, cast to the input's dtype; unknown dims are 1.
Tensor benchmark_input(const ValueInfo &vi);

} // namespace qtune::tune
