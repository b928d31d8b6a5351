#include "tune/report_data.h"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>

#include "frontends/model_loader.h"
#include "qtune/error.h"
#include "quant/precision_map.h"
#include "tune/model_backend.h"
#include "tune/tensor_errors.h"
#include "tune/workspace.h"

namespace qtune::tune {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string absolute(const std::string &p) {
  return p.empty() ? p : fs::absolute(p).lexically_normal().string();
}

json trial_json(const Trial &t) {
  return {{"index", t.index},        {"accuracy", t.accuracy}, {"objective", t.objective},
          {"seconds", t.seconds},    {"meets", t.meets},       {"resumed", t.resumed},
          {"plan", t.plan.to_json()}};
}

json op_json(const TuneOp &op) {
  json options = json::array();
  for (Precision p : op.options)
    options.push_back(precision_name(p));
  return {{"name", op.name}, {"op_type", op.op_type}, {"options", options}};
}

std::string read_text(const std::string &path) {
  std::ifstream f(path);
  if (!f)
    throw InputError(path + ": cannot read (run `qtune tune` with this workspace first)");
  return std::string((std::istreambuf_iterator<char>(f)), {});
}

// ci_low / ci_high (loss interval) of each trial key in history.jsonl (the last one recorded).
std::map<std::string, std::pair<double, double>> history_intervals(const std::string &path) {
  std::map<std::string, std::pair<double, double>> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || j.value("event", "") != "trial")
      continue;
    if (j.contains("ci_low") && j.contains("ci_high") && j["ci_low"].is_number() &&
        j["ci_high"].is_number())
      out[j.value("key", "")] = {j["ci_low"].get<double>(), j["ci_high"].get<double>()};
  }
  return out;
}

// ranking.json ({"method": M, "ops": [{"op": NAME, "score": S}, ...]}, written
// by the model backend's ranking), most damaging first; empty if absent.
std::vector<std::pair<std::string, double>> ranking_file(const std::string &path,
                                                         std::string &method) {
  std::vector<std::pair<std::string, double>> out;
  if (!fs::exists(path))
    return out;
  json j = json::parse(read_text(path), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("ops") || !j["ops"].is_array())
    throw InputError(path + ": expected {\"ops\": [{\"op\": NAME, \"score\": S}, ...]}");
  method = j.value("method", "");
  for (const auto &e : j["ops"])
    if (e.is_object() && e.contains("op") && e.contains("score") && e["score"].is_number())
      out.emplace_back(e["op"].get<std::string>(), e["score"].get<double>());
  std::stable_sort(out.begin(), out.end(),
                   [](const auto &a, const auto &b) { return a.second > b.second; });
  return out;
}

// The op whose precision alone separates plans a and b (same model-wise choice), or "".
std::string single_difference(const TunePlan &a, const TunePlan &b) {
  if (!(a.quant == b.quant))
    return "";
  std::string diff;
  for (const auto &[name, p] : a.ops) {
    auto it = b.ops.find(name);
    if (it == b.ops.end() || it->second == p)
      continue;
    if (!diff.empty())
      return "";
    diff = name;
  }
  return diff;
}

// For each op: the first (earlier int8, later fallback) trial pair that differs only in it.
std::map<std::string, std::pair<const ReportTrial *, const ReportTrial *>>
single_fallbacks(const std::vector<ReportTrial> &trials) {
  std::map<std::string, std::pair<const ReportTrial *, const ReportTrial *>> out;
  for (size_t k = 0; k < trials.size(); ++k)
    for (size_t j = 0; j < k; ++j) {
      std::string op = single_difference(trials[j].plan, trials[k].plan);
      if (op.empty() || out.count(op) || trials[j].plan.ops.at(op) != Precision::int8)
        continue;
      out[op] = {&trials[j], &trials[k]};
    }
  return out;
}

void derive_ranking(ReportData &d) {
  std::string method;
  d.ranking = ranking_file((fs::path(d.workspace) / "ranking.json").string(), method);
  if (!d.ranking.empty()) {
    d.ranking_source = "ranking.json, " + (method.empty() ? "per-op damage" : method) +
                       " (output error with the op alone int8; larger = more sensitive)";
    return;
  }
  const double sign = d.higher_is_better ? 1 : -1;
  for (const auto &[op, pair] : single_fallbacks(d.trials))
    d.ranking.emplace_back(op, sign * (pair.second->accuracy - pair.first->accuracy));
  std::stable_sort(d.ranking.begin(), d.ranking.end(),
                   [](const auto &a, const auto &b) { return a.second > b.second; });
  d.ranking_source = "trials: accuracy recovered when the op alone fell back (no ranking.json)";
}

// The classification's reason (quant/precision_map.h), with the trial that
// showed it when the tuning strategy fell the op back.
std::string
why(const ReportData &d, const quant::OpPrecision &op,
    const std::map<std::string, std::pair<const ReportTrial *, const ReportTrial *>> &fb) {
  std::string text = op.source == "graph" ? op.reason : op.source + ": " + op.reason;
  if (op.source != "tuner")
    return text;
  if (auto it = fb.find(op.name); it != fb.end())
    return text + fmt::format(" (trial {}: accuracy {:.4f} -> {:.4f})", it->second.second->index,
                              it->second.first->accuracy, it->second.second->accuracy);
  for (const auto &t : d.trials)
    if (t.plan.ops.count(op.name) && t.plan.ops.at(op.name) != Precision::int8)
      return text + fmt::format(" (first in trial {})", t.index);
  return text;
}

