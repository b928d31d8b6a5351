#pragma once
// Shared helpers for the whole-model runtime tests: raw .f32 files and
// element-wise comparison.
#include <cmath>
#include <fstream>
#include <stdexcept>
#include <string>

#include "qtune/tensor.h"

namespace qtune::test {

inline Tensor read_f32(const std::string &path, Shape shape) {
  Tensor t(DType::f32, std::move(shape));
  std::ifstream f(path, std::ios::binary);
  if (!f)
    throw std::runtime_error("cannot open " + path);
  f.read(static_cast<char *>(t.raw()), static_cast<std::streamsize>(t.nbytes()));
  if (f.gcount() != static_cast<std::streamsize>(t.nbytes()))
    throw std::runtime_error(path + ": too short for " + shape_str(t.shape()));
  return t;
}

inline double max_abs_diff(const Tensor &a, const Tensor &b) {
  if (a.shape() != b.shape())
    return INFINITY;
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i)
    m = std::max(m, std::abs(double(a.data<float>()[i]) - b.data<float>()[i]));
  return m;
}

} // namespace qtune::test
