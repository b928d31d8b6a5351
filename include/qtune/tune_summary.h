#pragma once
// What a tuning run reports back through the public API (the CLI prints the
// same numbers). The YAML itself is LPOT 1.x; see docs and src/tune/config.h.
#include <cstdint>
#include <string>
#include <vector>

namespace qtune {

struct TuneSummary {
  bool goal_met = false;
  double baseline_accuracy = 0;
  double best_accuracy = 0;
  double relative_loss = 0;
  double baseline_latency_ms = 0; // or model bytes when the objective is modelsize
  double best_latency_ms = 0;
  // The saved model's quantizable ops by precision, as `qtune inspect` reads them.
  int ops_int8 = 0, ops_bf16 = 0, ops_fp32 = 0;
  std::vector<std::string> fp32_ops;
  int64_t trials = 0;
  int64_t full_evaluations = 0;
  double wall_s = 0;
  std::string output;  // saved model
  std::string deploy;  // deploy.yaml
  std::string history; // history.jsonl
};

} // namespace qtune
