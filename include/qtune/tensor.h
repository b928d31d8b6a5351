#pragma once
// A dense tensor: dtype, shape and a pointer into storage that the tensor either
// owns (shared with copies) or borrows (a view into an executor arena).
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "qtune/dtype.h"

namespace qtune {

using Shape = std::vector<int64_t>;

int64_t shape_numel(std::span<const int64_t> shape);
std::string shape_str(std::span<const int64_t> shape); // "[1,3,416,416]"

class Tensor {
public:
  Tensor() = default;
  // Allocates zero-initialised, 64-byte aligned storage.
  Tensor(DType dtype, Shape shape);
  // Borrows memory owned elsewhere; `keep_alive` (may be null) keeps it valid.
  static Tensor view(DType dtype, Shape shape, void* data, std::shared_ptr<void> keep_alive = {});

  template <typename T> static Tensor from_vector(Shape shape, const std::vector<T>& values);
  static Tensor scalar_f32(float v);
  static Tensor scalar_i64(int64_t v);

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t dim(int i) const { return shape_.at(i < 0 ? i + rank() : i); }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t numel() const { return shape_numel(shape_); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  bool empty() const { return data_ == nullptr && numel() != 0; }
  bool defined() const { return dtype_ != DType::undefined; }

  void* raw() { return data_; }
  const void* raw() const { return data_; }
  template <typename T> T* data() { return static_cast<T*>(data_); }
  template <typename T> const T* data() const { return static_cast<const T*>(data_); }
  template <typename T> std::span<T> span() { return {data<T>(), static_cast<size_t>(numel())}; }
  template <typename T> std::span<const T> span() const {
    return {data<T>(), static_cast<size_t>(numel())};
  }

  // Same storage, new shape (numel must match).
  Tensor reshaped(Shape shape) const;
  // Deep copy into fresh owned storage.
  Tensor clone() const;
  // Element i converted to double / int64 whatever the dtype (for small shape tensors).
  double get_f64(int64_t i) const;
  int64_t get_i64(int64_t i) const;
  std::vector<int64_t> to_i64_vector() const;
  std::vector<float> to_f32_vector() const;
  // Converted copy (f32<->f16/bf16/ints/bool ...).
  Tensor cast(DType to) const;
  // The same conversion written into `out` (allocated, same element count,
  // out.dtype() the target type): no temporary.
  void cast_to(Tensor& out) const;

  // Strings only (DType::string): kept beside the raw buffer.
  std::vector<std::string> strings;

private:
  DType dtype_ = DType::undefined;
  Shape shape_;
  void* data_ = nullptr;
  std::shared_ptr<void> storage_;
};

template <typename T> Tensor Tensor::from_vector(Shape shape, const std::vector<T>& values) {
  Tensor t(dtype_of<T>(), std::move(shape));
  if (static_cast<size_t>(t.numel()) != values.size())
    throw std::invalid_argument("Tensor::from_vector: size does not match shape");
  std::copy(values.begin(), values.end(), t.data<T>());
  return t;
}

} // namespace qtune
