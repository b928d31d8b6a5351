// Paired bootstrap of the loss (tune/bootstrap.h) and how the tuner uses it:
// deterministic per seed, and on a tiny real evaluation set (8 COCO images,
// YOLOX-Nano) the interval is wider than a 1% criterion, which the tuner
// reports, and with accuracy_criterion.confidence a plan whose point estimate
// passes is refused because the interval's upper end does not.
#include <cstdio>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "../test_util.h"
#include "metrics/coco_eval.h"
#include "tiny_sets.h"
#include "tune/bootstrap.h"
#include "tune/config.h"
#include "tune/model_backend.h"
#include "tune/tuner.h"

namespace qtune::tune {
namespace {

metrics::SampleResults coco_samples(const coco::Dataset &gt,
                                    const std::vector<coco::Annotation> &results) {
  metrics::SampleResults s;
  s.reduce = metrics::Reduce::coco_ap;
  s.images = metrics::coco_evaluate(gt, results, metrics::IouType::bbox).image_matches;
  s.num_categories = gt.num_categories();
  return s;
}

class BootstrapCoco : public ::testing::Test {
protected:
  void SetUp() override {
    gt_ =
        coco::load_coco(test::shared_data("coco/val2017_tiny/annotations/instances_val2017.json"));
    auto dets = metrics::load_results_file(
        gt_, test::shared_data("reference/yolox_nano_val2017_tiny.detections.json"));
    baseline_ = coco_samples(gt_, dets);
    // A worse candidate: every box shifted by 3 pixels.
    for (auto &d : dets)
      d.bbox[0] += 3;
    candidate_ = coco_samples(gt_, dets);
  }
  coco::Dataset gt_;
  metrics::SampleResults baseline_, candidate_;
};

TEST_F(BootstrapCoco, DeterministicForASeed) {
  LossUnits relative{true, true};
  LossInterval a = PairedBootstrap(baseline_, relative, 7, 0.9).interval(candidate_);
  LossInterval b = PairedBootstrap(baseline_, relative, 7, 0.9).interval(candidate_);
  LossInterval c = PairedBootstrap(baseline_, relative, 8, 0.9).interval(candidate_);
  EXPECT_EQ(a.low, b.low);
  EXPECT_EQ(a.high, b.high);
  EXPECT_TRUE(a.low != c.low || a.high != c.high);
  EXPECT_EQ(a.loss, c.loss); // the point estimate is the whole set's
  EXPECT_EQ(a.resamples, PairedBootstrap::kDefaultResamples);
  EXPECT_EQ(a.samples, 80u);
  // Shifted boxes lose AP on most images: the whole interval is a loss.
  EXPECT_GT(a.loss, 0);
  EXPECT_GT(a.low, 0);
  EXPECT_LT(a.low, a.loss);
  EXPECT_GT(a.high, a.loss);
  // The point loss is the relative AP difference of the two full evaluations.
  double b_ap = metrics::metric_value(baseline_), c_ap = metrics::metric_value(candidate_);
  EXPECT_DOUBLE_EQ(a.loss, (b_ap - c_ap) / b_ap);
}

TEST_F(BootstrapCoco, SameResultsGiveAZeroInterval) {
  LossInterval i = PairedBootstrap(baseline_, {true, true}, 1, 0.9).interval(baseline_);
  EXPECT_EQ(i.loss, 0);
  EXPECT_EQ(i.low, 0);
  EXPECT_EQ(i.high, 0);
}

TEST(Bootstrap, SamplesNeededScalesWithTheSquaredWidth) {
  LossInterval i;
  i.samples = 80;
  i.low = -0.02;
  i.high = 0.02; // width 4x the 1% target -> 16x the samples
  EXPECT_EQ(samples_needed(i, 0.01), 1280u);
}

std::string tiny_tuning_yaml(const std::filesystem::path &dir, const std::string &criterion) {
  std::string dataset = "{COCORaw: {root: " + dir.string() +
                        ", img_dir: val2017, anno_dir: annotations/instances.json}}";
  return "model: {name: yolox, framework: onnxrt_qlinearops, path: " +
         test::shared_data("models/yolox_nano/yolox_nano.onnx") +
         "}\nquantization:\n  calibration:\n    sampling_size: 2\n    dataloader: {dataset: " +
         dataset + ", transform: " + test::kYoloxTransform +
         "}\nevaluation:\n  accuracy:\n    metric: {COCOmAP: {}}\n    dataloader: {dataset: " +
         dataset + ", transform: " + test::kYoloxTransform +
         "}\n    postprocess: " + test::kYoloxDecoder +
         "\ntuning:\n  accuracy_criterion: " + criterion +
         "\n  objective: modelsize\n  exit_policy: {max_trials: 1}\n  random_seed: 11\n"
         "  workspace: {path: " +
         (dir / "ws").string() + ", resume: true}\n";
}

struct TinyRun {
  TuneResult result;
  std::string progress;
};

TinyRun tune_tiny(const std::filesystem::path &dir, const std::string &criterion,
                  const std::shared_ptr<Graph> &model) {
  Config c = parse_config(tiny_tuning_yaml(dir, criterion), "tiny.yaml");
  ModelBackendSetup setup;
  setup.config = &c;
  setup.fp32 = model;
  setup.model_path = c.model.path;
  auto backend = make_model_backend(setup);
  char *buf = nullptr;
  size_t len = 0;
  std::FILE *progress = open_memstream(&buf, &len);
  TuneOptions opt;
  opt.progress = progress;
  TinyRun r;
  r.result = run_tuning(c, *backend, opt);
  std::fclose(progress);
  r.progress.assign(buf, len);
  std::free(buf);
  return r;
}

TEST(TunerInterval, TinySetWarnsAndConfidenceRejects) {
  auto dir = test::fresh_dir("tiny_interval");
  test::tiny_coco(dir, 8, true);
  auto model = load_model_file(test::shared_data("models/yolox_nano/yolox_nano.onnx"));

  // 1. LPOT's rule: the point estimate decides; the interval is printed and is
  // wider than the 1% criterion on 8 images, which the tuner says.
  TinyRun first = tune_tiny(dir, "{relative: 0.01}", model);
  ASSERT_EQ(first.result.history_trials.size(), 1u);
  const LossInterval iv = first.result.best.interval;
  ASSERT_TRUE(iv.valid);
  EXPECT_EQ(iv.samples, 8u);
  EXPECT_GT(iv.width(), 0.01) << first.progress;
  EXPECT_NE(first.progress.find("(90% CI "), std::string::npos) << first.progress;
  EXPECT_NE(first.progress.find("evaluation set too small to resolve a 1% loss: 8 images; about " +
                                std::to_string(samples_needed(iv, 0.01)) + " needed"),
            std::string::npos)
      << first.progress;
  EXPECT_EQ(first.result.goal_met, iv.loss <= 0.01);

  // 2. A criterion between the point estimate and the interval's upper end:
  // met on the point estimate, refused with confidence 0.9. (The trial and
  // the FP32 baseline come from the workspace: nothing is evaluated again.)
  ASSERT_GT(iv.high, std::max(iv.loss, 0.0));
  double crit = std::max(iv.loss, 0.0) + (iv.high - std::max(iv.loss, 0.0)) / 2;
  std::string rel = "relative: " + std::to_string(crit);
  TinyRun point = tune_tiny(dir, "{" + rel + "}", model);
  EXPECT_TRUE(point.result.goal_met) << point.progress;
  TinyRun confident = tune_tiny(dir, "{" + rel + ", confidence: 0.9}", model);
  EXPECT_FALSE(confident.result.goal_met) << confident.progress;
  EXPECT_EQ(confident.result.full_evaluations, 0);
  EXPECT_EQ(confident.result.best.interval.high, iv.high); // recorded in history.jsonl

  // history.jsonl carries the interval for report generators.
  std::ifstream h(first.result.history);
  std::string line, trial;
  while (std::getline(h, line))
    if (line.find("\"event\":\"trial\"") != std::string::npos)
      trial = line;
  nlohmann::json j = nlohmann::json::parse(trial);
  EXPECT_EQ(j.at("ci_high").get<double>(), iv.high);
  EXPECT_EQ(j.at("ci_low").get<double>(), iv.low);
  EXPECT_EQ(j.at("loss").get<double>(), iv.loss);
  EXPECT_EQ(j.at("confidence").get<double>(), 0.9);
  EXPECT_EQ(j.at("resamples").get<int>(), PairedBootstrap::kDefaultResamples);
  std::filesystem::remove_all(dir);
}

} // namespace
} // namespace qtune::tune
