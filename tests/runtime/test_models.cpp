// Whole-model checks on the shared real models: UltraFace and MNIST load and
// run, MNIST accuracy on real digits, input errors, thread-count invariance.
#include <fstream>
#include <gtest/gtest.h>

#include "../test_util.h"
#include "frontends/onnx/onnx_import.h"
#include "model_helpers.h"
#include "qtune/error.h"
#include "runtime/executor.h"

namespace qtune {
namespace {

std::shared_ptr<const Graph> load(const std::string &rel) {
  return std::make_shared<const Graph>(load_onnx(test::shared_data(rel)));
}

Shape concrete_shape(const ValueInfo &vi, int64_t batch) {
  Shape s;
  for (const Dim &d : vi.dims)
    s.push_back(d.known() ? d.value : batch);
  return s;
}

Tensor pattern(Shape shape) {
  Tensor t(DType::f32, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i)
    t.data<float>()[i] = float((i * 7919) % 255) / 255.f;
  return t;
}

void check_ultraface(const std::string &rel) {
  auto g = load(rel);
  Executor ex(g, {.threads = 2});
  auto out = ex.run({{g->inputs[0].name, pattern({1, 3, 240, 320})}});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].shape(), (Shape{1, 4420, 2}));
  EXPECT_EQ(out[1].shape(), (Shape{1, 4420, 4}));
  // Scores are a softmax over (background, face).
  for (int64_t a = 0; a < 4420; ++a) {
    float p0 = out[0].data<float>()[2 * a], p1 = out[0].data<float>()[2 * a + 1];
    ASSERT_NEAR(p0 + p1, 1.f, 1e-4) << "anchor " << a;
    ASSERT_GE(p0, 0.f);
  }
}

TEST(Models, UltraFaceRfb) {
  check_ultraface("models/ultraface/version-RFB-320.onnx");
}
TEST(Models, UltraFaceSlim) {
  check_ultraface("models/ultraface/version-slim-320.onnx");
}

struct Digits {
  std::vector<uint8_t> images, labels;
};

const Digits &digits() {
  static Digits d = [] {
    Digits r;
    r.images.resize(10000 * 784);
    r.labels.resize(10000);
    std::ifstream fi(test::shared_data("mnist/images_10000x28x28_u8.bin"), std::ios::binary);
    fi.read(reinterpret_cast<char *>(r.images.data()), r.images.size());
    std::ifstream fl(test::shared_data("mnist/labels_10000_u8.bin"), std::ios::binary);
    fl.read(reinterpret_cast<char *>(r.labels.data()), r.labels.size());
    return r;
  }();
  return d;
}

// Top-1 accuracy on the first `count` digits; `nhwc` models take x/255,
// the zuramai model (x/255-0.5)/0.5 in NCHW.
double mnist_accuracy(const std::string &rel, bool nhwc, int count) {
  auto g = load(rel);
  Executor ex(g, {.threads = 2});
  const ValueInfo &in = g->inputs[0];
  int correct = 0;
  for (int i = 0; i < count; ++i) {
    Tensor x(DType::f32, concrete_shape(in, 1));
    EXPECT_EQ(x.numel(), 784);
    for (int p = 0; p < 784; ++p) {
      float v = digits().images[size_t(i) * 784 + p] / 255.f;
      x.data<float>()[p] = nhwc ? v : (v - 0.5f) / 0.5f;
    }
    auto out = ex.run({{in.name, x}});
    const float *s = out[0].data<float>();
    EXPECT_EQ(out[0].numel(), 10);
    int best = int(std::max_element(s, s + 10) - s);
    correct += best == digits().labels[i];
  }
  return double(correct) / count;
}

TEST(Models, MnistZuramaiAccuracy) {
  EXPECT_GE(mnist_accuracy("models/mnist/zuramai/mnist.onnx", false, 1000), 0.98);
}
// The wuhanstudio models are tiny keras models; we measured 0.868 (sm) and
// 0.914 (lg) on the first 1000 digits but have no ONNX Runtime accuracy for
// them yet, so these floors only catch gross breakage.
TEST(Models, MnistWuhanstudioSmallAccuracy) {
  EXPECT_GE(mnist_accuracy("models/mnist/wuhanstudio_mnist-sm.onnx", true, 1000), 0.85);
}
TEST(Models, MnistWuhanstudioLargeAccuracy) {
  EXPECT_GE(mnist_accuracy("models/mnist/wuhanstudio_mnist-lg.onnx", true, 1000), 0.90);
}

TEST(Executor, InputErrorsNameTheInput) {
  auto g = load("models/ultraface/version-slim-320.onnx");
  Executor ex(g);
  const std::string name = g->inputs[0].name;
  try {
    ex.run({});
    FAIL() << "missing input accepted";
  } catch (const InputError &e) {
    EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos) << e.what();
  }
  try {
    ex.run({{name, pattern({1, 3, 120, 320})}});
    FAIL() << "wrong shape accepted";
  } catch (const InputError &e) {
    EXPECT_NE(std::string(e.what()).find("[1,3,120,320]"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("240"), std::string::npos) << e.what();
  }
  try {
    ex.run({{name, Tensor(DType::i64, {1, 3, 240, 320})}});
    FAIL() << "wrong dtype accepted";
  } catch (const InputError &e) {
    EXPECT_NE(std::string(e.what()).find("i64"), std::string::npos) << e.what();
  }
  // After the errors the executor still works.
  EXPECT_EQ(ex.run({{name, pattern({1, 3, 240, 320})}}).size(), 2u);
}

TEST(Executor, OneAndTwoThreadsAgree) {
  auto g = load("models/ultraface/version-RFB-320.onnx");
  Tensor x = pattern({1, 3, 240, 320});
  Executor one(g, {.threads = 1}), two(g, {.threads = 2});
  auto a = one.run({{g->inputs[0].name, x}});
  auto b = two.run({{g->inputs[0].name, x}});
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_LT(test::max_abs_diff(a[i], b[i]), 1e-5);
}

TEST(Executor, ArenaReusesBuffersAndHookSeesPlainOutputs) {
  auto g = load("models/ultraface/version-slim-320.onnx");
  Executor ex(g);
  Tensor x = pattern({1, 3, 240, 320});
  auto ref = ex.run({{g->inputs[0].name, x}});
  ex.run({{g->inputs[0].name, x}});
  EXPECT_GT(ex.activation_bytes(), 0u);
  EXPECT_LT(ex.arena_bytes(), ex.activation_bytes() / 2);
  int calls = 0;
  ex.set_node_hook([&](const Node &n, std::span<const Tensor> outs) {
    ++calls;
    for (const Tensor &t : outs)
      EXPECT_TRUE(!t.defined() || t.raw() != nullptr) << n.name;
  });
  auto hooked = ex.run({{g->inputs[0].name, x}});
  EXPECT_EQ(calls, int(g->nodes.size()));
  EXPECT_LT(test::max_abs_diff(hooked[0], ref[0]), 1e-6);
}

} // namespace
} // namespace qtune
