// qtune:QAveragePool against a float reference: dequantize, average over the
// ONNX window (pads excluded or counted per count_include_pad), quantize with
// the output parameters. Outputs must agree within one quantization step.
#include <cmath>
#include <gtest/gtest.h>
#include <random>

#include "qtune/error.h"
#include "runtime/kernel.h"

namespace qtune {
namespace {

struct PoolCase {
  Shape x_shape;
  DType x_type = DType::u8, y_type = DType::u8;
  float x_scale = 0.03f, y_scale = 0.02f;
  int x_zero_point = 0, y_zero_point = 0;
  bool global = false, include_pad = false, ceil_mode = false;
  std::vector<int64_t> kernel, strides, pads;
};

// Reference for 2-D windows on [N, C, H, W].
std::vector<double> reference(const PoolCase &c, const Tensor &x, int64_t oh, int64_t ow) {
  int64_t planes = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3);
  std::vector<int64_t> k = c.global ? std::vector<int64_t>{h, w} : c.kernel;
  std::vector<int64_t> s = c.global ? std::vector<int64_t>{1, 1} : c.strides;
  std::vector<int64_t> p = c.global ? std::vector<int64_t>{0, 0, 0, 0} : c.pads;
  std::vector<double> y;
  for (int64_t q = 0; q < planes; ++q)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        double sum = 0;
        int64_t inside = 0, padded = 0;
        for (int64_t a = 0; a < k[0]; ++a)
          for (int64_t b = 0; b < k[1]; ++b) {
            int64_t r = i * s[0] - p[0] + a, col = j * s[1] - p[1] + b;
            // Inside the explicitly padded input (not the ceil_mode overhang).
            if (r < h + p[2] && col < w + p[3])
              ++padded;
            if (r < 0 || col < 0 || r >= h || col >= w)
              continue;
            sum += c.x_scale * (x.get_i64((q * h + r) * w + col) - c.x_zero_point);
            ++inside;
          }
        y.push_back(sum / (c.include_pad ? padded : inside));
      }
  return y;
}

void check_case(const PoolCase &c, uint32_t seed, Shape want_shape) {
  std::mt19937 rng(seed);
  Tensor x(c.x_type, c.x_shape);
  std::uniform_int_distribution<int> d(c.x_type == DType::u8 ? 0 : -128,
                                       c.x_type == DType::u8 ? 255 : 127);
  for (int64_t i = 0; i < x.numel(); ++i) {
    if (c.x_type == DType::u8)
      x.data<uint8_t>()[i] = static_cast<uint8_t>(d(rng));
    else
      x.data<int8_t>()[i] = static_cast<int8_t>(d(rng));
  }
  Node node;
  node.name = "pool";
  node.op_type = "QAveragePool";
  node.domain = "qtune";
  node.attrs["global"] = int64_t{c.global};
  node.attrs["x_scale"] = c.x_scale;
  node.attrs["x_zero_point"] = int64_t{c.x_zero_point};
  node.attrs["y_dtype"] = std::string(dtype_name(c.y_type));
  node.attrs["y_scale"] = c.y_scale;
  node.attrs["y_zero_point"] = int64_t{c.y_zero_point};
  if (!c.global) {
    node.attrs["kernel_shape"] = c.kernel;
    node.attrs["strides"] = c.strides;
    node.attrs["pads"] = c.pads;
    node.attrs["count_include_pad"] = int64_t{c.include_pad};
    node.attrs["ceil_mode"] = int64_t{c.ceil_mode};
  }
  auto kernel = make_kernel(node, KernelEnv{});
  std::vector<Tensor> in{x};
  auto types = kernel->infer(in);
  ASSERT_EQ(types.at(0).shape, want_shape);
  kernel->prepare(in);
  std::vector<Tensor> out{Tensor(types[0].dtype, types[0].shape)};
  kernel->run(in, out);

  std::vector<double> real = reference(c, x, want_shape[2], want_shape[3]);
  ASSERT_EQ(static_cast<int64_t>(real.size()), out[0].numel());
  double lo = c.y_type == DType::u8 ? 0 : -128, hi = c.y_type == DType::u8 ? 255 : 127;
  int64_t off = 0;
  for (size_t i = 0; i < real.size(); ++i) {
    double want = std::clamp(std::nearbyint(real[i] / c.y_scale) + c.y_zero_point, lo, hi);
    if (std::abs(out[0].get_i64(static_cast<int64_t>(i)) - want) > 1)
      ++off;
  }
  EXPECT_EQ(off, 0) << "of " << real.size() << " outputs differ by more than one step";
}

TEST(QAveragePool, PaddedStridedExcludingPad) {
  PoolCase c;
  c.x_shape = {2, 5, 11, 9};
  c.x_zero_point = 120;
  c.y_zero_point = 128;
  c.kernel = {3, 3};
  c.strides = {2, 2};
  c.pads = {1, 1, 1, 1};
  check_case(c, 1, {2, 5, 6, 5});
}

TEST(QAveragePool, CountIncludePadS8ToU8) {
  PoolCase c;
  c.x_shape = {1, 3, 8, 8};
  c.x_type = DType::i8;
  c.x_zero_point = -3;
  c.y_zero_point = 100;
  c.kernel = {2, 3};
  c.strides = {1, 2};
  c.pads = {1, 0, 0, 1};
  c.include_pad = true;
  check_case(c, 2, {1, 3, 8, 4});
}

TEST(QAveragePool, CeilModeExcludingPad) {
  PoolCase c;
  c.x_shape = {1, 4, 7, 7};
  c.kernel = {2, 2};
  c.strides = {2, 2};
  c.pads = {0, 0, 0, 0};
  c.ceil_mode = true;
  c.y_scale = 0.03f;
  check_case(c, 3, {1, 4, 4, 4});
}

TEST(QAveragePool, GlobalU8ToS8) {
  PoolCase c;
  c.x_shape = {2, 16, 7, 7};
  c.global = true;
  c.x_zero_point = 60;
  c.y_type = DType::i8;
  c.y_scale = 0.01f;
  c.y_zero_point = -20;
  check_case(c, 4, {2, 16, 1, 1});
}

TEST(QAveragePool, RejectsFloatInputNamingNode) {
  Node node;
  node.name = "gap9";
  node.op_type = "QAveragePool";
  node.domain = "qtune";
  node.attrs["global"] = int64_t{1};
  node.attrs["x_scale"] = 0.1f;
  node.attrs["y_dtype"] = std::string("u8");
  node.attrs["y_scale"] = 0.1f;
  for (const char *attr : {"x_scale", "y_scale"}) {
    Node missing = node;
    missing.attrs.erase(attr);
    EXPECT_THROW(make_kernel(missing, KernelEnv{}), InputError) << attr;
  }
  auto kernel = make_kernel(node, KernelEnv{});
  std::vector<Tensor> in{Tensor(DType::f32, {1, 2, 3, 3})};
  try {
    kernel->infer(in);
    FAIL() << "float input accepted";
  } catch (const InputError &e) {
    EXPECT_NE(std::string(e.what()).find("gap9"), std::string::npos) << e.what();
  }
}

} // namespace
} // namespace qtune
