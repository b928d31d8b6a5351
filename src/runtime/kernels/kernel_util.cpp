#include "runtime/kernels/kernel_util.h"

#include <algorithm>
#include <cstring>

namespace qtune::kernels {

void copy_rows(void *dst, int64_t dp, const void *src, int64_t sp, int64_t rows, int64_t bytes) {
  constexpr int64_t kPiece = int64_t{1} << 16;
  auto *d = static_cast<uint8_t *>(dst);
  const auto *s = static_cast<const uint8_t *>(src);
  const int64_t pieces = std::max<int64_t>(1, (bytes + kPiece - 1) / kPiece);
#pragma omp parallel for collapse(2) if (rows * bytes > kPiece)
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t p = 0; p < pieces; ++p) {
      const int64_t at = p * kPiece;
      std::memcpy(d + r * dp + at, s + r * sp + at,
                  static_cast<size_t>(std::min(kPiece, bytes - at)));
    }
}

Shape broadcast_shape(const Node &node, const std::vector<Shape> &shapes) {
  size_t rank = 0;
  for (const auto &s : shapes)
    rank = std::max(rank, s.size());
  Shape out(rank, 1);
  for (const auto &s : shapes) {
    size_t off = rank - s.size();
    for (size_t i = 0; i < s.size(); ++i) {
      int64_t d = s[i], &o = out[off + i];
      if (d == o || d == 1)
        continue;
      if (o == 1) {
        o = d;
        continue;
      }
      std::string all;
      for (const auto &t : shapes)
        all += (all.empty() ? "" : " and ") + shape_str(t);
      throw InputError(fmt::format("{}: shapes {} cannot be broadcast", node.describe(), all));
    }
  }
  return out;
}

Broadcast make_broadcast(const Node &node, const std::vector<Shape> &shapes) {
  Broadcast b;
  b.out = broadcast_shape(node, shapes);
  size_t rank = b.out.size(), n = shapes.size();
  // Per input and output dim: does the input vary along it?
  std::vector<std::vector<bool>> varies(n, std::vector<bool>(rank, false));
  for (size_t k = 0; k < n; ++k) {
    size_t off = rank - shapes[k].size();
    for (size_t i = 0; i < shapes[k].size(); ++i)
      varies[k][off + i] = shapes[k][i] != 1;
  }
  // Merge runs of dims with an identical pattern; dims of size 1 merge with anything.
  std::vector<int64_t> dims;
  std::vector<std::vector<bool>> pattern;
  for (size_t i = 0; i < rank; ++i) {
    if (b.out[i] == 1)
      continue;
    std::vector<bool> p(n);
    for (size_t k = 0; k < n; ++k)
      p[k] = varies[k][i];
    if (!dims.empty() && pattern.back() == p) {
      dims.back() *= b.out[i];
    } else {
      dims.push_back(b.out[i]);
      pattern.push_back(p);
    }
  }
  if (dims.empty()) {
    dims.push_back(1);
    pattern.push_back(std::vector<bool>(n, true));
  }
  b.dims = dims;
  b.step.assign(n, std::vector<int64_t>(dims.size(), 0));
  for (size_t k = 0; k < n; ++k) {
    int64_t stride = 1;
    for (size_t d = dims.size(); d-- > 0;) {
      if (pattern[d][k]) {
        b.step[k][d] = stride;
        stride *= dims[d];
      }
    }
  }
  return b;
}

int64_t Broadcast::rows() const {
  int64_t r = 1;
  for (size_t d = 0; d + 1 < dims.size(); ++d)
    r *= dims[d];
  return r;
}

void Broadcast::row_offsets(int64_t r, int64_t *offsets) const {
  size_t n = step.size();
  for (size_t k = 0; k < n; ++k)
    offsets[k] = 0;
  for (size_t d = dims.size() - 1; d-- > 0;) {
    int64_t idx = r % dims[d];
    r /= dims[d];
    for (size_t k = 0; k < n; ++k)
      offsets[k] += idx * step[k][d];
  }
}

} // namespace qtune::kernels
