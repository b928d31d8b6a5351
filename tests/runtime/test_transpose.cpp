// Transpose kernel against index arithmetic on large shapes (the tiled
// matrix-transpose path and the block-copy path; libonnx-testdata's
// conformance cases cover the small ones).
#include <cstring>
#include <gtest/gtest.h>
#include <numeric>

#include "runtime/kernel.h"

namespace qtune {
namespace {

// Output element at `out_index` of transposing `shape` by `perm`: the source
// flat index, computed digit by digit.
int64_t source_index(const Shape &shape, const std::vector<int64_t> &perm, int64_t out_index) {
  const size_t r = shape.size();
  std::vector<int64_t> src_stride(r, 1), out_dims(r);
  for (size_t k = r - 1; k-- > 0;)
    src_stride[k] = src_stride[k + 1] * shape[k + 1];
  for (size_t i = 0; i < r; ++i)
    out_dims[i] = shape[perm[i]];
  int64_t src = 0;
  for (size_t i = r; i-- > 0;) {
    src += (out_index % out_dims[i]) * src_stride[perm[i]];
    out_index /= out_dims[i];
  }
  return src;
}

void check_transpose(const Shape &shape, const std::vector<int64_t> &perm, DType t) {
  Tensor x(t, shape);
  auto *bytes = static_cast<uint8_t *>(x.raw());
  for (size_t i = 0; i < x.nbytes(); ++i)
    bytes[i] = static_cast<uint8_t>(i * 131 + i / 251);
  Node n;
  n.name = "t", n.op_type = "Transpose", n.inputs = {"x"}, n.outputs = {"y"};
  n.attrs["perm"] = perm;
  auto k = make_kernel(n, KernelEnv{});
  std::vector<Tensor> in{x};
  auto types = k->infer(in);
  k->prepare(in);
  std::vector<Tensor> out{Tensor(types[0].dtype, types[0].shape)};
  k->run(in, out);
  const size_t es = dtype_size(t);
  int64_t bad = 0;
  for (int64_t i = 0; i < out[0].numel(); ++i)
    bad += std::memcmp(static_cast<const uint8_t *>(out[0].raw()) + i * es,
                       bytes + source_index(shape, perm, i) * es, es) != 0;
  EXPECT_EQ(bad, 0) << shape_str(shape) << " perm " << shape_str(perm);
}

TEST(Transpose, LargeShapesMatchIndexArithmetic) {
  check_transpose({1, 85, 3549}, {0, 2, 1}, DType::f32); // YOLOX-Nano head
  check_transpose({3, 37, 41}, {0, 2, 1}, DType::f32);   // partial tiles, batch
  check_transpose({2, 3, 37, 41}, {0, 2, 3, 1}, DType::u8);
  check_transpose({2, 3, 37, 41}, {3, 1, 0, 2}, DType::f32);
  check_transpose({5, 7, 300}, {2, 1, 0}, DType::i64);
  check_transpose({64, 33}, {1, 0}, DType::f32);
}

} // namespace
} // namespace qtune
