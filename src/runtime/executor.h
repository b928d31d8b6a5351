#pragma once
// Runs a graph: kernels made once, shapes inferred and oneDNN primitives created
// once per input-shape signature, activations placed in a static arena planned
// by liveness, oneDNN layouts kept between consecutive oneDNN ops.
//
// Conventions for kernel writers (see also runtime/kernel.h):
// - infer() may be called again whenever input shapes change; prepare() follows
//   it. prepare() must not keep pointers to activation data: the first run
//   with a new shape signature uses temporary buffers, later runs use views
//   into the arena. Pointers to initializers (weights) stay valid.
// - run() gets outputs preallocated (plain row-major unless the kernel opted
//   into oneDNN layouts, see kernel.h) and must fill them completely; the arena
//   is reused, so outputs hold garbage on entry.
// - Threads: the executor calls omp_set_num_threads(KernelEnv::threads) before
//   running; kernels use OpenMP (`#pragma omp parallel for`) and oneDNN, which
//   is built on OpenMP here. KernelEnv::engine/stream are the executor's
//   oneDNN CPU engine and in-order stream; kernels may leave work queued on
//   the stream only if the next reader is also a oneDNN primitive.
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/graph.h"
#include "qtune/tensor.h"

namespace qtune {

struct ExecutorOptions {
  int threads = 0;      // 0: all cores (or OMP_NUM_THREADS when set)
  bool profile = false; // collect per-node wall time
};

struct NodeProfile {
  std::string name;
  std::string op_type;
  double total_ms = 0;
  int64_t calls = 0;
  std::string implementation; // Kernel::implementation(), e.g. the oneDNN primitive
};

class Executor {
public:
  Executor(std::shared_ptr<const Graph> graph, ExecutorOptions options = {});
  ~Executor();
  Executor(Executor &&) noexcept;
  Executor &operator=(Executor &&) noexcept;

  // Inputs by graph-input name; returns graph outputs in graph order, as owned
  // plain-layout tensors. Throws InputError for a missing input or one of the
  // wrong dtype/shape (naming the input, expected and actual).
  std::vector<Tensor> run(const std::unordered_map<std::string, Tensor> &inputs);

  // Called after each node runs with its outputs in plain layout (used by
  // calibration observers and per-layer error measurement). Slows execution.
  using NodeHook = std::function<void(const Node &, std::span<const Tensor> outputs)>;
  void set_node_hook(NodeHook hook);

  std::vector<NodeProfile> profile() const; // sorted by total time, descending
  void reset_profile();
  const Graph &graph() const;

  // Memory plan of the last shape signature: bytes of the activation arena,
  // and the sum of all node outputs it holds (arena < sum means reuse).
  size_t arena_bytes() const;
  size_t activation_bytes() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace qtune
