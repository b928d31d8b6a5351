#pragma once
// What the HTML report shows, gathered from a tuning workspace:
// - report_inputs.json, written by `qtune tune` (config, models, the ops with the
//   precisions they were allowed, this run's trials, FP32 and best results);
// - history.jsonl for confidence intervals (trial fields ci_low / ci_high, when
//   the accuracy evaluation records them);
// - ranking.json for the per-op sensitivity ranking when present, else the
//   ranking the trials themselves measured (a trial that differs from an
//   earlier one by one op's fallback: the accuracy it recovered);
// - the FP32 and best models, compared on a few calibration samples (quant/compare.h).
#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "quant/compare.h"
#include "tune/tuner.h"

namespace qtune::tune {

struct ReportTrial {
  int index = 0;
  double accuracy = 0, objective = 0, seconds = 0;
  double ci_low = NAN, ci_high = NAN; // accuracy interval (from the loss interval)
  bool meets = false, resumed = false;
  std::string summary;
  TunePlan plan;
};

struct ReportOp {
  std::string name, op_type;
  std::string precision; // in the best model as written (quant/precision_map.h)
  std::string why;
};

struct ReportData {
  std::string workspace, config, fp32_model, best_model, cwd;
  std::string model_name, strategy, objective_kind;
  bool higher_is_better = true, relative = true, performance_only = false, goal_met = false;
  double criterion = 0;
  double baseline_accuracy = 0, baseline_objective = 0, best_accuracy = 0, best_objective = 0;
  int64_t fp32_bytes = 0, best_bytes = 0;
  std::vector<TuneOp> ops;
  TunePlan best_plan;
  std::vector<ReportTrial> trials;
  std::vector<std::pair<std::string, double>> ranking; // most sensitive first
  std::string ranking_source;
  std::vector<ReportOp> precision; // quant::op_precisions of the best model
  std::string precision_note;      // why there is no precision map
  std::map<std::string, int64_t> ops_by_precision;
  std::optional<quant::CompareResult> errors;
  std::string errors_note; // why there is no error table
  double goal_accuracy() const;
  // The accuracy a loss in the criterion's units (relative fraction or absolute,
  // positive = worse, as history.jsonl's loss / ci_low / ci_high) stands for.
  double accuracy_at_loss(double loss) const;
};

// Writes <workspace>/report_inputs.json after a tuning run.
void save_report_inputs(const Config &config, const TuneResult &r, const std::string &config_path);

// Reads the workspace (InputError naming the file when report_inputs.json is
// missing or damaged) and runs the comparison on `samples` samples (0: none).
ReportData load_report_data(const std::string &workspace, size_t samples, int threads);

} // namespace qtune::tune
