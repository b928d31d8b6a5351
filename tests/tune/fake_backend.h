#pragma once
// A backend with a known answer: op i costs damage[i] accuracy when int8 and
// saves 1 ms of latency; bf16 costs a tenth of the damage and saves 0.5 ms.
// Lets strategy tests check what they find without quantizing a real model.
#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tune/backend.h"

namespace qtune::test {

class FakeBackend : public tune::TuningBackend {
public:
  explicit FakeBackend(std::vector<double> damage, double fp32_accuracy = 0.80)
      : damage_(std::move(damage)), fp32_(fp32_accuracy) {}

  std::vector<tune::TuneOp> quantizable_ops() override {
    std::vector<tune::TuneOp> ops;
    for (size_t i = 0; i < damage_.size(); ++i)
      ops.push_back(
          {name(i), i % 2 ? "MatMul" : "Conv",
           bf16 ? std::vector{tune::Precision::int8, tune::Precision::bf16, tune::Precision::fp32}
                : std::vector{tune::Precision::int8, tune::Precision::fp32}});
    return ops;
  }
  tune::OpOptions supported_options() override {
    tune::OpOptions o;
    o.activation.algorithm = algorithms;
    return o;
  }
  double evaluate(const tune::TunePlan *plan) override {
    if (sleep_ms > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
    if (!plan) {
      ++baseline_evaluations;
      return fp32_;
    }
    evaluated.push_back(plan->key());
    double acc = fp32_;
    for (size_t i = 0; i < damage_.size(); ++i) {
      auto p = plan->ops.at(name(i));
      if (p == tune::Precision::int8)
        acc -= damage_[i];
      if (p == tune::Precision::bf16)
        acc -= damage_[i] / 10;
    }
    // kl calibration is a little better than minmax for this fake model.
    if (plan->quant.activation_algorithm == "kl")
      acc += 0.001;
    return acc;
  }
  double objective(const tune::TunePlan *plan, const std::string &kind) override {
    double ms = 10.0 + damage_.size();
    if (plan)
      for (const auto &[n, p] : plan->ops)
        ms -= p == tune::Precision::int8 ? 1.0 : p == tune::Precision::bf16 ? 0.5 : 0.0;
    return ms;
  }
  std::map<std::string, double> op_damage(const tune::TunePlan &plan) override {
    ++damage_calls;
    std::map<std::string, double> d;
    for (size_t i = 0; i < damage_.size(); ++i)
      if (plan.ops.at(name(i)) == tune::Precision::int8)
        d[name(i)] = damage_[i];
    return d;
  }
  void save(const tune::TunePlan *plan, const std::string &path) override {
    std::ofstream(path) << (plan ? plan->key() : "fp32") << "\n";
  }
  // The fake "model" runs its plan as written.
  std::vector<quant::OpPrecision> saved_precisions(const tune::TunePlan &plan,
                                                   const std::string &) override {
    std::vector<quant::OpPrecision> out;
    for (const auto &[n, p] : plan.ops)
      out.push_back({n, "Fake", p, p == tune::Precision::int8 ? "graph" : "tuner",
                     p == tune::Precision::int8 ? "int8" : "fallen back"});
    return out;
  }
  std::string context_key() override { return "fake-model|fake-data|fake-metric"; }
  int64_t model_bytes(const tune::TunePlan *plan) override { return 1000; }

  static std::string name(size_t i) { return "op" + std::to_string(i); }

  std::vector<std::string> evaluated; // plan keys, in evaluation order
  int baseline_evaluations = 0;
  int damage_calls = 0;
  int sleep_ms = 0;
  bool bf16 = false;
  std::vector<std::string> algorithms = {"minmax"};

private:
  std::vector<double> damage_;
  double fp32_;
};

} // namespace qtune::test
