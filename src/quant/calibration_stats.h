#pragma once
// Per-tensor calibration statistics of a whole model, cached apart from any
// plan: the tuner stores them once in its workspace (JSON) and builds every new
// quantized model from them without recalibrating.
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "quant/observer.h"

namespace qtune::quant {

struct CalibrationStats {
  std::map<std::string, TensorStats> tensors; // by value name
  int64_t samples = 0;                        // calibration samples seen

  const TensorStats *find(const std::string &name) const;
  nlohmann::json to_json() const;
  static CalibrationStats from_json(const nlohmann::json &j, const std::string &where);
  // Written atomically (temp file + rename). Errors name the file.
  void save(const std::string &path) const;
  static CalibrationStats load(const std::string &path);
};

} // namespace qtune::quant
