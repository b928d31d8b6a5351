#include "tune/report.h"

#include <fmt/format.h>

namespace qtune::tune {

namespace {

double speedup(const TuneResult &r) {
  if (r.objective_kind != "performance" || r.best.objective <= 0)
    return 0;
  return r.baseline_objective / r.best.objective;
}

// "137/0/15" of the saved model's quantizable ops, and who kept the rest out
// of int8 ("14 quantizer, 1 recipe"): the classification inspect prints.
std::string precision_counts(const TuneResult &r) {
  const auto &p = r.precisions;
  return fmt::format("{}/{}/{}", quant::count_at(p, Precision::int8),
                     quant::count_at(p, Precision::bf16), quant::count_at(p, Precision::fp32));
}

std::string not_int8_sources(const TuneResult &r) {
  std::string out;
  for (const auto &[source, count] : quant::count_by_source(r.precisions))
    out += fmt::format("{}{} {}", out.empty() ? "" : ", ", count, source);
  return out;
}

} // namespace

void print_summary(std::FILE *out, const Config &c, const TuneResult &r) {
  const bool perf = r.objective_kind == "performance";
  const char *unit = perf ? "latency (ms)" : "size (KB)";
  double scale = perf ? 1.0 : 1.0 / 1024.0;
  std::fprintf(out, "\n%-22s %14s %14s\n", "", "FP32", "best");
  if (!c.tuning.performance_only)
    std::fprintf(out, "%-22s %14.4f %14.4f\n", "accuracy", r.baseline_accuracy, r.best.accuracy);
  std::fprintf(out, "%-22s %14.3f %14.3f\n", unit, r.baseline_objective * scale,
               r.best.objective * scale);
  if (perf)
    std::fprintf(out, "%-22s %14s %13.2fx\n", "speedup", "", speedup(r));
  std::fprintf(out, "%-22s %14.1f %14.1f\n", "model size (KB)", r.fp32_bytes / 1024.0,
               r.best_bytes / 1024.0);
  std::fprintf(out, "%-22s %14s %14s\n", "ops int8/bf16/fp32", "", precision_counts(r).c_str());
  if (std::string why = not_int8_sources(r); !why.empty())
    std::fprintf(out, "not int8 because of:   %s (qtune inspect --json MODEL: each op, why)\n",
                 why.c_str());
  std::fprintf(out, "\ngoal %s: relative loss %.2f%% (criterion: %s %g%s)\n",
               r.goal_met ? "met" : "NOT met", 100.0 * r.relative_loss,
               c.tuning.relative ? "relative" : "absolute", c.tuning.criterion,
               c.tuning.confidence > 0 ? ", on the interval's upper end" : "");
  if (r.best.interval.valid)
    std::fprintf(out,
                 "%s, paired bootstrap: %d resamples of %zu samples (seed %llu; %.2f s over "
                 "this run's trials)\n",
                 format_loss(r.best.interval, c.tuning.relative).c_str(), r.best.interval.resamples,
                 r.best.interval.samples, static_cast<unsigned long long>(c.tuning.random_seed),
                 r.bootstrap_seconds);
  std::fprintf(out,
               "strategy %s: %lld trials (%lld from history), %lld full evaluations, wall %.1f s\n",
               c.tuning.strategy.c_str(), static_cast<long long>(r.trials),
               static_cast<long long>(r.resumed_trials), static_cast<long long>(r.full_evaluations),
               r.wall_s);
  if (r.inference_threads > 0)
    std::fprintf(out, "inference threads: %d (OpenMP team measured in the runs)\n",
                 r.inference_threads);
  std::fprintf(out, "model:   %s\ndeploy:  %s\nhistory: %s\n", r.output.c_str(), r.deploy.c_str(),
               r.history.c_str());
}

nlohmann::json result_json(const Config &c, const TuneResult &r) {
  nlohmann::json j;
  j["goal_met"] = r.goal_met;
  j["strategy"] = c.tuning.strategy;
  j["objective"] = r.objective_kind;
  j["baseline"] = {{"accuracy", r.baseline_accuracy},
                   {"objective", r.baseline_objective},
                   {"model_bytes", r.fp32_bytes}};
  j["best"] = {{"accuracy", r.best.accuracy},
               {"objective", r.best.objective},
               {"model_bytes", r.best_bytes},
               {"plan", r.best.plan.to_json()}};
  // The saved model's ops as `qtune inspect --json` classifies them.
  j["best"]["ops_int8"] = quant::count_at(r.precisions, Precision::int8);
  j["best"]["ops_bf16"] = quant::count_at(r.precisions, Precision::bf16);
  j["best"]["ops_fp32"] = quant::count_at(r.precisions, Precision::fp32);
  j["best"]["fp32_ops"] = quant::names_at(r.precisions, Precision::fp32);
  j["best"]["precisions"] = nlohmann::json::array();
  for (const auto &op : r.precisions)
    j["best"]["precisions"].push_back(quant::to_json(op));
  j["best"]["not_int8_by_source"] = quant::count_by_source(r.precisions);
  j["relative_loss"] = r.relative_loss;
  if (r.best.interval.valid)
    j["loss_interval"] = {
        {"loss", r.best.interval.loss},           {"ci_low", r.best.interval.low},
        {"ci_high", r.best.interval.high},        {"confidence", r.best.interval.confidence},
        {"resamples", r.best.interval.resamples}, {"samples", r.best.interval.samples},
        {"relative", c.tuning.relative}};
  j["trials"] = r.trials;
  j["resumed_trials"] = r.resumed_trials;
  j["full_evaluations"] = r.full_evaluations;
  if (r.trial_groups > 1) { // parallel trials: evaluations made ahead and not needed
    j["trial_groups"] = r.trial_groups;
    j["unused_ahead"] = r.unused_ahead;
  }
  j["wall_s"] = r.wall_s;
  j["threads"] = r.inference_threads; // measured (0: no inference ran)
  j["speedup"] = speedup(r);
  j["output"] = r.output;
  j["deploy"] = r.deploy;
  j["history"] = r.history;
  return j;
}

} // namespace qtune::tune
