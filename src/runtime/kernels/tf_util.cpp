#include "runtime/kernels/tf_util.h"

#include <cstring>

namespace qtune::kernels::tf {

DType attr_dtype(const Node &node, const std::string &key, DType def) {
  if (!node.has_attr(key))
    return def;
  int64_t v = node.attr_int(key, 0);
  if (v <= 0 || v > static_cast<int64_t>(DType::string))
    throw InputError(
        fmt::format("{}: attribute '{}' = {} is not a dtype", node.describe(), key, v));
  return static_cast<DType>(v);
}

namespace {
void expect_scalar(const Node &node, const Tensor &t, const char *what) {
  if (!t.defined() || t.numel() != 1 || t.rank() > 1)
    throw InputError(fmt::format("{}: {} must be a scalar, got shape {}", node.describe(), what,
                                 t.defined() ? shape_str(t.shape()) : "(none)"));
}
} // namespace

int64_t scalar_i64(const Node &node, const Tensor &t, const char *what) {
  expect_scalar(node, t, what);
  return t.get_i64(0);
}

double scalar_f64(const Node &node, const Tensor &t, const char *what) {
  expect_scalar(node, t, what);
  return t.get_f64(0);
}

bool values_constant(const Node &node, const KernelEnv &env, std::initializer_list<size_t> inputs) {
  for (size_t i : inputs)
    if (node.has_input(i) && !env.is_fixed(node.inputs[i]))
      return false;
  return true;
}

Tensor i64_vector(const std::vector<int64_t> &v) {
  return Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v);
}

void expect_rank(const Node &node, const Tensor &t, int rank, const char *what) {
  if (t.rank() != rank)
    throw InputError(fmt::format("{}: {} must have rank {}, got shape {}", node.describe(), what,
                                 rank, shape_str(t.shape())));
}

OnnxBacked::OnnxBacked(const Node &n, const KernelEnv &env, bool value_dependent)
    : node_(n), env_(env), value_dependent_(value_dependent) {}

Node OnnxBacked::make_onnx(const std::string &op_type) const {
  Node m;
  m.name = node_.name;
  m.op_type = op_type;
  m.outputs = node_.outputs;
  return m;
}

std::vector<Tensor> OnnxBacked::onnx_inputs(std::span<const Tensor> in) {
  return {in.begin(), in.end()};
}

std::vector<TensorType> OnnxBacked::tf_types(std::span<const Tensor>,
                                             std::vector<TensorType> onnx) {
  return onnx;
}

std::vector<TensorType> OnnxBacked::infer(std::span<const Tensor> in) {
  Node m = onnx_node(in);
  std::vector<Tensor> args = onnx_inputs(in);
  m.inputs.clear();
  for (size_t i = 0; i < args.size(); ++i)
    m.inputs.push_back(args[i].defined() ? fmt::format("in{}", i) : "");
  inner_ = make_kernel(m, env_);
  inner_types_ = inner_->infer(args);
  std::vector<TensorType> types = tf_types(in, inner_types_);
  for (size_t k = 0; k < types.size() && k < inner_types_.size(); ++k)
    if (shape_numel(types[k].shape) != shape_numel(inner_types_[k].shape))
      throw Error(fmt::format("{}: output {} has {} elements, the ONNX kernel makes {}",
                              node_.describe(), k, shape_numel(types[k].shape),
                              shape_numel(inner_types_[k].shape)));
  return types;
}

void OnnxBacked::prepare(std::span<const Tensor> in) {
  inner_->prepare(onnx_inputs(in));
}

void OnnxBacked::run(std::span<const Tensor> in, std::span<Tensor> out) {
  check(in);
  // Every ONNX output gets a buffer: absent TF outputs (unused Split parts)
  // are written to scratch, so the ONNX kernel never sees a gap.
  std::vector<Tensor> views(inner_types_.size());
  std::vector<size_t> converted;
  for (size_t k = 0; k < views.size(); ++k) {
    const TensorType &t = inner_types_[k];
    bool present = k < out.size() && out[k].defined();
    if (present && t.dtype == out[k].dtype()) {
      views[k] = out[k].reshaped(t.shape);
    } else {
      views[k] = Tensor(t.dtype, t.shape);
      if (present)
        converted.push_back(k);
    }
  }
  inner_->run(onnx_inputs(in), views);
  for (size_t k : converted) {
    Tensor c = views[k].cast(out[k].dtype());
    std::memcpy(out[k].raw(), c.raw(), c.nbytes());
  }
}

} // namespace qtune::kernels::tf
