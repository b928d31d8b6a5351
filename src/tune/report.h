#pragma once
// How a tuning result is shown: the final FP32-vs-best table for people and one
// JSON object for scripts (`qtune tune --json`).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "tune/tuner.h"

namespace qtune::tune {

void print_summary(std::FILE *out, const Config &config, const TuneResult &r);
nlohmann::json result_json(const Config &config, const TuneResult &r);

// Exit code of `qtune tune`: 0 goal met, 3 no plan met the accuracy goal.
constexpr int kExitGoalNotMet = 3;

} // namespace qtune::tune
