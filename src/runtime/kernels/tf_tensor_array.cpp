// TensorFlow TensorArrayV3 and friends as pure value ops (no resource state).
//
// Representation (shared by every kernel here):
// - handle (TensorArrayV3 output 0): i64 vector [size, dynamic_size, rank,
//   d0 .. d(rank-1)], the array's static description; rank -1 when the
//   element_shape attribute does not give the rank, a dim -1 when unknown.
// - flow (TensorArrayV3 output 1, every Write/Scatter output, the flow_in
//   inputs): the array's contents, a tensor [size, elem...] of the array's
//   dtype. All elements share one shape (ragged arrays are unsupported).
//   Elements never written are zeros.
// - An array that nothing was written to and whose element shape is not fully
//   known has a rank-0 flow (a single element of its dtype, value unused): a
//   written array always has rank >= 1, so rank 0 is unambiguous. Its size then
//   comes from the handle. Reading from it is an error; gathering from it needs
//   a fully known element_shape (the result is zeros, as TensorFlow gives).
// Writes copy the flow (O(size) per write): arrays in TF 1.x graphs are
// map_fn's per-batch-element arrays, small next to the work per element.
#include <cstring>
#include <fmt/format.h>
#include <optional>

#include "qtune/error.h"
#include "runtime/kernel.h"

namespace qtune {
namespace {

struct ArrayInfo {
  int64_t size = 0;
  bool dynamic = false;
  std::optional<Shape> elem; // when fully known
};

std::optional<Shape> known_shape(const std::vector<int64_t> &dims, bool present) {
  if (!present)
    return std::nullopt;
  for (int64_t d : dims)
    if (d < 0)
      return std::nullopt;
  return Shape(dims.begin(), dims.end());
}

ArrayInfo read_handle(const Node &n, const Tensor &h) {
  if (!h.defined() || h.rank() != 1 || h.numel() < 3 || h.dtype() != DType::i64)
    throw InputError(fmt::format("{}: input 0 is not a TensorArray handle", n.describe()));
  auto v = h.to_i64_vector();
  int64_t rank = v[2];
  if (rank >= 0 && static_cast<int64_t>(v.size()) != 3 + rank)
    throw InputError(fmt::format("{}: input 0 is not a TensorArray handle", n.describe()));
  return {v[0], v[1] != 0, known_shape({v.begin() + 3, v.end()}, rank >= 0)};
}

Shape element_shape_of(const Tensor &flow) {
  return Shape(flow.shape().begin() + 1, flow.shape().end());
}

Shape with_size(int64_t size, const Shape &elem) {
  Shape s{size};
  s.insert(s.end(), elem.begin(), elem.end());
  return s;
}

void check_not_string(const Node &n, DType t) {
  if (t == DType::string)
    throw UnsupportedError(
        fmt::format("{}: TensorArrays of strings are not supported", n.describe()));
}

// The element shape and size a write of elements of shape `elem` leaves.
struct WritePlan {
  Shape elem;
  int64_t old_size = 0, new_size = 0;
};

WritePlan plan_write(const Node &n, const ArrayInfo &info, const Tensor &flow, DType value_dtype,
                     const Shape &elem, int64_t max_index) {
  check_not_string(n, value_dtype);
  if (value_dtype != flow.dtype())
    throw InputError(fmt::format("{}: writes {} into a TensorArray of {}", n.describe(),
                                 dtype_name(value_dtype), dtype_name(flow.dtype())));
  WritePlan p{elem, info.size, info.size};
  if (flow.rank() > 0) {
    p.old_size = p.new_size = flow.dim(0);
    if (element_shape_of(flow) != elem)
      throw UnsupportedError(
          fmt::format("{}: TensorArray elements of different shapes {} and {} are not supported",
                      n.describe(), shape_str(element_shape_of(flow)), shape_str(elem)));
  } else {
    p.old_size = 0; // nothing to copy
  }
  if (info.elem && *info.elem != elem)
    throw InputError(fmt::format("{}: element of shape {} does not match the array's {}",
                                 n.describe(), shape_str(elem), shape_str(*info.elem)));
  if (max_index >= p.new_size) {
    if (!info.dynamic)
      throw InputError(fmt::format("{}: index {} is out of range for a TensorArray of size {}",
                                   n.describe(), max_index, p.new_size));
    p.new_size = max_index + 1;
  }
  return p;
}

// out = flow (zeros where flow had no data), ready for elements to be written.
void copy_flow(const Tensor &flow, Tensor &out) {
  size_t kept = flow.rank() > 0 ? flow.nbytes() : 0;
  if (kept && out.raw() != flow.raw())
    std::memcpy(out.raw(), flow.raw(), kept);
  std::memset(static_cast<uint8_t *>(out.raw()) + kept, 0, out.nbytes() - kept);
}

int64_t index_at(const Node &n, const Tensor &indices, int64_t k) {
  int64_t i = indices.get_i64(k);
  if (i < 0)
    throw InputError(fmt::format("{}: negative index {}", n.describe(), i));
  return i;
}

class TensorArrayKernel : public Kernel {
public:
  explicit TensorArrayKernel(const Node &n) : node_(n) {
    int64_t t = n.attr_int("dtype", -1);
    if (t <= static_cast<int64_t>(DType::undefined) || t > static_cast<int64_t>(DType::string))
      throw InputError(fmt::format("{}: bad dtype attribute {}", n.describe(), t));
    dtype_ = static_cast<DType>(t);
    check_not_string(n, dtype_);
    dynamic_ = n.attr_int("dynamic_size", 0) != 0;
    has_elem_ = n.has_attr("element_shape");
    elem_dims_ = n.attr_ints("element_shape");
  }
  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    size_ = in[0].get_i64(0);
    if (size_ < 0)
      throw InputError(fmt::format("{}: negative size {}", node_.describe(), size_));
    auto elem = known_shape(elem_dims_, has_elem_);
    Shape handle{static_cast<int64_t>(3 + (has_elem_ ? elem_dims_.size() : 0))};
    return {{DType::i64, handle}, {dtype_, elem ? with_size(size_, *elem) : Shape{}}};
  }
  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    if (out[0].defined()) {
      int64_t *h = out[0].data<int64_t>();
      h[0] = size_;
      h[1] = dynamic_;
      h[2] = has_elem_ ? static_cast<int64_t>(elem_dims_.size()) : -1;
      std::copy(elem_dims_.begin(), elem_dims_.end(), h + 3);
    }
    if (out.size() > 1 && out[1].defined())
      std::memset(out[1].raw(), 0, out[1].nbytes());
  }
  bool value_dependent_shapes() const override { return true; } // the size input

private:
  Node node_;
  DType dtype_ = DType::undefined;
  bool dynamic_ = false, has_elem_ = false;
  std::vector<int64_t> elem_dims_;
  int64_t size_ = 0;
};

