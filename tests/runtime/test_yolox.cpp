// YOLOX-Nano against ONNX Runtime's FP32 output for the shared dog image.
#include <gtest/gtest.h>

#include "../test_util.h"
#include "frontends/onnx/onnx_import.h"
#include "model_helpers.h"
#include "runtime/executor.h"
#include "runtime/fold_constants.h"

namespace qtune {
namespace {

struct YoloxData {
  Tensor input, expected;
};

const YoloxData &yolox_data() {
  static YoloxData d{
      test::read_f32(test::shared_data("reference/yolox_nano_dog.input.f32"), {1, 3, 416, 416}),
      test::read_f32(test::shared_data("reference/yolox_nano_dog.output.f32"), {1, 3549, 85})};
  return d;
}

std::shared_ptr<const Graph> yolox_graph() {
  static auto g = std::make_shared<const Graph>(
      load_onnx(test::shared_data("models/yolox_nano/yolox_nano.onnx")));
  return g;
}

TEST(Yolox, MatchesOnnxRuntime) {
  Executor ex(yolox_graph(), {.threads = 2});
  auto out = ex.run({{"images", yolox_data().input}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shape(), (Shape{1, 3549, 85}));
  EXPECT_LT(test::max_abs_diff(out[0], yolox_data().expected), 1e-3);
  // The second run uses the planned arena instead of fresh buffers.
  auto again = ex.run({{"images", yolox_data().input}});
  EXPECT_LT(test::max_abs_diff(again[0], yolox_data().expected), 1e-3);
  EXPECT_LT(ex.arena_bytes(), ex.activation_bytes());
}

// Same reference after BN folding, SiLU/activation and residual fusion
// (qtune:FusedConv with oneDNN post-ops).
TEST(Yolox, FusedMatchesOnnxRuntime) {
  auto g = std::make_shared<Graph>(*yolox_graph());
  optimize_graph_with_runtime(*g);
  bool fused = false, residual = false;
  for (const Node &n : g->nodes) {
    fused = fused || n.op_type == "FusedConv";
    residual = residual || n.attr_int("sum", 0) != 0;
  }
  EXPECT_TRUE(fused);
  EXPECT_TRUE(residual); // the CSP bottlenecks' shortcut adds
  Executor ex(g, {.threads = 2});
  auto out = ex.run({{"images", yolox_data().input}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_LT(test::max_abs_diff(out[0], yolox_data().expected), 1e-3);
  // Planned arena: a residual conv now writes over its addend in place.
  auto again = ex.run({{"images", yolox_data().input}});
  EXPECT_LT(test::max_abs_diff(again[0], yolox_data().expected), 1e-3);
}

} // namespace
} // namespace qtune
