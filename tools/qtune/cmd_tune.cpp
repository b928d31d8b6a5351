// `qtune tune --config conf.yaml [--model M] [--output OUT] [--threads N] [--trial-groups G]
// [--json]`: the accuracy-driven search; writes report.html into the workspace. Progress goes to
// stdout (stderr with --json, which prints one JSON object on stdout). Exit 0 when the accuracy
// goal was met, 3 when not (the best plan found is still saved), 1 on errors.
#include <cstdio>
#include <string>

#include "commands.h"
#include "dist/comm.h"
#include "qtune/error.h"
#include "tune/config.h"
#include "tune/report.h"
#include "tune/report_html.h"
#include "tune/strategy.h"
#include "tune/tune_model.h"

namespace qtune::cli {

namespace {

struct TuneArgs {
  std::string config, model, output, strategy, workspace;
  int threads = 0;
  int trial_groups = 1;
  size_t report_samples = 4;
  bool json = false;
  bool resume = false;
};

int run_tune(const TuneArgs &a) {
  tune::Config c = tune::load_config(a.config);
  if (!a.model.empty())
    c.model.path = a.model;
  if (!a.strategy.empty()) {
    tune::make_strategy(a.strategy); // validates
    c.tuning.strategy = a.strategy;
  }
  if (!a.workspace.empty())
    c.tuning.workspace_path = a.workspace;
  if (a.resume)
    c.tuning.resume = true;
  std::FILE *progress = a.json ? stderr : stdout;
  tune::TuneOptions opt;
  opt.progress = progress;
  opt.output = a.output;
  opt.threads = a.threads;
  opt.trial_groups = a.trial_groups;
  tune::TuneResult r = tune::tune_model(c, opt);
  if (!dist::world().is_root())
    return 0; // under mpirun rank 0 ran the tuner; this rank evaluated shards
  try {
    std::string html = tune::write_tuning_report(c, r, a.config, a.report_samples, a.threads);
    std::fprintf(progress, "[report] %s\n", html.c_str());
  } catch (const std::exception &e) {
    // The model and history are already written; a report that cannot be made
    // (e.g. the calibration data moved) must not turn the run into a failure.
    std::fprintf(progress, "[report] not written: %s\n", e.what());
  }
  if (a.json) {
    nlohmann::json j = tune::result_json(c, r);
    j["threads_requested"] = a.threads;
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    tune::print_summary(stdout, c, r);
  }
  return r.goal_met ? 0 : tune::kExitGoalNotMet;
}

} // namespace

Command add_tune_command(CLI::App &app) {
  auto *sub = app.add_subcommand(
      "tune", "Accuracy-driven quantization: search for the fastest plan within the accuracy goal");
  auto args = std::make_shared<TuneArgs>();
  sub->add_option("--config,-c", args->config, "LPOT 1.x YAML configuration")->required();
  sub->add_option("--model,-m", args->model, "FP32 ONNX model (overrides model.path)");
  sub->add_option("--output,-o", args->output,
                  "where to write the best model (default: <workspace>/<name>_int8.onnx)");
  sub->add_option("--strategy", args->strategy,
                  "basic | sensitivity | mse | random | exhaustive (overrides the YAML)");
  sub->add_option("--workspace", args->workspace, "workspace folder (overrides the YAML)");
  sub->add_flag("--resume", args->resume, "reuse every trial recorded in the workspace history");
  sub->add_option("--threads", args->threads,
                  "inference threads for calibration, evaluation and latency (0: all cores)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--trial-groups", args->trial_groups,
                  "under mpirun: rank groups that evaluate independent trials at once, each "
                  "sharding its trial over its ranks (1: every trial on all ranks)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--report-samples", args->report_samples,
                  "calibration samples for report.html's per-tensor error table (0: skip it)")
      ->capture_default_str();
  sub->add_flag("--json", args->json, "print one JSON object with the result");
  return {sub, [args] { return run_tune(*args); }};
}

} // namespace qtune::cli
