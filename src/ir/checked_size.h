#pragma once
// Checked size arithmetic for shapes that come from user files: a product that
// overflows is an InputError, never a wrapped small (or negative) size.
#include <cstddef>
#include <cstdint>
#include <span>

#include "qtune/dtype.h"

namespace qtune {

// Bytes of `shape` elements of `dtype` (shape_numel is checked the same way).
size_t shape_nbytes(std::span<const int64_t> shape, DType dtype);

// a * b for sizes; throws InputError naming `what` on overflow or a negative operand.
int64_t checked_mul(int64_t a, int64_t b, const char *what);

} // namespace qtune
