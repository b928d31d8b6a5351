// optimize_graph on the real models: fusions fire and outputs stay the same
// (YOLOX-Nano against ONNX Runtime's output, UltraFace against the unoptimized graph).
#include <fstream>
#include <gtest/gtest.h>
#include <random>

#include "../test_util.h"
#include "frontends/onnx/onnx_import.h"
#include "runtime/executor.h"
#include "runtime/fold_constants.h"

using namespace qtune;

namespace {

Tensor read_f32(const std::string &path, Shape shape) {
  Tensor t(DType::f32, std::move(shape));
  std::ifstream in(path, std::ios::binary);
  in.read(static_cast<char *>(t.raw()), static_cast<std::streamsize>(t.nbytes()));
  EXPECT_EQ(static_cast<size_t>(in.gcount()), t.nbytes()) << path;
  return t;
}

int count_op(const Graph &g, const std::string &op) {
  int c = 0;
  for (const auto &n : g.nodes)
    c += n.op_type == op;
  return c;
}

TEST(OptimizeModels, YoloxNanoFusedMatchesOnnxRuntime) {
  Graph g = load_onnx(test::shared_data("models/yolox_nano/yolox_nano.onnx"));
  optimize_graph_with_runtime(g, OptimizeLevel::all);
  EXPECT_LE(count_op(g, "Conv"), 3); // head convs feeding Sigmoid and Concat stay plain
  EXPECT_GT(count_op(g, "FusedConv"), 100);
  EXPECT_LT(count_op(g, "Sigmoid"), 10); // SiLUs fused, only the head's sigmoids stay
  Tensor x = read_f32(test::shared_data("reference/yolox_nano_dog.input.f32"), {1, 3, 416, 416});
  Tensor ref = read_f32(test::shared_data("reference/yolox_nano_dog.output.f32"), {1, 3549, 85});
  Executor ex(std::make_shared<const Graph>(g), ExecutorOptions{2, false});
  auto y = ex.run({{"images", x}});
  ASSERT_EQ(y.size(), 1u);
  ASSERT_EQ(y[0].shape(), ref.shape());
  float worst = 0;
  for (int64_t i = 0; i < ref.numel(); ++i)
    worst = std::max(worst, std::abs(y[0].data<float>()[i] - ref.data<float>()[i]));
  EXPECT_LT(worst, 1e-3f);
}

TEST(OptimizeModels, UltrafaceBatchNormFoldedSameOutputs) {
  Graph g = load_onnx(test::shared_data("models/ultraface/version-RFB-320.onnx"));
  Graph opt = g;
  optimize_graph_with_runtime(opt, OptimizeLevel::all);
  EXPECT_GT(count_op(g, "BatchNormalization"), 0);
  EXPECT_EQ(count_op(opt, "BatchNormalization"), 0);
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> dist(-1, 1);
  Tensor x(DType::f32, {1, 3, 240, 320});
  for (float &v : x.span<float>())
    v = dist(rng);
  Executor a(std::make_shared<const Graph>(g), ExecutorOptions{2, false});
  Executor b(std::make_shared<const Graph>(opt), ExecutorOptions{2, false});
  auto ya = a.run({{"input", x}});
  auto yb = b.run({{"input", x}});
  ASSERT_EQ(ya.size(), yb.size());
  for (size_t k = 0; k < ya.size(); ++k) {
    auto p = ya[k].to_f32_vector(), q = yb[k].to_f32_vector();
    ASSERT_EQ(p.size(), q.size());
    for (size_t i = 0; i < p.size(); ++i)
      ASSERT_NEAR(p[i], q[i], 1e-4f) << k << ":" << i;
  }
}

} // namespace