// WriteV3(handle, index, value, flow_in) -> flow_out
class WriteKernel : public Kernel {
public:
  explicit WriteKernel(const Node &n) : node_(n) {}
  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    index_ = index_at(node_, in[1], 0);
    plan_ =
        plan_write(node_, read_handle(node_, in[0]), in[3], in[2].dtype(), in[2].shape(), index_);
    return {{in[3].dtype(), with_size(plan_.new_size, plan_.elem)}};
  }
  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    copy_flow(in[3], out[0]);
    size_t bytes = in[2].nbytes();
    std::memcpy(static_cast<uint8_t *>(out[0].raw()) + index_ * bytes, in[2].raw(), bytes);
  }
  bool value_dependent_shapes() const override { return true; } // index, handle size

private:
  Node node_;
  int64_t index_ = 0;
  WritePlan plan_;
};

// ScatterV3(handle, indices, value, flow_in) -> flow_out
class ScatterKernel : public Kernel {
public:
  explicit ScatterKernel(const Node &n) : node_(n) {}
  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    const Tensor &idx = in[1], &value = in[2];
    if (idx.rank() != 1 || value.rank() < 1 || value.dim(0) != idx.numel())
      throw InputError(fmt::format("{}: indices {} do not match value {}", node_.describe(),
                                   shape_str(idx.shape()), shape_str(value.shape())));
    int64_t max_index = -1;
    for (int64_t k = 0; k < idx.numel(); ++k)
      max_index = std::max(max_index, index_at(node_, idx, k));
    plan_ = plan_write(node_, read_handle(node_, in[0]), in[3], value.dtype(),
                       element_shape_of(value), max_index);
    return {{in[3].dtype(), with_size(plan_.new_size, plan_.elem)}};
  }
  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    copy_flow(in[3], out[0]);
    const Tensor &idx = in[1], &value = in[2];
    size_t bytes = idx.numel() ? value.nbytes() / idx.numel() : 0;
    for (int64_t k = 0; k < idx.numel(); ++k)
      std::memcpy(static_cast<uint8_t *>(out[0].raw()) + idx.get_i64(k) * bytes,
                  static_cast<const uint8_t *>(value.raw()) + k * bytes, bytes);
  }
  bool value_dependent_shapes() const override { return true; } // indices, handle size

private:
  Node node_;
  WritePlan plan_;
};

// The number of elements and the element shape of an array (flow may be rank 0).
int64_t array_size(const Node &n, const Tensor &handle, const Tensor &flow) {
  return flow.rank() > 0 ? flow.dim(0) : read_handle(n, handle).size;
}

// ReadV3(handle, index, flow_in) -> value
class ReadKernel : public Kernel {
public:
  explicit ReadKernel(const Node &n) : node_(n) {}
  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    if (in[2].rank() == 0)
      throw InputError(fmt::format("{}: reads element {} of a TensorArray nothing was written to",
                                   node_.describe(), in[1].get_i64(0)));
    return {{in[2].dtype(), element_shape_of(in[2])}};
  }
  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    int64_t i = index_at(node_, in[1], 0), size = in[2].dim(0);
    if (i >= size)
      throw InputError(fmt::format("{}: index {} is out of range for a TensorArray of size {}",
                                   node_.describe(), i, size));
    size_t bytes = out[0].nbytes();
    std::memcpy(out[0].raw(), static_cast<const uint8_t *>(in[2].raw()) + i * bytes, bytes);
  }

