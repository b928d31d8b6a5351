// The LPOT YAML loader: the seed's own YAML loads unchanged, defaults are
// LPOT's, and bad input fails with the key path / file:line:column.
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>

#include "../test_util.h"
#include "qtune/error.h"
#include "tune/config.h"

namespace qtune::tune {
namespace {

// The ```yaml block under "Write Yaml config file" in the seed walkthrough.
std::string seed_yaml() {
  std::ifstream in("/work/shared/seed/lpot_ssd_resnet50_v1_example.md");
  if (!in)
    in.open(test::shared_data("../seed/lpot_ssd_resnet50_v1_example.md"));
  EXPECT_TRUE(in.good()) << "seed walkthrough not found";
  std::stringstream ss;
  ss << in.rdbuf();
  std::string md = ss.str();
  size_t section = md.find("Write Yaml config file");
  EXPECT_NE(section, std::string::npos);
  size_t begin = md.find("```yaml\n", section);
  EXPECT_NE(begin, std::string::npos);
  begin += 8;
  size_t end = md.find("```", begin);
  return md.substr(begin, end - begin);
}

std::string error_of(const std::string &yaml) {
  try {
    parse_config(yaml, "conf.yaml");
  } catch (const InputError &e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Config, SeedYamlLoadsUnchanged) {
  Config c = parse_config(seed_yaml(), "seed.yaml");
  EXPECT_EQ(c.model.name, "ssd_resnet50_v1");
  EXPECT_EQ(c.model.framework, "tensorflow");
  EXPECT_EQ(c.model.inputs, std::vector<std::string>{"image_tensor"});
  EXPECT_EQ(c.model.outputs, (std::vector<std::string>{"num_detections", "detection_boxes",
                                                       "detection_scores", "detection_classes"}));
  EXPECT_EQ(c.quantization.calibration.sampling_size, std::vector<int64_t>{100});
  EXPECT_EQ(c.quantization.model_wise.activation.algorithm, std::vector<std::string>{"minmax"});
  EXPECT_EQ(c.quantization.model_wise.weight.algorithm, std::vector<std::string>{"minmax"});
  ASSERT_EQ(c.quantization.op_wise.size(), 2u);
  const auto &op = c.quantization.op_wise.at(
      "WeightSharedConvolutionalBoxPredictor_2/ClassPredictionTower/conv2d_0/Conv2D");
  EXPECT_EQ(op.activation.dtype, std::vector<std::string>{"fp32"});
  EXPECT_TRUE(c.tuning.relative);
  EXPECT_DOUBLE_EQ(c.tuning.criterion, 0.01);
  EXPECT_EQ(c.tuning.timeout, 0);
  EXPECT_EQ(c.tuning.max_trials, 100);
  EXPECT_EQ(c.tuning.random_seed, 9527u);
  EXPECT_EQ(c.tuning.strategy, "sensitivity"); // our default
}

TEST(Config, DefaultsAreLpots) {
  Config c = parse_config("model: {name: m, framework: onnxrt_qlinearops}\n", "m.yaml");
  EXPECT_TRUE(c.tuning.relative);
  EXPECT_DOUBLE_EQ(c.tuning.criterion, 0.01);
  EXPECT_EQ(c.tuning.timeout, 0);
  EXPECT_EQ(c.tuning.max_trials, 100);
  EXPECT_TRUE(c.tuning.higher_is_better);
  EXPECT_FALSE(c.tuning.performance_only);
  EXPECT_EQ(c.tuning.objective, "performance");
  EXPECT_EQ(c.quantization.approach, "post_training_static_quant");
}

TEST(Config, FullSchemaReadsEverySection) {
  const char *yaml = R"(
model:
  name: yolox
  framework: onnxrt_qdq
  path: m.onnx
device: cpu
quantization:
  approach: post_training_static_quant
  calibration:
    sampling_size: [50, 100]
    dataloader:
      batch_size: 1
      dataset:
        COCORaw: {root: data, img_dir: val, anno_dir: ann.json}
      transform:
        Letterbox: {size: 416}
        Transpose: {perm: [2, 0, 1]}
  model_wise:
    weight: {granularity: [per_channel, per_tensor], scheme: sym}
    activation: {algorithm: [minmax, kl]}
  optype_wise:
    MatMul: {activation: {dtype: fp32}}
  recipes: {first_conv_or_matmul_quantization: false}
evaluation:
  accuracy:
    metric: {COCOmAP: {}}
    dataloader:
      batch_size: 1
      dataset: {COCORaw: {root: data}}
  performance:
    warmup: 3
    iteration: 10
    configs: {cores_per_instance: 2, num_of_instance: 1}
tuning:
  strategy: {name: basic}
  accuracy_criterion: {absolute: 0.02, higher_is_better: false}
  objective: modelsize
  exit_policy: {timeout: 60, max_trials: 7, performance_only: true}
  random_seed: 3
  workspace: {path: /tmp/ws, resume: true}
)";
  Config c = parse_config(yaml, "full.yaml");
  EXPECT_EQ(c.model.path, "m.onnx");
  EXPECT_EQ(c.quantization.calibration.sampling_size, (std::vector<int64_t>{50, 100}));
  EXPECT_EQ(c.quantization.calibration.dataloader.dataset_type, "COCORaw");
  EXPECT_EQ(c.quantization.model_wise.weight.granularity.size(), 2u);
  EXPECT_EQ(c.quantization.optype_wise.at("MatMul").activation.dtype,
            std::vector<std::string>{"fp32"});
  EXPECT_FALSE(c.quantization.recipes.at("first_conv_or_matmul_quantization"));
  EXPECT_EQ(c.accuracy.metric_name, "COCOmAP");
  EXPECT_EQ(c.performance.iteration, 10);
  EXPECT_EQ(c.performance.cores_per_instance, 2);
  EXPECT_EQ(c.tuning.strategy, "basic");
  EXPECT_FALSE(c.tuning.relative);
  EXPECT_DOUBLE_EQ(c.tuning.criterion, 0.02);
  EXPECT_FALSE(c.tuning.higher_is_better);
  EXPECT_EQ(c.tuning.objective, "modelsize");
  EXPECT_EQ(c.tuning.timeout, 60);
  EXPECT_EQ(c.tuning.max_trials, 7);
  EXPECT_TRUE(c.tuning.performance_only);
  EXPECT_EQ(c.tuning.random_seed, 3u);
  EXPECT_EQ(c.tuning.workspace_path, "/tmp/ws");
  EXPECT_TRUE(c.tuning.resume);
}

TEST(Config, UnknownTopLevelKeyNamesItAndSuggests) {
  std::string e = error_of("model: {framework: onnx}\ntunning:\n  random_seed: 1\n");
  EXPECT_NE(e.find("conf.yaml:2:1:"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown key 'tunning'"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'tuning'?"), std::string::npos) << e;
}

TEST(Config, UnknownNestedKeyGivesPathAndSuggestion) {
  std::string e = error_of("model: {framework: onnx}\ntuning:\n  exit_policy:\n"
                           "    max_trial: 5\n");
  EXPECT_NE(e.find("conf.yaml:4:5:"), std::string::npos) << e;
  EXPECT_NE(e.find("'tuning.exit_policy.max_trial'"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'max_trials'?"), std::string::npos) << e;
}

TEST(Config, WrongTypeGivesLineAndColumn) {
  std::string e = error_of("model: {framework: onnx}\ntuning:\n  exit_policy:\n"
                           "    max_trials: lots\n");
  EXPECT_NE(e.find("conf.yaml:4:17:"), std::string::npos) << e;
  EXPECT_NE(e.find("must be an integer"), std::string::npos) << e;
  e = error_of("model: {framework: onnx}\ntuning:\n  accuracy_criterion:\n"
               "    relative: [0.01]\n");
  EXPECT_NE(e.find("conf.yaml:4:15:"), std::string::npos) << e;
  e = error_of("model: {framework: onnx}\ntuning:\n  workspace: {resume: maybe}\n");
  EXPECT_NE(e.find("conf.yaml:3:23:"), std::string::npos) << e;
  EXPECT_NE(e.find("true or false"), std::string::npos) << e;
}

TEST(Config, WrongValueSuggestsTheValidOne) {
  std::string e = error_of("model: {framework: onnx}\ntuning:\n  strategy: {name: sensitivty}\n");
  EXPECT_NE(e.find("conf.yaml:3:20:"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'sensitivity'?"), std::string::npos) << e;
  e = error_of("model: {framework: onnx}\nquantization:\n  model_wise:\n"
               "    weight: {granularity: per_chanel}\n");
  EXPECT_NE(e.find("did you mean 'per_channel'?"), std::string::npos) << e;
  e = error_of("model: {framework: onnx}\ntuning:\n  exit_policy: {max_trials: 0}\n");
  EXPECT_NE(e.find("conf.yaml:3:29:"), std::string::npos) << e;
}

TEST(Config, UnknownDatasetAndTransformNames) {
  std::string e = error_of("model: {framework: onnx}\nevaluation:\n  accuracy:\n"
                           "    metric: {topk: 1}\n    dataloader:\n"
                           "      dataset: {COCORow: {root: x}}\n");
  EXPECT_NE(e.find("conf.yaml:6:17:"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'COCORaw'?"), std::string::npos) << e;
  e = error_of("model: {framework: onnx}\nquantization:\n  calibration:\n    dataloader:\n"
               "      dataset: {COCORaw: {root: x}}\n      transform: {Resise: {size: 4}}\n");
  EXPECT_NE(e.find("did you mean 'Resize'?"), std::string::npos) << e;
  e = error_of("model: {framework: onnx}\nevaluation:\n  accuracy:\n    metric: {COCOMap: {}}\n");
  EXPECT_NE(e.find("did you mean 'COCOmAP'?"), std::string::npos) << e;
}

TEST(Config, SyntaxErrorIsLocated) {
  std::string e = error_of("model: {framework: onnx\ntuning: [\n");
  EXPECT_NE(e.find("conf.yaml:"), std::string::npos) << e;
  EXPECT_NE(e.find("YAML syntax error"), std::string::npos) << e;
}

TEST(Config, MissingFileNamesIt) {
  try {
    load_config("/nonexistent/conf.yaml");
    FAIL();
  } catch (const InputError &e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/conf.yaml"), std::string::npos);
  }
}

TEST(Config, ClosestName) {
  EXPECT_EQ(closest_name("tunning", {"model", "tuning", "evaluation"}), "tuning");
  EXPECT_EQ(closest_name("xyzzy", {"model", "tuning", "evaluation"}), "");
}

TEST(Config, CocoMapCategoryIds) {
  Config c = parse_config("model: {framework: tensorflow}\nevaluation:\n  accuracy:\n"
                          "    metric: {COCOmAP: {category_ids: [1, 17, 18]}}\n",
                          "conf.yaml");
  EXPECT_EQ(c.accuracy.metric["COCOmAP"]["category_ids"].as<std::vector<int64_t>>(),
            (std::vector<int64_t>{1, 17, 18}));
  std::string e = error_of("model: {framework: onnx}\nevaluation:\n  accuracy:\n"
                           "    metric: {COCOmAP: {category_ids: [1, cat]}}\n");
  EXPECT_NE(e.find("conf.yaml:4:"), std::string::npos) << e;
  EXPECT_NE(e.find("category_ids"), std::string::npos) << e;
  e = error_of("model: {framework: onnx}\nevaluation:\n  accuracy:\n"
               "    metric: {COCOmAP: {category_ids: 1}}\n");
  EXPECT_NE(e.find("must be a list"), std::string::npos) << e;
}

// Every recipe key either works or is refused where it is written: LPOT's
// weight_correction has no qtune pass, so `true` fails at load (`false` is
// what qtune does anyway); last_conv_or_matmul_quantization is read.
TEST(Config, RecipeWithoutImplementationRefusedAtLoad) {
  std::string e = error_of("model: {framework: onnx}\nquantization:\n  recipes:\n"
                           "    bias_correction: true\n    weight_correction: true\n");
  EXPECT_NE(e.find("conf.yaml:5:24:"), std::string::npos) << e;
  EXPECT_NE(e.find("weight_correction"), std::string::npos) << e;
  EXPECT_NE(e.find("not implemented"), std::string::npos) << e;
  Config c = parse_config("model: {framework: onnx}\nquantization:\n  recipes:\n"
                          "    weight_correction: false\n"
                          "    last_conv_or_matmul_quantization: false\n",
                          "conf.yaml");
  EXPECT_FALSE(c.quantization.recipes.at("last_conv_or_matmul_quantization"));
}

// A decoder's bad parameter fails when the YAML is read, with the file and line.
TEST(Config, DecoderParametersCheckedAtLoad) {
  std::string e =
      error_of("model: {framework: onnx}\nevaluation:\n  accuracy:\n    metric: {COCOmAP: {}}\n"
               "    postprocess:\n      gfl: {reg_max: 0}\n");
  EXPECT_NE(e.find("conf.yaml:6"), std::string::npos) << e;
  EXPECT_NE(e.find("postprocess.gfl.reg_max"), std::string::npos) << e;
  EXPECT_EQ(
      error_of("model: {framework: onnx}\nevaluation:\n  accuracy:\n    metric: {COCOmAP: {}}\n"
               "    postprocess:\n      yolov8: {nms_iou: 0.5}\n"),
      "(no error)");
}

} // namespace
} // namespace qtune::tune
