// Every metric name evaluation.accuracy.metric accepts either runs (FP32 and an
// all-int8 plan evaluated through the real backend on small real sets) or is
// refused at load with file:line:column. Values are checked against what the
// metric must give by definition (FP32 against itself, relations between
// metrics, the model's known accuracy), not against earlier output of ours.
#include <cmath>
#include <gtest/gtest.h>

#include "../test_util.h"
#include "frontends/onnx/onnx_import.h"
#include "qtune/error.h"
#include "runtime/executor.h"
#include "tiny_sets.h"
#include "tune/config.h"
#include "tune/evaluate_model.h"
#include "tune/model_backend.h"
#include "tune/tuner.h"

namespace qtune::tune {
namespace {

struct Scores {
  double fp32 = 0, int8 = 0;
  size_t samples = 0;
};

std::string mnist_yaml(const std::string &dataset, const std::string &metric,
                       const std::string &criterion, const std::string &workspace) {
  return "model: {name: fm, framework: onnxrt_qdq, path: " +
         test::source_dir("examples/fashion_mnist/fashion_mnist_cnn.onnx") +
         "}\n"
         "quantization:\n  calibration:\n    sampling_size: 32\n    dataloader:\n"
         "      batch_size: 16\n      dataset: " +
         dataset +
         "\n      transform: {Rescale: {scale: 0.00392156862745098}, Layout: {layout: NCHW}}\n"
         "evaluation:\n  accuracy:\n    metric: " +
         metric + "\n    dataloader:\n      batch_size: 16\n      dataset: " + dataset +
         "\n      transform: {Rescale: {scale: 0.00392156862745098}, Layout: {layout: NCHW}}\n"
         "tuning:\n  accuracy_criterion: " +
         criterion + "\n  workspace: {path: " + workspace + "}\n";
}

Scores run_both(const Config &c) {
  ModelBackendSetup setup;
  setup.config = &c;
  setup.fp32 = load_model_file(c.model.path);
  setup.model_path = c.model.path;
  auto backend = make_model_backend(setup);
  Scores s;
  s.fp32 = backend->evaluate(nullptr);
  s.samples = backend->sample_results()->size();
  auto space = quant_space(c.quantization, backend->supported_options());
  TunePlan plan = preferred_plan(backend->quantizable_ops(), space.front());
  s.int8 = backend->evaluate(&plan);
  return s;
}

// One Fashion-MNIST sample as the YAML's transform gives it (Rescale 1/255, NCHW).
Tensor mnist_input(const data::Sample &smp) {
  Tensor in(DType::f32, {1, 1, 28, 28});
  for (size_t q = 0; q < 784; ++q)
    in.data<float>()[q] = smp.image->pixels[q] * 0.00392156862745098f;
  return in;
}

class MetricNames : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = test::fresh_dir("metric_names");
    dataset_ = test::tiny_fashion_mnist(dir_, 64);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  Scores run(const std::string &metric, const std::string &criterion = "{relative: 0.01}") {
    Config c = parse_config(mnist_yaml(dataset_, metric, criterion, (dir_ / "ws").string()),
                            "metric.yaml");
    return run_both(c);
  }
  std::string load_error(const std::string &metric, const std::string &criterion) {
    try {
      parse_config(mnist_yaml(dataset_, metric, criterion, (dir_ / "ws").string()), "metric.yaml");
    } catch (const InputError &e) {
      return e.what();
    }
    return "";
  }
  std::filesystem::path dir_;
  std::string dataset_;
};

TEST_F(MetricNames, TopkAndAccuracyAgreeOnTop1) {
  Scores topk = run("{topk: 1}");
  Scores acc = run("{Accuracy: {}}");
  EXPECT_EQ(topk.samples, 64u);
  EXPECT_EQ(topk.fp32, acc.fp32);
  EXPECT_EQ(topk.int8, acc.int8);
  EXPECT_GT(topk.fp32, 0.8); // the example CNN's test accuracy is ~0.9
  Scores top5 = run("{topk: 5}");
  EXPECT_GE(top5.fp32, topk.fp32);
}

TEST_F(MetricNames, FidelityTop1IsOneForFp32) {
  Scores s = run("{FidelityTop1: {}}");
  EXPECT_EQ(s.fp32, 1.0);
  EXPECT_GT(s.int8, 0.9);
  EXPECT_LE(s.int8, 1.0);
}

TEST_F(MetricNames, OutputErrorsAgainstFp32) {
  Scores l2 = run("{FidelityRelativeL2: {}}", "{absolute: 0.05}");
  Scores mse = run("{MSE: {compare_label: false}}", "{absolute: 0.05}");
  Scores rmse = run("{RMSE: {compare_label: false}}", "{absolute: 0.05}");
  Scores mae = run("{MAE: {compare_label: false}}", "{absolute: 0.05}");
  for (const Scores *s : {&l2, &mse, &rmse, &mae})
    EXPECT_EQ(s->fp32, 0.0); // FP32 against itself
  EXPECT_GT(l2.int8, 0);
  EXPECT_LT(l2.int8, 0.2);
  EXPECT_GT(mse.int8, 0);
  EXPECT_DOUBLE_EQ(rmse.int8, std::sqrt(mse.int8));
  EXPECT_LE(mae.int8, rmse.int8); // mean |e| <= sqrt(mean e^2)
  EXPECT_GT(mae.int8, 0);
}

TEST_F(MetricNames, LossIsTheMeanOfTheModelsFirstOutput) {
  // The CNN's logits summed per sample, averaged: computed here directly.
  Config c = parse_config(
      mnist_yaml(dataset_, "{Loss: {}}", "{absolute: 1.0}", (dir_ / "ws").string()), "metric.yaml");
  EXPECT_FALSE(c.tuning.higher_is_better); // a loss, unless the YAML says otherwise
  Scores s = run_both(c);
  auto g = load_model_file(c.model.path);
  Executor ex(g);
  data::MnistDataset set((dir_ / "images.raw").string(), (dir_ / "labels.raw").string());
  double sum = 0;
  for (size_t i = 0; i < set.size(); ++i) {
    std::vector<Tensor> out = ex.run({{"image", mnist_input(set.get(i))}});
    for (float v : out.at(0).span<float>())
      sum += v;
  }
  EXPECT_NEAR(s.fp32, sum / double(set.size()), 1e-4 * std::fabs(sum / double(set.size())) + 1e-6);
}

// `qtune evaluate --model other.onnx` with a label-free metric scores the other
// model against the YAML's model.path (the FP32 model), and the FP32 model
// alone against itself. The other model here is the CNN with its first conv's
// weights disturbed; top-1 agreement is counted directly.
TEST_F(MetricNames, EvaluateScoresAnotherModelAgainstTheYamlsModel) {
  Config c = parse_config(
      mnist_yaml(dataset_, "{FidelityTop1: {}}", "{relative: 0.01}", (dir_ / "ws").string()),
      "metric.yaml");
  auto fp32 = load_model_file(c.model.path);
  auto other = load_model_file(c.model.path); // tensors share storage when copied
  for (const Node &n : other->nodes)
    if (n.op_type == "Conv") {
      Tensor &w = other->initializers.at(n.inputs[1]);
      float *p = w.data<float>();
      for (int64_t i = 0; i < w.numel(); ++i)
        p[i] *= 1.0f + 2.0f * std::sin(float(i)); // flips signs: answers change
      break;
    }
  const std::string other_path = (dir_ / "disturbed.onnx").string();
  save_onnx(*other, other_path);

  Executor a(fp32), b(other);
  data::MnistDataset set((dir_ / "images.raw").string(), (dir_ / "labels.raw").string());
  size_t agree = 0;
  for (size_t i = 0; i < set.size(); ++i) {
    const Tensor in = mnist_input(set.get(i));
    auto top1 = [&](Executor &e) {
      std::vector<Tensor> out = e.run({{"image", in}});
      std::span<const float> v = out.at(0).span<float>();
      return std::max_element(v.begin(), v.end()) - v.begin();
    };
    agree += top1(a) == top1(b);
  }
  const double expected = double(agree) / double(set.size());
  ASSERT_LT(expected, 1.0); // the disturbance must change some answers
  ASSERT_GT(expected, 0.0);

  ModelEvaluationOptions o;
  o.model = other_path;
  EXPECT_DOUBLE_EQ(evaluate_model(c, o).result.value, expected);
  EXPECT_EQ(evaluate_model(c, {}).result.value, 1.0);
}

TEST_F(MetricNames, RefusedAtLoadWithTheirPlace) {
  std::string e = load_error("{MSE: {}}", "{absolute: 0.1}");
  EXPECT_NE(e.find("metric.yaml:"), std::string::npos) << e;
  EXPECT_NE(e.find("compare_label: false"), std::string::npos) << e;
  e = load_error("{RMSE: {compare_label: true}}", "{absolute: 0.1}");
  EXPECT_NE(e.find("compare_label"), std::string::npos) << e;
  e = load_error("{FidelityRelativeL2: {}}", "{relative: 0.01}");
  EXPECT_NE(e.find("absolute"), std::string::npos) << e;
  e = load_error("{MSE: {compare_label: false}}", "{absolute: 0.1, higher_is_better: true}");
  EXPECT_NE(e.find("lower-is-better"), std::string::npos) << e;
  e = load_error("{FidelityCOCOmAP: {score_threshold: 1.5}}", "{relative: 0.01}");
  EXPECT_NE(e.find("score_threshold"), std::string::npos) << e;
  e = load_error("{Accuracy: {top: 2}}", "{relative: 0.01}");
  EXPECT_NE(e.find("takes no parameters"), std::string::npos) << e;
  e = load_error("{mAP: {}}", "{relative: 0.01}");
  EXPECT_NE(e.find("metric.yaml:"), std::string::npos) << e;
}

// FidelityCOCOmAP on 4 COCO images with YOLOX-Nano, from a folder without any
// annotation file (COCOmAP runs in the tuning tests: bootstrap_test.cpp and the
// CLI tests).
std::string coco_yaml(const std::filesystem::path &dir, const std::string &metric,
                      const std::string &anno) {
  std::string dataset =
      "{COCORaw: {root: " + dir.string() + ", img_dir: val2017, anno_dir: " + anno + "}}";
  return "model: {name: yolox, framework: onnxrt_qlinearops, path: " +
         test::shared_data("models/yolox_nano/yolox_nano.onnx") +
         "}\nquantization:\n  calibration:\n    sampling_size: 2\n    dataloader: {dataset: " +
         dataset + ", transform: " + test::kYoloxTransform +
         "}\nevaluation:\n  accuracy:\n    metric: " + metric +
         "\n    dataloader: {dataset: " + dataset + ", transform: " + test::kYoloxTransform +
         "}\n    postprocess: " + test::kYoloxDecoder +
         "\ntuning:\n  workspace: {path: " + (dir / "ws").string() + "}\n";
}

TEST(MetricNamesCoco, LabelFreeFidelityCocoMap) {
  auto dir = test::fresh_dir("metric_names_coco");
  test::tiny_coco(dir / "unlabelled", 4, false);
  ASSERT_FALSE(std::filesystem::exists(dir / "unlabelled/annotations"));
  Scores fid = run_both(parse_config(
      coco_yaml(dir / "unlabelled", "{FidelityCOCOmAP: {score_threshold: 0.3}}", "null"),
      "coco.yaml"));
  EXPECT_EQ(fid.samples, 4u);
  // FP32's detections >= 0.3 are its own best matches at every IoU threshold.
  EXPECT_NEAR(fid.fp32, 1.0, 1e-9);
  EXPECT_LT(fid.int8, fid.fp32);
  EXPECT_GT(fid.int8, 0.2);
  std::filesystem::remove_all(dir);
}

} // namespace
} // namespace qtune::tune
