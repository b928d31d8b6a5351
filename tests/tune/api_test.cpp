// The C++ API: a user eval_func (not the YAML's metric) drives the search, and
// a user DataLoader feeds calibration. The eval_func here judges candidates by
// real top-1 on Fashion-MNIST test images but also refuses any model whose
// first Conv runs in int8, so the only way to meet the goal is the plan the
// function asks for: the search must follow it.
#include <filesystem>
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include "../test_util.h"
#include "ir/graph.h"
#include "qtune/qtune.h"

namespace qtune {
namespace {

namespace fs = std::filesystem;

std::vector<uint8_t> read_idx_gz(const std::string &path, size_t header) {
  gzFile f = gzopen(path.c_str(), "rb");
  EXPECT_TRUE(f) << path;
  std::vector<uint8_t> all(1 << 20);
  size_t n = 0;
  int got;
  while ((got = gzread(f, all.data() + n, static_cast<unsigned>(all.size() - n))) > 0) {
    n += static_cast<size_t>(got);
    if (n == all.size())
      all.resize(all.size() * 2);
  }
  gzclose(f);
  return {all.begin() + static_cast<long>(header), all.begin() + static_cast<long>(n)};
}

Tensor images(const std::vector<uint8_t> &px, size_t first, size_t count) {
  Tensor t(DType::f32, {static_cast<int64_t>(count), 1, 28, 28});
  for (size_t i = 0; i < count * 784; ++i)
    t.data<float>()[i] = px[first * 784 + i] / 255.0f;
  return t;
}

// Whether the Conv that reads the graph input is fed through DequantizeLinear
// (QDQ form) or was lowered to a quantized conv.
bool first_conv_is_int8(const Graph &g) {
  auto producers = g.producers();
  for (const auto &n : g.nodes) {
    if (n.op_type.find("Conv") == std::string::npos)
      continue;
    if (n.op_type != "Conv" && n.op_type != "FusedConv")
      return true; // lowered int8 conv
    auto it = producers.find(n.inputs[0]);
    return it != producers.end() && g.nodes[it->second].op_type == "DequantizeLinear";
  }
  return false;
}

TEST(Api, UserEvalFuncDrivesTheSearch) {
  const std::string dir = qtune::test::fashion_mnist();
  auto train = read_idx_gz(dir + "train-images-idx3-ubyte.gz", 16);
  auto test_px = read_idx_gz(dir + "t10k-images-idx3-ubyte.gz", 16);
  auto labels = read_idx_gz(dir + "t10k-labels-idx1-ubyte.gz", 8);

  CallbackDataLoader calib([&](size_t i) -> std::optional<Batch> {
    if (i >= 4)
      return std::nullopt;
    return Batch{{"image", images(train, i * 32, 32)}};
  });
  int calls = 0, int8_first_conv_seen = 0;
  EvalFunc eval = [&](Model &m) {
    ++calls;
    int correct = 0;
    for (size_t b = 0; b < 500; b += 100) {
      auto out = m.run({{"image", images(test_px, b, 100)}});
      for (size_t i = 0; i < 100; ++i) {
        const float *l = out[0].data<float>() + i * 10;
        int best = static_cast<int>(std::max_element(l, l + 10) - l);
        correct += best == labels[b + i];
      }
    }
    double acc = correct / 500.0;
    if (first_conv_is_int8(m.graph())) {
      ++int8_first_conv_seen;
      return acc - 0.5; // "unacceptable" for this user
    }
    return acc;
  };

  std::string ws = (fs::temp_directory_path() / "qtune_tune_test_api").string();
  fs::remove_all(ws);
  Quantization q(test::source_dir("examples/fashion_mnist/fashion_mnist.yaml"));
  q.set_workspace(ws);
  q.set_progress(nullptr);
  q.set_strategy("basic");
  Model fp32(test::source_dir("examples/fashion_mnist/fashion_mnist_cnn.onnx"));
  Model best = q(fp32, calib, eval);

  const TuneSummary &s = q.summary();
  EXPECT_TRUE(s.goal_met);
  EXPECT_EQ(calls, s.full_evaluations);           // every evaluation went through eval_func
  EXPECT_GE(int8_first_conv_seen, 1);             // the all-int8 trial was rejected ...
  EXPECT_FALSE(first_conv_is_int8(best.graph())); // ... and the result follows the user
  EXPECT_GE(s.ops_int8, 1);
  EXPECT_TRUE(fs::exists(s.output));
  EXPECT_GT(s.best_accuracy, 0.8);
}

// Top-1 of `model` on test images [first, first + count), by the test itself.
double top1(Model &m, const std::vector<uint8_t> &px, const std::vector<uint8_t> &labels,
            size_t first, size_t count) {
  auto out = m.run({{"image", images(px, first, count)}});
  int correct = 0;
  for (size_t i = 0; i < count; ++i) {
    const float *l = out[0].data<float>() + i * 10;
    correct += std::max_element(l, l + 10) - l == labels[first + i];
  }
  return correct / double(count);
}

// Two different eval_funcs on one workspace: the second run's FP32 baseline is
// its own function's value, not the first one's cached result; a named
// eval_func reuses the baseline of an earlier run with that name.
TEST(Api, EvalFuncBaselineCacheIsKeyedByTheFunction) {
  const std::string dir = qtune::test::fashion_mnist();
  auto train = read_idx_gz(dir + "train-images-idx3-ubyte.gz", 16);
  auto test_px = read_idx_gz(dir + "t10k-images-idx3-ubyte.gz", 16);
  auto labels = read_idx_gz(dir + "t10k-labels-idx1-ubyte.gz", 8);
  CallbackDataLoader calib([&](size_t i) -> std::optional<Batch> {
    if (i >= 2)
      return std::nullopt;
    return Batch{{"image", images(train, i * 32, 32)}};
  });
  // Two evaluators that disagree on the FP32 model: different test images.
  EvalFunc on_first = [&](Model &m) { return top1(m, test_px, labels, 0, 200); };
  EvalFunc on_second = [&](Model &m) { return top1(m, test_px, labels, 5000, 300); };
  Model fp32(test::source_dir("examples/fashion_mnist/fashion_mnist_cnn.onnx"));
  const double first_fp32 = on_first(fp32), second_fp32 = on_second(fp32);
  ASSERT_NE(first_fp32, second_fp32);

  std::string ws =
      (fs::temp_directory_path() / ("qtune_api_cache_" + std::to_string(::getpid()))).string();
  fs::remove_all(ws);
  auto baseline = [&](const EvalFunc &eval, const std::string &name) {
    Quantization q(test::source_dir("examples/fashion_mnist/fashion_mnist.yaml"));
    q.set_workspace(ws);
    q.set_output(ws + "/out.onnx");
    q.set_progress(nullptr);
    q.set_strategy("basic");
    q.set_max_trials(1);
    if (!name.empty())
      q.set_eval_name(name);
    q(fp32, calib, eval);
    return q.summary().baseline_accuracy;
  };
  EXPECT_EQ(baseline(on_first, ""), first_fp32);
  EXPECT_EQ(baseline(on_second, ""), second_fp32); // was first_fp32: one constant key
  EXPECT_EQ(baseline(on_first, "top1"), first_fp32);
  // Same name: the user says it is the same function, the cache answers.
  EXPECT_EQ(baseline(on_second, "top1"), first_fp32);
  EXPECT_EQ(baseline(on_second, "top1-second"), second_fp32);
  fs::remove_all(ws);
}

} // namespace
} // namespace qtune
