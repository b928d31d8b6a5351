#pragma once
// The operator interface (ncnn style): a kernel is made once per node, told its
// input shapes in prepare() (create oneDNN primitives, pack weights), then run
// many times. One op family per file under kernels/.
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <oneapi/dnnl/dnnl_types.h>

#include "ir/graph.h"
#include "qtune/tensor.h"

namespace dnnl {
struct engine;
struct stream;
} // namespace dnnl

namespace qtune {

// What the executor lends to kernels.
struct KernelEnv {
  dnnl::engine *engine = nullptr;
  dnnl::stream *stream = nullptr;
  int threads = 1;
  // The graph being run (null in unit tests): lets a kernel see whether an
  // input is an initializer (constant weights may be packed once in prepare()).
  const Graph *graph = nullptr;
  bool is_constant(const std::string &value) const {
    return graph && !value.empty() && graph->is_initializer(value);
  }
  // Values that stay the same while the graph inputs keep their shapes:
  // computed by the executor, in node order, from constants and the shapes of
  // tensors whose shapes are not value-dependent (TF shape arithmetic). A
  // kernel whose output shape follows only such values needs no re-inference
  // on every run.
  const std::unordered_set<std::string> *fixed_values = nullptr;
  bool is_fixed(const std::string &value) const {
    return is_constant(value) || (fixed_values && fixed_values->count(value) != 0);
  }
};

struct TensorType {
  DType dtype = DType::undefined;
  Shape shape;
};

class Kernel {
public:
  virtual ~Kernel() = default;

  // Output dtypes and shapes from the actual inputs. Inputs carry their values,
  // so shape-computing ops (Reshape reading its shape tensor) can look at them.
  // Called whenever an input shape changes, before prepare().
  virtual std::vector<TensorType> infer(std::span<const Tensor> inputs) = 0;

  // One-time work for these input shapes (primitives, packed weights).
  virtual void prepare(std::span<const Tensor> inputs) {}

  // Computes outputs into preallocated tensors of the inferred types.
  virtual void run(std::span<const Tensor> inputs, std::span<Tensor> outputs) = 0;

  // True when output shapes depend on input *values* that change between runs
  // (NonMaxSuppression, NonZero): infer() is then called on every run.
  virtual bool value_dependent_shapes() const { return false; }

  // oneDNN layout opt-in. By default every tensor a kernel sees is plain
  // row-major. A kernel returning true here is told, before each prepare(),
  // the oneDNN layout of each input (set_input_layouts: nullptr = plain), and
  // after prepare() asked for the layout it writes each output in
  // (output_layout: nullptr = plain). The executor sizes such outputs by
  // dnnl_memory_desc_get_size, keeps the layout between opted-in kernels
  // (conv -> conv -> pool stay nChw16c) and reorders to plain for everyone
  // else (plain kernels, graph outputs, the node hook). Tensor shapes stay the
  // logical NCHW shapes.
  virtual bool accepts_dnnl_layouts() const { return false; }
  virtual void set_input_layouts(std::span<const dnnl_memory_desc_t *const> layouts) {}
  virtual const dnnl_memory_desc_t *output_layout(size_t k) const { return nullptr; }

  // After prepare(): which implementation runs, for kernels that choose one
  // (the oneDNN primitive's name, e.g. "jit_fp32_wino_2x3:avx512_core").
  virtual std::string implementation() const { return {}; }

  // After prepare(): the input whose bytes output k may take over (-1: none).
  // A kernel returns j when it gives the right result with output k and input
  // j in the same buffer, e.g. a conv whose residual sum oneDNN reads from its
  // destination: the executor then places both in one arena range when this
  // node is the input's last reader, and the kernel skips the copy.
  virtual int output_may_overwrite_input(size_t k) const { return -1; }
};

// Makes the kernel for one node; throws UnsupportedError on attributes or
// input combinations it does not handle (naming the node).
using KernelFactory = std::function<std::unique_ptr<Kernel>(const Node &, const KernelEnv &)>;

class KernelRegistry {
public:
  static KernelRegistry &instance(); // filled by register_all_kernels() on first use
  void add(const std::string &op_type, KernelFactory f, const std::string &domain = "");
  const KernelFactory *find(const std::string &op_type, const std::string &domain = "") const;
  std::vector<std::string> op_types() const; // sorted, "domain:op" for non-default domains

private:
  std::unordered_map<std::string, KernelFactory> factories_;
};

// Throws UnsupportedError("... op 'X' used by node 'Y' is not supported") if absent.
std::unique_ptr<Kernel> make_kernel(const Node &node, const KernelEnv &env);

} // namespace qtune
