// quant/compare.h: per-tensor SQNR / relative L2 of a QDQ graph against its FP32
// graph, checked against the formulas applied to ONNX QuantizeLinear /
// DequantizeLinear arithmetic (round half to even, saturate to uint8) by hand.
#include <cmath>
#include <gtest/gtest.h>

#include "../test_util.h"
#include "qdq_builder.h"
#include "quant/compare.h"

namespace qtune {
namespace {

float qdq_value(float x, float s, int zp) {
  float q = std::clamp(std::nearbyint(x / s) + zp, 0.f, 255.f);
  return (q - zp) * s;
}

struct Expected {
  double sig2 = 0, err2 = 0;
  double sqnr() const { return 10 * std::log10(sig2 / err2); }
  double rel() const { return std::sqrt(err2 / sig2); }
  void add(float ref, float got) {
    sig2 += double(ref) * ref, err2 += double(ref - got) * (ref - got);
  }
};

TEST(Compare, QdqTensorsMatchTheFormulas) {
  const float sx = 0.02f, sy = 0.01f;
  const int zx = 128, zy = 0;
  Builder fp;
  fp.input("x");
  fp.node("Relu", {"x"}, "y");
  fp.node("Neg", {"y"}, "out");
  fp.output("out");
  Builder q;
  q.input("x");
  std::string xd = q.qdq("x", sx, zx);
  q.node("Relu", {xd}, "y");
  std::string yd = q.qdq("y", sy, zy);
  q.node("Neg", {yd}, "out");
  q.output("out");

  std::vector<quant::Inputs> inputs;
  Expected ex, ey, eout;
  for (uint32_t seed : {1u, 2u, 3u}) {
    Tensor x = test::random_tensor({4, 64}, seed);
    for (float v : x.span<float>()) {
      float xq = qdq_value(v, sx, zx);
      float y = std::max(v, 0.f), yq = qdq_value(std::max(xq, 0.f), sy, zy);
      ex.add(v, xq), ey.add(y, yq), eout.add(-y, -yq);
    }
    inputs.push_back({{"x", x}});
  }
  quant::CompareResult r = quant::compare_models(fp.g, q.g, inputs, 1, 16);
  EXPECT_EQ(r.samples, 12);     // 3 input sets of batch 4
  ASSERT_EQ(r.rows.size(), 3u); // x and y through Q/DQ, out by name
  std::map<std::string, const quant::TensorError *> by;
  for (const auto &e : r.rows)
    by[e.name] = &e;
  ASSERT_TRUE(by.count("x") && by.count("y") && by.count("out"));
  EXPECT_TRUE(by["x"]->quantized);
  EXPECT_EQ(by["x"]->matched, xd);
  EXPECT_EQ(by["y"]->matched, yd);
  EXPECT_FALSE(by["out"]->quantized);
  EXPECT_NEAR(by["x"]->sqnr_db, ex.sqnr(), 1e-6);
  EXPECT_NEAR(by["x"]->rel_l2, ex.rel(), 1e-9);
  EXPECT_NEAR(by["y"]->sqnr_db, ey.sqnr(), 1e-6);
  EXPECT_NEAR(by["out"]->sqnr_db, eout.sqnr(), 1e-6);
  // Worst first.
  for (size_t i = 1; i < r.rows.size(); ++i)
    EXPECT_LE(r.rows[i - 1].sqnr_db, r.rows[i].sqnr_db);
  // The representable range of x's Q: (0 - 128) * 0.02 .. (255 - 128) * 0.02.
  EXPECT_NEAR(by["x"]->q_lo, -2.56, 1e-6);
  EXPECT_NEAR(by["x"]->q_hi, 2.54, 1e-6);
  int64_t total = 0;
  for (int64_t c : by["x"]->histogram)
    total += c;
  EXPECT_EQ(total, by["x"]->numel); // histogram of the first sample
}

} // namespace
} // namespace qtune
