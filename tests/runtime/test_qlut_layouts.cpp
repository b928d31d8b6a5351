// qtune:QLut's two-operand table on oneDNN layouts (int8 conv outputs come
// channels-last): operands in one layout are mapped as they lie and the
// output keeps that layout; a blocked operand next to a plain or broadcast
// one is reordered to plain first. Against T[a * 256 + b] by index arithmetic.
#include <cstring>
#include <dnnl.hpp>
#include <gtest/gtest.h>
#include <random>
#include <vector>

#include "runtime/kernel.h"

namespace qtune {
namespace {

using dnnl::memory;

Tensor random_u8(const Shape &s, uint32_t seed) {
  Tensor t(DType::u8, s);
  std::mt19937 rng(seed);
  for (uint8_t &v : t.span<uint8_t>())
    v = static_cast<uint8_t>(rng());
  return t;
}

// NCHW bytes -> the same tensor laid out as NHWC.
Tensor to_nhwc(const Tensor &x) {
  const Shape &s = x.shape();
  Tensor y(x.dtype(), s);
  const auto *p = x.data<uint8_t>();
  auto *q = y.data<uint8_t>();
  for (int64_t n = 0; n < s[0]; ++n)
    for (int64_t c = 0; c < s[1]; ++c)
      for (int64_t hw = 0; hw < s[2] * s[3]; ++hw)
        q[(n * s[2] * s[3] + hw) * s[1] + c] = p[(n * s[1] + c) * s[2] * s[3] + hw];
  return y;
}

memory::desc nhwc(const Shape &s) {
  return memory::desc({s[0], s[1], s[2], s[3]}, memory::data_type::u8, memory::format_tag::nhwc);
}

// Runs the table on (a, b) given in NCHW, each passed channels-last when
// a_nhwc / b_nhwc; returns the output in NCHW and whether it came blocked.
std::pair<Tensor, bool> run_table(const Tensor &a, const Tensor &b, const Tensor &table,
                                  bool a_nhwc, bool b_nhwc) {
  Node n;
  n.name = "lut", n.op_type = "QLut", n.domain = "qtune";
  n.inputs = {"a", "b", "t"}, n.outputs = {"y"};
  auto k = make_kernel(n, KernelEnv{});
  EXPECT_TRUE(k->accepts_dnnl_layouts());
  memory::desc da = nhwc(a.shape()), db = nhwc(b.shape());
  std::vector<const dnnl_memory_desc_t *> layouts{a_nhwc ? &da.data : nullptr,
                                                  b_nhwc ? &db.data : nullptr, nullptr};
  k->set_input_layouts(layouts);
  std::vector<Tensor> in{a_nhwc ? to_nhwc(a) : a, b_nhwc ? to_nhwc(b) : b, table};
  auto types = k->infer(in);
  k->prepare(in);
  std::vector<Tensor> out{Tensor(types[0].dtype, types[0].shape)};
  k->run(in, out);
  const bool blocked = k->output_layout(0) != nullptr;
  if (!blocked)
    return {out[0], false};
  memory::desc want = da; // the operands' layout with the table's type
  want.data.data_type = table.dtype() == DType::i8 ? dnnl_s8 : dnnl_u8;
  EXPECT_TRUE(memory::desc(*k->output_layout(0)) == want);
  Tensor plain(out[0].dtype(), out[0].shape());
  const Shape &s = out[0].shape();
  const auto *src = static_cast<const uint8_t *>(out[0].raw());
  auto *dst = static_cast<uint8_t *>(plain.raw());
  for (int64_t n = 0; n < s[0]; ++n) // NHWC back to NCHW
    for (int64_t c = 0; c < s[1]; ++c)
      for (int64_t hw = 0; hw < s[2] * s[3]; ++hw)
        dst[(n * s[1] + c) * s[2] * s[3] + hw] = src[(n * s[2] * s[3] + hw) * s[1] + c];
  return {plain, true};
}

int64_t mismatches(const Tensor &a, const Tensor &b, const Tensor &table, const Tensor &y) {
  const Shape &s = y.shape();
  const Shape &bs = b.shape();
  int64_t bad = 0;
  for (int64_t n = 0; n < s[0]; ++n)
    for (int64_t c = 0; c < s[1]; ++c)
      for (int64_t hw = 0; hw < s[2] * s[3]; ++hw) {
        const int64_t i = (n * s[1] + c) * s[2] * s[3] + hw;
        const int64_t j = bs[2] == 1 ? n * bs[1] + c : i; // b broadcast over H, W
        bad += static_cast<const uint8_t *>(y.raw())[i] !=
               static_cast<const uint8_t *>(
                   table.raw())[a.data<uint8_t>()[i] * 256 + b.data<uint8_t>()[j]];
      }
  return bad;
}

TEST(QLutLayouts, TwoOperandTableOnChannelsLastInputs) {
  const Shape s{2, 24, 13, 11};
  Tensor a = random_u8(s, 1), b = random_u8(s, 2), table = random_u8({65536}, 3);
  struct Case {
    bool a_nhwc, b_nhwc, want_blocked;
  };
  for (Case c : {Case{true, true, true}, Case{true, false, false}, Case{false, true, false},
                 Case{false, false, false}}) {
    auto [y, blocked] = run_table(a, b, table, c.a_nhwc, c.b_nhwc);
    EXPECT_EQ(blocked, c.want_blocked) << c.a_nhwc << c.b_nhwc;
    EXPECT_EQ(mismatches(a, b, table, y), 0) << c.a_nhwc << c.b_nhwc;
  }
  // An s8 table (u8 operands requantised to s8): the output layout says s8.
  Tensor s8_table(DType::i8, {65536});
  std::memcpy(s8_table.raw(), table.raw(), 65536);
  auto [ys8, blocked_s8] = run_table(a, b, s8_table, true, true);
  EXPECT_TRUE(blocked_s8);
  EXPECT_EQ(mismatches(a, b, s8_table, ys8), 0);
  // A per-channel operand (as a broadcast Mul): the blocked one goes to plain.
  Tensor v = random_u8({2, 24, 1, 1}, 4);
  auto [y, blocked] = run_table(a, v, table, true, false);
  EXPECT_FALSE(blocked);
  EXPECT_EQ(mismatches(a, v, table, y), 0);
}

} // namespace
} // namespace qtune
