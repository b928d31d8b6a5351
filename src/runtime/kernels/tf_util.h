#pragma once
// Helpers shared by the TensorFlow-domain kernels (kernels/tf_*.cpp). TF nodes
// arrive as H2's import writes them: inputs in TF order, attributes converted
// generically (DataType -> int64 of DType, bool -> int64 0/1).
#include <initializer_list>
#include <memory>
#include <string>

#include "runtime/kernel.h"
#include "runtime/kernels/kernel_util.h"

namespace qtune::kernels::tf {

// A DataType attribute (stored as the int64 of a qtune DType).
DType attr_dtype(const Node &node, const std::string &key, DType def);

// A scalar or one-element input (an axis, a count): errors name the node.
int64_t scalar_i64(const Node &node, const Tensor &t, const char *what);
double scalar_f64(const Node &node, const Tensor &t, const char *what);

// The inputs listed decide the output shape by their values. Unless every one
// is fixed while the graph-input shapes are (a constant, or computed from
// constants and shapes: KernelEnv::is_fixed), the executor must re-infer the
// node on every run: a computed begin/size can change while its own shape
// stays the same.
bool values_constant(const Node &node, const KernelEnv &env, std::initializer_list<size_t> inputs);

// An int64 vector tensor (ONNX kernels' starts, pads, sizes ... inputs).
Tensor i64_vector(const std::vector<int64_t> &v);

// Throws InputError unless the tensor has the given rank.
void expect_rank(const Node &node, const Tensor &t, int rank, const char *what);

// A TF op that an ONNX kernel computes once the TF-only inputs (axis, perm,
// paddings ...) are turned into the ONNX node's attributes and inputs. The
// ONNX kernel is remade on every infer() (only on new shapes, or every run
// when value_dependent): it is a cheap object, and its attributes come from
// input values. Outputs may differ from the ONNX kernel's in shape (same
// element count: the ONNX kernel writes into a reshaped view) and in dtype
// (converted after the ONNX kernel ran, e.g. int64 indices -> int32).
class OnnxBacked : public Kernel {
public:
  OnnxBacked(const Node &n, const KernelEnv &env, bool value_dependent);

  std::vector<TensorType> infer(std::span<const Tensor> in) final;
  void prepare(std::span<const Tensor> in) final;
  void run(std::span<const Tensor> in, std::span<Tensor> out) final;
  bool value_dependent_shapes() const final { return value_dependent_; }

protected:
  // The ONNX node for these inputs: op type and attributes. Called by infer().
  virtual Node onnx_node(std::span<const Tensor> in) = 0;
  // The ONNX node's inputs; the TF inputs unless overridden. Tensors computed
  // in onnx_node() may be kept and returned here (they only change when
  // infer() runs again).
  virtual std::vector<Tensor> onnx_inputs(std::span<const Tensor> in);
  // The TF outputs' types from the ONNX kernel's; unchanged unless overridden.
  virtual std::vector<TensorType> tf_types(std::span<const Tensor> in,
                                           std::vector<TensorType> onnx);
  // Checks on input values made before every run (e.g. gather indices).
  virtual void check(std::span<const Tensor> in) {}

  // An ONNX node named like this one, with the given op type.
  Node make_onnx(const std::string &op_type) const;

  Node node_;
  KernelEnv env_;

private:
  std::unique_ptr<Kernel> inner_;
  std::vector<TensorType> inner_types_;
  bool value_dependent_;
};

// A factory for a kernel class constructed as K(node, env, args...).
template <typename K, typename... A> KernelFactory factory(A... args) {
  return [=](const Node &n, const KernelEnv &env) { return std::make_unique<K>(n, env, args...); };
}

} // namespace qtune::kernels::tf
