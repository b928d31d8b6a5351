#pragma once
// Small helpers shared by the plain C++ kernel families: optional-input checks,
// axis normalisation, dtype dispatch and numpy broadcasting plans.
#include <cstdint>
#include <fmt/format.h>
#include <span>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "qtune/error.h"
#include "qtune/tensor.h"

namespace qtune::kernels {

// `rows` runs of `bytes` from src (row pitch sp) to dst (pitch dp), split into
// pieces of at most 64 KB between the calling OpenMP team's threads once the
// whole is over 64 KB: a concat along a leading axis is one long run
// (YOLOX's head: 1.2 MB), which a loop over rows alone gives to one thread.
void copy_rows(void *dst, int64_t dp, const void *src, int64_t sp, int64_t rows, int64_t bytes);

// Elements of T from p to the next 64-byte boundary (0 when p is on one): a
// kernel over-allocates its vector by 64 bytes and starts aligned data there.
template <typename T> size_t to_64_byte_boundary(const T *p) {
  return (64 - reinterpret_cast<uintptr_t>(p) % 64) % 64 / sizeof(T);
}

// Optional inputs may be missing from the span or passed as undefined tensors.
inline bool has_input(std::span<const Tensor> in, size_t i) {
  return i < in.size() && in[i].defined();
}

// Maps a possibly negative axis into [0, rank); throws naming the node.
inline int normalize_axis(const Node &node, int64_t axis, int rank) {
  if (axis < -rank || axis >= rank)
    throw InputError(
        fmt::format("{}: axis {} out of range for rank {}", node.describe(), axis, rank));
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

inline int64_t numel_before(const Shape &s, int axis) {
  int64_t n = 1;
  for (int i = 0; i < axis; ++i)
    n *= s[i];
  return n;
}
inline int64_t numel_after(const Shape &s, int axis) {
  int64_t n = 1;
  for (size_t i = axis + 1; i < s.size(); ++i)
    n *= s[i];
  return n;
}

[[noreturn]] inline void throw_dtype(const Node &node, DType t) {
  throw UnsupportedError(
      fmt::format("{}: input dtype {} is not supported", node.describe(), dtype_name(t)));
}

// Calls f(T{}) with the C++ type of a numeric dtype (f32, f64, i8..i64, u8..u64, bool).
template <typename F> void dispatch_numeric(const Node &node, DType t, F &&f) {
  switch (t) {
  case DType::f32:
    f(float{});
    break;
  case DType::f64:
    f(double{});
    break;
  case DType::i8:
    f(int8_t{});
    break;
  case DType::u8:
    f(uint8_t{});
    break;
  case DType::i16:
    f(int16_t{});
    break;
  case DType::u16:
    f(uint16_t{});
    break;
  case DType::i32:
    f(int32_t{});
    break;
  case DType::u32:
    f(uint32_t{});
    break;
  case DType::i64:
    f(int64_t{});
    break;
  case DType::u64:
    f(uint64_t{});
    break;
  case DType::boolean:
    f(bool{});
    break;
  default:
    throw_dtype(node, t);
  }
}

// Calls f with an unsigned integer type of the dtype's byte size: data-movement
// kernels (Transpose, Concat, Gather ...) only copy bytes.
template <typename F> void dispatch_by_size(const Node &node, DType t, F &&f) {
  switch (dtype_size(t)) {
  case 1:
    f(uint8_t{});
    break;
  case 2:
    f(uint16_t{});
    break;
  case 4:
    f(uint32_t{});
    break;
  case 8:
    f(uint64_t{});
    break;
  default:
    throw_dtype(node, t);
  }
}

// numpy multidirectional broadcasting of up to three inputs, with adjacent dims
// of the same broadcast pattern merged so that e.g. [1,C,H,W] op [1,C,1,1]
// becomes [C, H*W] with the second input constant along the inner dim.
struct Broadcast {
  Shape out;                 // full output shape
  std::vector<int64_t> dims; // merged dims, outermost first (>= 1 entry)
  std::vector<std::vector<int64_t>>
      step; // per input: element stride per merged dim (0 = broadcast)

  int64_t inner() const { return dims.back(); }
  int64_t rows() const;
  // Element offsets of row r (all dims but the last) for each input.
  void row_offsets(int64_t r, int64_t *offsets) const;
};

// Throws InputError naming the node when shapes are not broadcastable.
Broadcast make_broadcast(const Node &node, const std::vector<Shape> &shapes);
Shape broadcast_shape(const Node &node, const std::vector<Shape> &shapes);

} // namespace qtune::kernels
