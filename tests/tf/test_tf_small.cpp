// Small real TensorFlow 1.x models (weights included) imported and run.
#include <cmath>
#include <gtest/gtest.h>
#include <numeric>
#include <set>

#include "frontends/model_loader.h"
#include "tf_run_util.h"

namespace qtune {
namespace {

using test::read_bytes;
using test::shared_data;

// The MNIST MLP on the 10,000 real MNIST digits (pixels / 255, as its training
// script feeds read_data_sets images). Two checks: its softmax equals a direct
// evaluation of the three dense layers from the GraphDef's own weights (TF's
// MatMul + BiasAdd + Relu + Softmax formulas), and it classifies like a
// trained model: the graph is lightly trained (its repository's train.py runs
// a handful of Adam steps) and never predicts 7, so ~60% overall, but over
// 90% on the 1s, 4s and 6s; a layout bug would be near chance everywhere.
TEST(TfSmall, MnistMlpOnRealDigits) {
  auto src = tf::read_frozen_graph(shared_data("tf/small/frozen_mnist_mlp/mnist.pb"));
  tf::ImportOptions opt;
  opt.outputs = {"output", "final_result"};
  Graph g = tf::import_graph(src, opt);
  ASSERT_EQ(g.inputs.size(), 1u);
  EXPECT_EQ(g.inputs[0].name, "x_input");
  auto images = read_bytes(shared_data("mnist/images_10000x28x28_u8.bin"));
  auto labels = read_bytes(shared_data("mnist/labels_10000_u8.bin"));
  const int64_t n = 10000;
  Tensor x(DType::f32, {n, 784});
  for (int64_t i = 0; i < n * 784; ++i)
    x.data<float>()[i] = (uint8_t)images[i] / 255.f;
  auto out = test::run_graph(g, {{"x_input", x}});
  ASSERT_EQ(out[0].numel(), n);
  ASSERT_EQ(out[1].shape(), (Shape{n, 10}));
  std::vector<int> correct(10), total(10);
  for (int64_t i = 0; i < n; ++i) {
    int label = (uint8_t)labels[i];
    total[label]++;
    correct[label] += out[0].get_i64(i) == label;
  }
  int all = std::accumulate(correct.begin(), correct.end(), 0);
  EXPECT_GT(all, n * 0.55) << all << " of " << n;
  for (int k : {1, 4, 6})
    EXPECT_GT(correct[k], total[k] * 0.9) << "digit " << k;

  std::unordered_map<std::string, Tensor> w;
  for (const auto &node : src.graph.node())
    if (node.op() == "Const")
      w[node.name()] = tf::tensor_from_tf(node.attr().at("value").tensor(), node.name());
  auto dense = [&](const std::vector<float> &in, const std::string &layer, bool relu) {
    const Tensor &k = w.at(layer + "/kernel"), &b = w.at(layer + "/bias");
    int64_t ni = k.dim(0), no = k.dim(1);
    std::vector<float> y(no);
    for (int64_t o = 0; o < no; ++o) {
      double acc = b.data<float>()[o];
      for (int64_t i = 0; i < ni; ++i)
        acc += double(in[i]) * k.data<float>()[i * no + o];
      y[o] = relu ? std::max(float(acc), 0.f) : float(acc);
    }
    return y;
  };
  for (int64_t i : {0, 1500, 7100, 9999}) {
    std::vector<float> in(x.data<float>() + i * 784, x.data<float>() + (i + 1) * 784);
    auto logits = dense(dense(dense(in, "dense", true), "dense_1", true), "logit", false);
    float mx = *std::max_element(logits.begin(), logits.end());
    double sum = 0;
    for (float v : logits)
      sum += std::exp(v - mx);
    for (int o = 0; o < 10; ++o)
      EXPECT_NEAR(out[1].data<float>()[i * 10 + o], std::exp(logits[o] - mx) / sum, 1e-5)
          << "image " << i << " class " << o;
  }
}

// The Keras CIFAR CNN (Conv2D VALID, MaxPool, Flatten through Shape ->
// StridedSlice -> Pack -> Reshape, Dense, Softmax), loaded through load_model
// as `qtune` does: every node is an ONNX op, probabilities sum to 1, and a
// batch gives each image the result it gets alone.
TEST(TfSmall, CnnCifar32ThroughLoadModel) {
  std::string path = shared_data("tf/small/frozen_cnn_cifar32/frozen_graph.pb");
  EXPECT_EQ(model_kind(path), "tensorflow-frozen");
  Graph g = load_model(path);
  ASSERT_EQ(g.outputs.size(), 1u);
  EXPECT_EQ(g.outputs[0].name, "dense_1/Softmax");
  for (auto &n : g.nodes)
    EXPECT_TRUE(n.domain.empty()) << n.describe();
  Tensor x = test::random_tensor({3, 32, 32, 3}, 11);
  for (float &v : x.span<float>())
    v = (v + 1) / 2;
  auto out = test::run_graph(g, {{"conv2d_input", x}});
  ASSERT_EQ(out[0].shape(), (Shape{3, 10}));
  auto one = test::run_graph(
      g, {{"conv2d_input", Tensor::from_vector<float>(
                               {1, 32, 32, 3}, std::vector<float>(x.data<float>() + 2 * 3072,
                                                                  x.data<float>() + 3 * 3072))}});
  for (int r = 0; r < 3; ++r) {
    auto row = out[0].span<float>().subspan(r * 10, 10);
    EXPECT_NEAR(std::accumulate(row.begin(), row.end(), 0.0), 1.0, 1e-5);
  }
  for (int k = 0; k < 10; ++k)
    EXPECT_NEAR(one[0].data<float>()[k], out[0].data<float>()[20 + k], 1e-5);
}

// OpenCV's face detector: quint8 weights + Dequantize (MIN_FIRST) fold into
// f32 initializers at import; no Dequantize remains; the detector runs.
TEST(TfSmall, FaceDetectorDequantizeFolds) {
  auto src = tf::read_frozen_graph(shared_data("models/face_ssd_tf/opencv_face_detector_uint8.pb"));
  tf::ImportOptions opt;
  opt.outputs = {"mbox_loc", "mbox_conf_flatten"};
  Graph g = tf::import_graph(src, opt);
  ASSERT_EQ(g.inputs.size(), 1u);
  EXPECT_EQ(g.inputs[0].name, "data");
  for (auto &n : g.nodes)
    EXPECT_NE(n.op_type, "Dequantize") << n.describe();
  size_t big = 0;
  for (auto &[k, t] : g.initializers)
    if (t.numel() > 1000) {
      EXPECT_EQ(t.dtype(), DType::f32) << k;
      ++big;
    }
  EXPECT_GT(big, 20u);

  // Runs end to end (dilated convs through SpaceToBatchND / BatchToSpaceND) at
  // 300x300: 8892 prior boxes (38x38x4 + 19x19x6 + 10x10x6 + 5x5x6 + 5x5x4 +
  // 5x5x4: this graph's conv8_2/conv9_2 are SAME, not the Caffe model's VALID),
  // two class probabilities each.
  Tensor x = test::random_tensor({1, 300, 300, 3}, 12);
  for (float &v : x.span<float>())
    v *= 100;
  auto out = test::run_graph(g, {{"data", x}});
  ASSERT_EQ(out[0].shape(), (Shape{1, 8892 * 4}));
  ASSERT_EQ(out[1].shape(), (Shape{1, 8892 * 2}));
  for (int i = 0; i < 8892; i += 97)
    EXPECT_NEAR(out[1].data<float>()[2 * i] + out[1].data<float>()[2 * i + 1], 1.f, 1e-5);
}

} // namespace
} // namespace qtune

// Without model.outputs, an OD-API export's outputs are its four detection
// tensors: nothing inside a while frame or a tf.cond pivot is taken for one.
TEST(TfAutoOutputs, OdApiExportFindsTheDetectionOutputs) {
  qtune::Graph g = qtune::load_model(qtune::test::shared_data(
      "tf/od_api_weights/aiy_ssd_mobilenet_v1_256_person_cat_dog/frozen_inference_graph.pb"));
  std::set<std::string> names;
  for (const auto &o : g.outputs)
    names.insert(o.name);
  EXPECT_EQ(names, (std::set<std::string>{"detection_boxes", "detection_scores",
                                          "detection_classes", "num_detections"}));
}
