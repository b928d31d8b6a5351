// save_onnx: the written model passes ONNX's own checker and re-imports with
// the same graph; a legacy-opset model runs the same before and after.
#include <cstring>
#include <filesystem>
#include <gtest/gtest.h>
#include <onnx/checker.h>
#include <random>
#include <unistd.h>

#include "../test_util.h"
#include "frontends/onnx/onnx_import.h"
#include "runtime/executor.h"

namespace fs = std::filesystem;
using namespace qtune;

namespace {

std::map<std::string, int> histogram(const Graph &g) {
  std::map<std::string, int> h;
  for (const auto &n : g.nodes)
    h[n.op_type]++;
  return h;
}

void expect_same_initializers(const Graph &a, const Graph &b) {
  ASSERT_EQ(a.initializers.size(), b.initializers.size());
  for (const auto &[k, t] : a.initializers) {
    const Tensor *u = b.initializer(k);
    ASSERT_TRUE(u) << k;
    ASSERT_EQ(t.dtype(), u->dtype()) << k;
    ASSERT_EQ(t.shape(), u->shape()) << k;
    EXPECT_EQ(0, std::memcmp(t.raw(), u->raw(), t.nbytes())) << k;
  }
}

TEST(OnnxExport, UltrafaceRoundTripPassesCheckerAndRunsTheSame) {
  Graph g = load_onnx(test::shared_data("models/ultraface/version-slim-320.onnx"));
  fs::path dir = fs::temp_directory_path() / ("qtune_export_" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::string out = (dir / "slim.onnx").string();
  save_onnx(g, out);
  EXPECT_NO_THROW(onnx::checker::check_model(out));
  Graph back = load_onnx(out);
  EXPECT_EQ(back.opset, 13);
  expect_same_initializers(g, back);
  EXPECT_EQ(back.inputs.size(), g.inputs.size());
  EXPECT_EQ(back.outputs.size(), g.outputs.size());

  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-1, 1);
  Tensor x(DType::f32, {1, 3, 240, 320});
  for (float &v : x.span<float>())
    v = dist(rng);
  Executor a(std::make_shared<const Graph>(g), ExecutorOptions{1, false});
  Executor b(std::make_shared<const Graph>(back), ExecutorOptions{1, false});
  auto ya = a.run({{"input", x}});
  auto yb = b.run({{"input", x}});
  ASSERT_EQ(ya.size(), yb.size());
  for (size_t k = 0; k < ya.size(); ++k) {
    ASSERT_EQ(ya[k].shape(), yb[k].shape());
    auto p = ya[k].to_f32_vector(), q = yb[k].to_f32_vector();
    for (size_t i = 0; i < p.size(); ++i)
      ASSERT_NEAR(p[i], q[i], 1e-5f) << k << ":" << i;
  }
  fs::remove_all(dir);
}

TEST(OnnxExport, YoloxRoundTripKeepsGraph) {
  Graph g = load_onnx(test::shared_data("models/yolox_nano/yolox_nano.onnx"));
  fs::path dir = fs::temp_directory_path() / ("qtune_export_y_" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::string out = (dir / "yolox.onnx").string();
  save_onnx(g, out);
  EXPECT_NO_THROW(onnx::checker::check_model(out));
  Graph back = load_onnx(out);
  EXPECT_EQ(histogram(g), histogram(back));
  expect_same_initializers(g, back);
  fs::remove_all(dir);
}

} // namespace