private:
  Node node_;
};

// GatherV3(handle, indices, flow_in) -> value [n, elem...]
class GatherKernel : public Kernel {
public:
  explicit GatherKernel(const Node &n)
      : node_(n),
        elem_attr_(known_shape(n.attr_ints("element_shape"), n.has_attr("element_shape"))) {}
  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    const Tensor &idx = in[1], &flow = in[2];
    if (idx.rank() != 1)
      throw InputError(fmt::format("{}: indices must be a vector, got {}", node_.describe(),
                                   shape_str(idx.shape())));
    std::optional<Shape> elem = flow.rank() > 0 ? element_shape_of(flow) : elem_attr_;
    if (!elem)
      elem = read_handle(node_, in[0]).elem;
    if (!elem)
      throw InputError(fmt::format("{}: gathers from a TensorArray nothing was written to and "
                                   "whose element shape is unknown",
                                   node_.describe()));
    return {{flow.dtype(), with_size(idx.numel(), *elem)}};
  }
  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    const Tensor &idx = in[1], &flow = in[2];
    int64_t size = array_size(node_, in[0], flow), n = idx.numel();
    size_t bytes = n ? out[0].nbytes() / n : 0;
    for (int64_t k = 0; k < n; ++k) {
      int64_t i = index_at(node_, idx, k);
      if (i >= size)
        throw InputError(fmt::format("{}: index {} is out of range for a TensorArray of size {}",
                                     node_.describe(), i, size));
      uint8_t *dst = static_cast<uint8_t *>(out[0].raw()) + k * bytes;
      if (flow.rank() > 0)
        std::memcpy(dst, static_cast<const uint8_t *>(flow.raw()) + i * bytes, bytes);
      else
        std::memset(dst, 0, bytes); // never written: zeros
    }
  }

private:
  Node node_;
  std::optional<Shape> elem_attr_;
};

// SizeV3(handle, flow_in) -> int32 scalar
class SizeKernel : public Kernel {
public:
  explicit SizeKernel(const Node &n) : node_(n) {}
  std::vector<TensorType> infer(std::span<const Tensor>) override { return {{DType::i32, {}}}; }
  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    *out[0].data<int32_t>() = static_cast<int32_t>(array_size(node_, in[0], in[1]));
  }

private:
  Node node_;
};

// ConcatV3(handle, flow_in) -> value [size * e0, e1...], lengths (i64 [size])
class ConcatKernel : public Kernel {
public:
  explicit ConcatKernel(const Node &n)
      : node_(n), except0_(known_shape(n.attr_ints("element_shape_except0"),
                                       n.has_attr("element_shape_except0"))) {}
  std::vector<TensorType> infer(std::span<const Tensor> in) override {
    const Tensor &flow = in[1];
    if (flow.rank() == 0) {
      if (array_size(node_, in[0], flow) != 0 || !except0_)
        throw InputError(
            fmt::format("{}: concatenates a TensorArray nothing was written to", node_.describe()));
      return {{flow.dtype(), with_size(0, *except0_)}, {DType::i64, {0}}};
    }
    if (flow.rank() < 2)
      throw InputError(fmt::format("{}: cannot concatenate scalar elements", node_.describe()));
    Shape s(flow.shape().begin() + 1, flow.shape().end());
    s[0] *= flow.dim(0);
    return {{flow.dtype(), s}, {DType::i64, {flow.dim(0)}}};
  }
  void run(std::span<const Tensor> in, std::span<Tensor> out) override {
    const Tensor &flow = in[1];
    if (out[0].nbytes() && out[0].raw() != flow.raw())
      std::memcpy(out[0].raw(), flow.raw(), out[0].nbytes());
    if (out.size() > 1 && out[1].defined())
      for (int64_t &l : out[1].span<int64_t>())
        l = flow.rank() >= 2 ? flow.dim(1) : 0;
  }

private:
  Node node_;
  std::optional<Shape> except0_;
};

template <typename K> KernelFactory make() {
  return [](const Node &n, const KernelEnv &) { return std::make_unique<K>(n); };
}

} // namespace

void register_tf_tensor_array_kernels(KernelRegistry &r) {
  r.add("TensorArrayV3", make<TensorArrayKernel>(), "tf");
  r.add("TensorArrayWriteV3", make<WriteKernel>(), "tf");
  r.add("TensorArrayScatterV3", make<ScatterKernel>(), "tf");
  r.add("TensorArrayReadV3", make<ReadKernel>(), "tf");
  r.add("TensorArrayGatherV3", make<GatherKernel>(), "tf");
  r.add("TensorArraySizeV3", make<SizeKernel>(), "tf");
  r.add("TensorArrayConcatV3", make<ConcatKernel>(), "tf");
}

} // namespace qtune
