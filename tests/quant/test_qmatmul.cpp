// qtune:QMatMul against a float reference computed from the dequantized
// operands (double accumulation, activation, then QuantizeLinear rounding):
// int8 outputs within one quantization step, f32 outputs within float noise.
#include <cmath>
#include <gtest/gtest.h>
#include <random>

#include "qtune/error.h"
#include "runtime/kernel.h"
#include "runtime/kernels/int8_util.h"

namespace qtune {
namespace {

struct MatMulCase {
  Shape a_shape;
  DType a_type = DType::u8;
  float a_scale = 0.02f;
  int a_zero_point = 0;
  int64_t n = 8;
  bool trans_b = false, per_column = true, bias = true;
  int w_max = 64; // 7-bit weights are exact with and without VNNI
  std::string activation;
  std::vector<float> activation_params;
  DType y_type = DType::u8;
  float y_scale = 0.05f;
  int y_zero_point = 0;
};

Tensor random_int(DType t, Shape s, int lo, int hi, std::mt19937 &rng) {
  Tensor x(t, std::move(s));
  std::uniform_int_distribution<int> d(lo, hi);
  for (int64_t i = 0; i < x.numel(); ++i) {
    if (t == DType::u8)
      x.data<uint8_t>()[i] = static_cast<uint8_t>(d(rng));
    else
      x.data<int8_t>()[i] = static_cast<int8_t>(d(rng));
  }
  return x;
}

float activate(const std::string &act, const std::vector<float> &p, float v) {
  if (act == "Relu")
    return std::max(v, 0.f);
  if (act == "Clip")
    return std::min(std::max(v, p[0]), p[1]);
  if (act == "Sigmoid")
    return 1.f / (1.f + std::exp(-v));
  return v;
}

// Runs the kernel once and checks it against the reference; returns the
// number of outputs compared.
int64_t check_case(const MatMulCase &c, uint32_t seed) {
  std::mt19937 rng(seed);
  const int64_t k = c.a_shape.back(), n = c.n;
  bool u8 = c.a_type == DType::u8;
  Tensor a = random_int(c.a_type, c.a_shape, u8 ? 0 : -128, u8 ? 255 : 127, rng);
  Tensor w = random_int(DType::i8, c.trans_b ? Shape{n, k} : Shape{k, n}, -c.w_max, c.w_max, rng);
  std::vector<float> ws(c.per_column ? n : 1);
  std::uniform_real_distribution<float> us(0.002f, 0.01f), ub(-1.f, 1.f);
  for (float &s : ws)
    s = us(rng);
  std::vector<float> bias(n, 0.f);
  for (float &b : bias)
    b = c.bias ? ub(rng) : 0.f;

  Node node;
  node.name = "mm";
  node.op_type = "QMatMul";
  node.domain = "qtune";
  node.attrs["a_scale"] = c.a_scale;
  node.attrs["a_zero_point"] = int64_t{c.a_zero_point};
  node.attrs["w_scales"] = ws;
  node.attrs["trans_b"] = int64_t{c.trans_b};
  node.attrs["y_dtype"] = std::string(dtype_name(c.y_type));
  node.attrs["y_scale"] = c.y_scale;
  node.attrs["y_zero_point"] = int64_t{c.y_zero_point};
  if (!c.activation.empty()) {
    node.attrs["activation"] = c.activation;
    node.attrs["activation_params"] = c.activation_params;
  }
  std::vector<Tensor> in{a, w};
  if (c.bias)
    in.push_back(Tensor::from_vector<float>({n}, bias));
  auto kernel = make_kernel(node, KernelEnv{});
  auto types = kernel->infer(in);
  Shape want_shape = c.a_shape;
  want_shape.back() = n;
  EXPECT_EQ(types.at(0).shape, want_shape);
  EXPECT_EQ(types.at(0).dtype, c.y_type);
  kernel->prepare(in);
  std::vector<Tensor> out{Tensor(types[0].dtype, types[0].shape)};
  kernel->run(in, out);

  const int64_t m = a.numel() / k;
  int64_t off = 0;
  double max_f32_err = 0;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double acc = bias[j];
      for (int64_t p = 0; p < k; ++p) {
        double av = c.a_scale * (a.get_i64(i * k + p) - c.a_zero_point);
        double wv = ws[c.per_column ? j : 0] * w.get_i64(c.trans_b ? j * k + p : p * n + j);
        acc += av * wv;
      }
      float real = activate(c.activation, c.activation_params, static_cast<float>(acc));
      if (c.y_type == DType::f32) {
        double err = std::abs(out[0].data<float>()[i * n + j] - real) / (1.0 + std::abs(real));
        max_f32_err = std::max(max_f32_err, err);
        continue;
      }
      double lo = c.y_type == DType::u8 ? 0 : -128, hi = c.y_type == DType::u8 ? 255 : 127;
      double want = std::clamp(std::nearbyint(double(real) / c.y_scale) + c.y_zero_point, lo, hi);
      if (std::abs(out[0].get_i64(i * n + j) - want) > 1)
        ++off;
    }
  EXPECT_EQ(off, 0) << "outputs off by more than one step";
  EXPECT_LT(max_f32_err, 1e-4);
  return m * n;
}

TEST(QMatMul, U8ZeroPointPerColumnBiasReluU8) {
  MatMulCase c;
  c.a_shape = {5, 40};
  c.a_zero_point = 130;
  c.n = 24;
  c.activation = "Relu";
  c.y_zero_point = 3;
  c.y_scale = 0.02f;
  EXPECT_EQ(check_case(c, 1), 5 * 24);
}

TEST(QMatMul, BatchedS8TransposedWeightF32Output) {
  MatMulCase c;
  c.a_shape = {2, 3, 4, 32};
  c.a_type = DType::i8;
  c.a_zero_point = 0;
  c.trans_b = true;
  c.per_column = false;
  c.bias = false;
  c.n = 16;
  c.y_type = DType::f32;
  EXPECT_EQ(check_case(c, 2), 2 * 3 * 4 * 16);
}

TEST(QMatMul, VectorInputClipToI8) {
  MatMulCase c;
  c.a_shape = {64};
  c.a_zero_point = 7;
  c.n = 10;
  c.activation = "Clip";
  c.activation_params = {-0.5f, 0.8f};
  c.y_type = DType::i8;
  c.y_scale = 0.01f;
  c.y_zero_point = -10;
  EXPECT_EQ(check_case(c, 3), 10);
}

TEST(QMatMul, FullRangeWeightsWithVnni) {
  if (int8::weights_need_7bit())
    GTEST_SKIP() << "without VNNI full-range weights are halved (see int8_util.h)";
  MatMulCase c;
  c.a_shape = {3, 200};
  c.a_zero_point = 100;
  c.n = 33;
  c.w_max = 127;
  c.activation = "Sigmoid";
  c.y_scale = 1.f / 255;
  EXPECT_EQ(check_case(c, 4), 3 * 33);
}

TEST(QMatMul, RejectsBadInputsNamingNode) {
  Node node;
  node.name = "fc7";
  node.op_type = "QMatMul";
  node.domain = "qtune";
  node.attrs["a_scale"] = 0.1f;
  node.attrs["w_scales"] = std::vector<float>{0.1f};
  node.attrs["y_dtype"] = std::string("f32");
  auto kernel = make_kernel(node, KernelEnv{});
  Tensor w(DType::i8, {4, 3});
  std::vector<Tensor> f32_in{Tensor(DType::f32, {2, 4}), w};
  try {
    kernel->infer(f32_in);
    FAIL() << "float input accepted";
  } catch (const InputError &e) {
    EXPECT_NE(std::string(e.what()).find("fc7"), std::string::npos) << e.what();
  }
  std::vector<Tensor> bad_k{Tensor(DType::u8, {2, 5}), w};
  EXPECT_THROW(kernel->infer(bad_k), InputError);
  Node no_scales = node;
  no_scales.attrs.erase("w_scales");
  EXPECT_THROW(make_kernel(no_scales, KernelEnv{}), InputError);
  for (const char *attr : {"a_scale", "y_dtype"}) {
    Node missing = node;
    missing.attrs.erase(attr);
    try {
      make_kernel(missing, KernelEnv{});
      ADD_FAILURE() << "no error without " << attr;
    } catch (const InputError &e) {
      EXPECT_NE(std::string(e.what()).find("fc7"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(attr), std::string::npos) << e.what();
    }
  }
}

} // namespace
} // namespace qtune
