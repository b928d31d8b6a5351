#include "tune/metric_config.h"

#include "data/yaml_schema.h"
#include "data/yaml_util.h"
#include "qtune/error.h"
#include "tune/config.h"

namespace qtune::tune {

namespace {

[[noreturn]] void fail(const std::string &file, const YAML::Node &n, const std::string &problem) {
  YAML::Mark m = n.Mark();
  std::string where =
      m.is_null() ? file
                  : file + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
  throw InputError(where + ": " + problem);
}

// Keys of metric parameters `p` against schema section `section` (data/yaml_schema.h).
void check_params(const std::string &file, const YAML::Node &p, const std::string &path,
                  std::string_view section) {
  const std::vector<std::string> allowed = data::yaml::keys_of(section);
  if (!p || p.IsNull())
    return;
  if (!p.IsMap())
    fail(file, p, "'" + path + "' takes a mapping of parameters (or {})");
  for (const auto &kv : p) {
    if (const char *kind = data::yaml::not_a_name(kv.first)) // `{a: 1}: 2`
      fail(file, kv.first, "a key of '" + path + "' is " + kind + ", not a name");
    std::string key = kv.first.Scalar();
    bool known = false;
    for (const auto &a : allowed)
      known = known || a == key;
    if (!known) {
      std::string list;
      for (const auto &a : allowed)
        list += (list.empty() ? "" : ", ") + a;
      fail(file, kv.first,
           "unknown key '" + path + "." + key + "'" +
               (list.empty() ? " (it takes no parameters)" : " (accepted: " + list + ")"));
    }
  }
}

// MSE / RMSE / MAE: LPOT's compare_label (default true: compare with labels).
void read_compare_label(const std::string &file, const YAML::Node &p, const std::string &path) {
  check_params(file, p, path, "metric." + path.substr(path.rfind('.') + 1));
  bool compare_label = true;
  if (p && p.IsMap() && p["compare_label"]) {
    try {
      compare_label = p["compare_label"].as<bool>();
    } catch (const YAML::Exception &) {
      fail(file, p["compare_label"], "'" + path + ".compare_label' must be true or false");
    }
  }
  if (compare_label)
    fail(file, p && p.IsMap() && p["compare_label"] ? p["compare_label"] : p,
         "'" + path + "' compares the model outputs with labels, and the datasets qtune reads " +
             "carry class or box labels only: set 'compare_label: false' to compare with the " +
             "FP32 model's outputs");
}

} // namespace

const std::vector<std::string> &metric_names() {
  static const std::vector<std::string> names = data::yaml::names_under("metric");
  return names;
}

MetricSpec read_metric_spec(const YAML::Node &metric, const std::string &file) {
  MetricSpec s;
  if (const char *kind = data::yaml::not_a_name(metric.begin()->first))
    fail(file, metric.begin()->first, std::string("the metric's name is ") + kind + ", not a name");
  s.name = metric.begin()->first.Scalar();
  const YAML::Node p = metric.begin()->second;
  const std::string path = "evaluation.accuracy.metric." + s.name;
  if (s.name == "topk") {
    s.kind = MetricKind::topk;
    s.k = p.as<int>();
  } else if (s.name == "COCOmAP") {
    s.kind = MetricKind::coco_map; // parameters checked in config.cpp
  } else if (s.name == "Accuracy") {
    s.kind = MetricKind::accuracy;
    check_params(file, p, path, "metric." + s.name);
  } else if (s.name == "MSE" || s.name == "RMSE" || s.name == "MAE") {
    s.kind = s.name == "MSE"    ? MetricKind::mse
             : s.name == "RMSE" ? MetricKind::rmse
                                : MetricKind::mae;
    read_compare_label(file, p, path);
    s.higher_is_better = false;
    s.uses_fp32 = true;
    s.perfect_is_zero = true;
  } else if (s.name == "Loss") {
    s.kind = MetricKind::loss;
    check_params(file, p, path, "metric." + s.name);
    s.higher_is_better = false;
  } else if (s.name == "FidelityCOCOmAP") {
    s.kind = MetricKind::fidelity_coco_map;
    check_params(file, p, path, "metric.FidelityCOCOmAP");
    if (p && p.IsMap() && p["score_threshold"]) {
      try {
        s.score_threshold = p["score_threshold"].as<double>();
      } catch (const YAML::Exception &) {
        fail(file, p["score_threshold"], "'" + path + ".score_threshold' must be a number");
      }
      if (!(s.score_threshold >= 0 && s.score_threshold < 1))
        fail(file, p["score_threshold"], "'" + path + ".score_threshold' must be in [0, 1)");
    }
    s.uses_fp32 = true;
  } else if (s.name == "FidelityTop1") {
    s.kind = MetricKind::fidelity_top1;
    check_params(file, p, path, "metric." + s.name);
    s.uses_fp32 = true;
  } else if (s.name == "FidelityRelativeL2") {
    s.kind = MetricKind::fidelity_relative_l2;
    check_params(file, p, path, "metric." + s.name);
    s.higher_is_better = false;
    s.uses_fp32 = true;
    s.perfect_is_zero = true;
  } else {
    fail(file, metric.begin()->first, "unknown metric '" + s.name + "'");
  }
  return s;
}

void apply_metric_to_tuning(const YAML::Node &metric, const YAML::Node &criterion, Config &c) {
  MetricSpec s = read_metric_spec(metric, c.file);
  const YAML::Node given =
      criterion && criterion.IsMap() ? criterion["higher_is_better"] : YAML::Node();
  if (!given) {
    c.tuning.higher_is_better = s.higher_is_better;
  } else if (c.tuning.higher_is_better && s.perfect_is_zero) {
    // An error measure (0 = identical to FP32) can only be lower-is-better;
    // other metrics follow the YAML, as in LPOT (e.g. a Loss the user negated).
    fail(c.file, given,
         "metric '" + s.name +
             "' is lower-is-better; 'tuning.accuracy_criterion.higher_is_better' says true");
  }
  if (s.perfect_is_zero && c.tuning.relative)
    fail(c.file,
         criterion && criterion.IsMap() && criterion["relative"] ? criterion["relative"] : metric,
         "metric '" + s.name + "' is 0 for the FP32 model itself, so a relative loss is " +
             "undefined: give 'tuning.accuracy_criterion.absolute' (e.g. 0.05)");
}

} // namespace qtune::tune
