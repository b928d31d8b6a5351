#pragma once
// What the tuner searches over: a model-wise quantization choice (scheme,
// granularity, algorithm, calibration size) plus a precision per quantizable op.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "quant/plan.h"

namespace qtune::tune {

using quant::Precision;
using quant::precision_from_name;
using quant::precision_name;

// One point of the model-wise space (LPOT's model_wise cartesian product).
struct QuantChoice {
  std::string weight_scheme = "sym";
  std::string weight_granularity = "per_channel";
  std::string weight_algorithm = "minmax";
  std::string activation_scheme = "asym";
  std::string activation_granularity = "per_tensor";
  std::string activation_algorithm = "minmax";
  int64_t sampling_size = 0;   // 0: the whole calibration set
  std::string summary() const; // "w:sym/per_channel/minmax a:asym/per_tensor/minmax n:100"
  bool operator==(const QuantChoice &) const = default;
};

// A quantizable op, in topological order, with the precisions it may take
// (first = preferred; int8 first when allowed, fp32 always last).
struct TuneOp {
  std::string name;
  std::string op_type;
  std::vector<Precision> options;
  bool can_fall_back() const { return options.size() > 1; }
};

struct TunePlan {
  QuantChoice quant;
  std::map<std::string, Precision> ops; // every quantizable op

  // Canonical text, equal for equal plans: the key for dedupe and resume.
  std::string key() const;
  int count(Precision p) const;
  std::string summary() const; // "int8 40 / bf16 0 / fp32 3"
  std::vector<std::string> ops_at(Precision p) const;
  nlohmann::json to_json() const;
  static TunePlan from_json(const nlohmann::json &j);
};

// Every op at its preferred precision under `choice`.
TunePlan preferred_plan(const std::vector<TuneOp> &ops, const QuantChoice &choice);

} // namespace qtune::tune
