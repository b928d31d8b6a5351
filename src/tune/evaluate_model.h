#pragma once
// `qtune evaluate` as one library call: the YAML's evaluation.accuracy
// (dataloader + postprocess + metric) run on its model through the same
// AccuracyEvaluator the tuner uses, with overrides so one config serves other
// model files and COCO folders.
#include <string>
#include <vector>

#include "tune/config.h"
#include "tune/evaluator.h"

namespace qtune::tune {

struct ModelEvaluationOptions {
  EvaluationOptions evaluation;            // limit, pipeline threads, category ids
  std::string model;                       // replaces model.path
  std::string annotations, images, record; // replace the dataset (and the COCO ground truth)
  bool skip_bad_images = false;            // skip and count missing / corrupt images
  int threads = 0;                         // inference threads (0: all cores)
  std::string save_detections;             // COCOmAP: write the detections here (COCO results)
};

struct ModelEvaluation {
  std::string model, dataset; // what was evaluated on what
  EvaluationResult result;
  double seconds = 0;       // end to end (decode, preprocess, model, decoder)
  double model_seconds = 0; // inside the model only
};

// Loads `config`'s model (or options.model), prepares it for inference (fusions,
// QDQ -> int8 kernels) and evaluates it. The metric defaults to COCOmAP when the
// YAML has none; --annotations replaces the COCOmAP anno_path, otherwise the
// anno_path is honoured.
ModelEvaluation evaluate_model(Config config, const ModelEvaluationOptions &options);

} // namespace qtune::tune
