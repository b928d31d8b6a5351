#pragma once
// The LPOT 1.x YAML configuration (model / device / quantization / evaluation /
// tuning), loaded with located errors: unknown keys name their path and the
// closest known key, wrong types and values name file:line:column.
// Dataloader, metric and postprocess sections are checked for LPOT's names here
// and kept as YAML so the data/metrics factories build them.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>
#include <yaml-cpp/yaml.h>

namespace qtune::tune {

// Allowed choices for one tensor kind (weight or activation); empty = no constraint.
struct TensorOptions {
  std::vector<std::string> dtype;       // int8, uint8, bf16, fp32
  std::vector<std::string> scheme;      // sym, asym
  std::vector<std::string> granularity; // per_channel, per_tensor
  std::vector<std::string> algorithm;   // minmax, kl, percentile
};

struct OpOptions {
  TensorOptions weight;
  TensorOptions activation;
};

// A dataloader section kept as YAML for the data factory, plus what we read here.
struct DataloaderConfig {
  YAML::Node node; // the whole `dataloader:` mapping
  int64_t batch_size = 1;
  std::string dataset_type; // COCORaw, COCORecord, ImageFolder, ...
  bool present() const { return node.IsDefined() && !node.IsNull(); }
};

struct ModelConfig {
  std::string name;
  std::string framework; // onnxrt_integerops, onnxrt_qlinearops, onnx, tensorflow ...
  std::string path;      // ours: the model file (CLI --model overrides)
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
};

struct CalibrationConfig {
  std::vector<int64_t> sampling_size; // a list is an outer search loop; empty = whole set
  DataloaderConfig dataloader;
};

struct QuantizationConfig {
  std::string approach = "post_training_static_quant";
  CalibrationConfig calibration;
  OpOptions model_wise;
  std::map<std::string, OpOptions> optype_wise; // op type -> options
  std::map<std::string, OpOptions> op_wise;     // node name -> options
  std::map<std::string, bool> recipes;
};

struct AccuracyConfig {
  YAML::Node metric; // {COCOmAP: {...}} or {topk: 1}
  std::string metric_name;
  DataloaderConfig dataloader;
  YAML::Node postprocess; // {transform: {...}}
  bool present() const { return metric.IsDefined() && !metric.IsNull(); }
};

struct PerformanceConfig {
  int64_t warmup = 5;
  int64_t iteration = 20;
  int64_t cores_per_instance = 0; // 0: all cores
  int64_t num_of_instance = 1;
  DataloaderConfig dataloader;
};

struct TuningConfig {
  std::string strategy = "sensitivity"; // LPOT's default is basic; ours is sensitivity
  bool relative = true;
  double criterion = 0.01;
  bool higher_is_better = true;
  // qtune extension tuning.accuracy_criterion.confidence: accept a plan when the
  // upper end of the bootstrap interval of its loss at this level is within the
  // criterion. 0: the point estimate decides (LPOT); the interval is still shown.
  double confidence = 0;
  std::string objective = "performance"; // performance (latency) | modelsize | footprint
  double timeout = 0;                    // seconds; 0 = stop at the first passing plan
  int64_t max_trials = 100;
  bool performance_only = false;
  uint64_t random_seed = 1978;
  std::string workspace_path = "./qtune_workspace";
  bool resume = false;
};

struct Config {
  std::string file; // where it came from, for messages
  ModelConfig model;
  std::string device = "cpu";
  QuantizationConfig quantization;
  AccuracyConfig accuracy;
  PerformanceConfig performance;
  TuningConfig tuning;
};

// Throws InputError "<file>:<line>:<col>: <problem>" on anything it cannot accept.
Config load_config(const std::string &path);
Config parse_config(const std::string &yaml_text, const std::string &file_name);

// Closest candidate by edit distance, or "" when nothing is reasonably close.
std::string closest_name(const std::string &word, const std::vector<std::string> &candidates);

} // namespace qtune::tune