// The saved best model's ops as `qtune inspect` classifies them.
void precision_map(ReportData &d) {
  std::vector<quant::OpPrecision> ops;
  try {
    ops = quant::op_precisions(load_model(d.best_model));
  } catch (const Error &e) {
    d.precision_note = e.what();
    return;
  }
  const auto fb = single_fallbacks(d.trials);
  for (const auto &op : ops)
    d.precision.push_back({op.name, op.op_type, precision_name(op.precision), why(d, op, fb)});
  d.ops_by_precision = quant::count_by_precision(ops);
}

} // namespace

double ReportData::accuracy_at_loss(double loss) const {
  const double margin = relative ? std::fabs(baseline_accuracy) * loss : loss;
  return higher_is_better ? baseline_accuracy - margin : baseline_accuracy + margin;
}

double ReportData::goal_accuracy() const {
  return accuracy_at_loss(criterion);
}

void save_report_inputs(const Config &c, const TuneResult &r, const std::string &config_path) {
  json trials = json::array(), ops = json::array();
  for (const Trial &t : r.history_trials)
    trials.push_back(trial_json(t));
  for (const TuneOp &op : r.ops)
    ops.push_back(op_json(op));
  json j = {{"format", "qtune-report-inputs-1"},
            {"config", absolute(config_path)},
            {"cwd", fs::current_path().string()},
            {"fp32_model", absolute(c.model.path)},
            {"best_model", absolute(r.output)},
            {"model_name", c.model.name},
            {"strategy", c.tuning.strategy},
            {"objective", r.objective_kind},
            {"higher_is_better", c.tuning.higher_is_better},
            {"relative", c.tuning.relative},
            {"criterion", c.tuning.criterion},
            {"performance_only", c.tuning.performance_only},
            {"goal_met", r.goal_met},
            {"baseline", {{"accuracy", r.baseline_accuracy}, {"objective", r.baseline_objective}}},
            {"best",
             {{"accuracy", r.best.accuracy},
              {"objective", r.best.objective},
              {"plan", r.best.plan.to_json()}}},
            {"fp32_bytes", r.fp32_bytes},
            {"best_bytes", r.best_bytes},
            {"ops", ops},
            {"trials", trials}};
  write_file_atomic((fs::path(c.tuning.workspace_path) / "report_inputs.json").string(),
                    j.dump(1) + "\n");
}

ReportData load_report_data(const std::string &workspace, size_t samples, int threads) {
  const std::string path = (fs::path(workspace) / "report_inputs.json").string();
  json j = json::parse(read_text(path), nullptr, false);
  if (j.is_discarded() || j.value("format", "") != "qtune-report-inputs-1")
    throw InputError(path + ": not a qtune report_inputs.json (format qtune-report-inputs-1)");
  ReportData d;
  try {
    d.workspace = absolute(workspace);
    d.config = j.at("config"), d.cwd = j.at("cwd");
    d.fp32_model = j.at("fp32_model"), d.best_model = j.at("best_model");
    d.model_name = j.at("model_name"), d.strategy = j.at("strategy");
    d.objective_kind = j.at("objective");
    d.higher_is_better = j.at("higher_is_better"), d.relative = j.at("relative");
    d.criterion = j.at("criterion"), d.performance_only = j.at("performance_only");
    d.goal_met = j.at("goal_met");
    d.baseline_accuracy = j.at("baseline").at("accuracy");
    d.baseline_objective = j.at("baseline").at("objective");
    d.best_accuracy = j.at("best").at("accuracy"), d.best_objective = j.at("best").at("objective");
    d.best_plan = TunePlan::from_json(j.at("best").at("plan"));
    d.fp32_bytes = j.at("fp32_bytes"), d.best_bytes = j.at("best_bytes");
    for (const auto &o : j.at("ops")) {
      TuneOp op{o.at("name"), o.at("op_type"), {}};
      for (const auto &p : o.at("options"))
        op.options.push_back(precision_from_name(p.get<std::string>()));
      d.ops.push_back(op);
    }
    const auto ci = history_intervals((fs::path(workspace) / "history.jsonl").string());
    for (const auto &t : j.at("trials")) {
      ReportTrial rt;
      rt.index = t.at("index"), rt.accuracy = t.at("accuracy"), rt.objective = t.at("objective");
      rt.seconds = t.at("seconds"), rt.meets = t.at("meets"), rt.resumed = t.at("resumed");
      rt.plan = TunePlan::from_json(t.at("plan"));
      rt.summary = rt.plan.summary() + " | " + rt.plan.quant.summary();
      if (auto it = ci.find(rt.plan.key()); it != ci.end()) {
        // history holds the loss interval; the chart's axis is accuracy.
        const double a = d.accuracy_at_loss(it->second.first),
                     b = d.accuracy_at_loss(it->second.second);
        rt.ci_low = std::min(a, b), rt.ci_high = std::max(a, b);
      }
      d.trials.push_back(std::move(rt));
    }
  } catch (const json::exception &e) {
    throw InputError(path + ": " + e.what());
  }
  derive_ranking(d);
  precision_map(d);
  if (samples == 0) {
    d.errors_note = "no samples requested";
  } else {
    // The YAML's relative paths (datasets) are relative to where tune ran, as in
    // LPOT; the model paths saved here are absolute.
    const fs::path here = fs::current_path();
    fs::current_path(d.cwd);
    try {
      Config c = load_config(d.config);
      c.model.path = d.fp32_model;
      d.errors = compare_model_files(c, d.fp32_model, d.best_model, samples, threads);
    } catch (...) {
      fs::current_path(here);
      throw;
    }
    fs::current_path(here);
  }
  return d;
}

} // namespace qtune::tune
