// LPOT 1.x YAML loading. Every mapping is checked against its section of the
// schema (data/yaml_schema.h: LPOT's keys and qtune's; unknown keys fail with
// their path and a did-you-mean); every scalar is read
// through helpers that report file:line:column on a wrong type or value.
#include "tune/config.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fmt/format.h>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "data/dataloader_factory.h"
#include "data/decoders.h"
#include "data/yaml_schema.h"
#include "data/yaml_util.h"
#include "ir/edit_distance.h"
#include "ir/input_file.h"
#include "qtune/error.h"
#include "tune/metric_config.h"
#include "tune/strategy.h"

namespace qtune::tune {

namespace {

using Keys = std::vector<std::string>;
using data::yaml::keys_of;
using data::yaml::names_under;

struct Reader {
  std::string file;

  std::string where(const YAML::Node &n) const {
    YAML::Mark m = n.Mark();
    if (m.is_null())
      return file;
    return file + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
  }
  [[noreturn]] void fail(const YAML::Node &n, const std::string &problem) const {
    throw InputError(where(n) + ": " + problem);
  }

  // A mapping key as a name: `{a: b}: c` is valid YAML but no option name.
  std::string key(const YAML::Node &k, const std::string &path) const {
    if (const char *kind = data::yaml::not_a_name(k))
      fail(k, "a key of '" + (path.empty() ? std::string("the file") : path) + "' is " + kind +
                  ", not a name");
    return k.Scalar();
  }

  void expect_map(const YAML::Node &n, const std::string &path) const {
    if (!n.IsMap())
      fail(n, "'" + path + "' must be a mapping");
  }

  // Fails on the first key of `n` that is not in `allowed`.
  void check_keys(const YAML::Node &n, const std::string &path, const Keys &allowed) const {
    expect_map(n, path);
    for (const auto &kv : n) {
      // found by fuzz_yaml_config: as<std::string>() threw a YAML exception
      std::string key = this->key(kv.first, path);
      if (std::find(allowed.begin(), allowed.end(), key) != allowed.end())
        continue;
      std::string msg = "unknown key '" + (path.empty() ? key : path + "." + key) + "'";
      std::string near = closest_name(key, allowed);
      if (!near.empty())
        msg += "; did you mean '" + near + "'?";
      fail(kv.first, msg);
    }
  }

  std::string str(const YAML::Node &n, const std::string &path) const {
    if (!n.IsScalar())
      fail(n, "'" + path + "' must be a string");
    return n.Scalar();
  }
  double num(const YAML::Node &n, const std::string &path) const {
    if (!n.IsScalar())
      fail(n, "'" + path + "' must be a number");
    try {
      return n.as<double>();
    } catch (const YAML::Exception &) {
      fail(n, "'" + path + "' must be a number, got '" + n.Scalar() + "'");
    }
  }
  int64_t integer(const YAML::Node &n, const std::string &path) const {
    if (!n.IsScalar())
      fail(n, "'" + path + "' must be an integer");
    try {
      return n.as<int64_t>();
    } catch (const YAML::Exception &) {
      fail(n, "'" + path + "' must be an integer, got '" + n.Scalar() + "'");
    }
  }
  bool boolean(const YAML::Node &n, const std::string &path) const {
    if (!n.IsScalar())
      fail(n, "'" + path + "' must be true or false");
    try {
      return n.as<bool>();
    } catch (const YAML::Exception &) {
      fail(n, "'" + path + "' must be true or false, got '" + n.Scalar() + "'");
    }
  }
  std::string one_of(const YAML::Node &n, const std::string &path, const Keys &values) const {
    std::string v = str(n, path);
    if (std::find(values.begin(), values.end(), v) != values.end())
      return v;
    std::string msg = "'" + path + "' has invalid value '" + v + "'";
    std::string near = closest_name(v, values);
    if (!near.empty())
      msg += "; did you mean '" + near + "'?";
    fail(n, msg);
  }
  // A string, a comma-separated string or a list of strings.
  std::vector<std::string> names(const YAML::Node &n, const std::string &path) const {
    std::vector<std::string> out;
    if (n.IsSequence()) {
      for (const auto &e : n)
        out.push_back(str(e, path));
      return out;
    }
    std::stringstream ss(str(n, path));
    std::string item;
    while (std::getline(ss, item, ',')) {
      item.erase(0, item.find_first_not_of(" \t"));
      item.erase(item.find_last_not_of(" \t") + 1);
      if (!item.empty())
        out.push_back(item);
    }
    return out;
  }
  std::vector<std::string> list_of(const YAML::Node &n, const std::string &path,
                                   const Keys &values) const {
    std::vector<std::string> out;
    if (n.IsSequence()) {
      for (const auto &e : n)
        out.push_back(one_of(e, path, values));
    } else {
      out.push_back(one_of(n, path, values));
    }
    return out;
  }
};

const Keys kDTypes = {"int8", "uint8", "bf16", "fp32", "fp16"};
const Keys kSchemes = {"sym", "asym"};
const Keys kGranularities = {"per_channel", "per_tensor"};
const Keys kAlgorithms = {"minmax", "kl", "percentile"};

TensorOptions read_tensor_options(const Reader &r, const YAML::Node &n, const std::string &path) {
  TensorOptions t;
  r.check_keys(n, path, keys_of("tensor_options"));
  if (n["dtype"])
    t.dtype = r.list_of(n["dtype"], path + ".dtype", kDTypes);
  if (n["scheme"])
    t.scheme = r.list_of(n["scheme"], path + ".scheme", kSchemes);
  if (n["granularity"])
    t.granularity = r.list_of(n["granularity"], path + ".granularity", kGranularities);
  if (n["algorithm"])
    t.algorithm = r.list_of(n["algorithm"], path + ".algorithm", kAlgorithms);
  if (n["bit"] && r.integer(n["bit"], path + ".bit") != 8)
    r.fail(n["bit"], "'" + path + ".bit' must be 8");
  return t;
}

OpOptions read_op_options(const Reader &r, const YAML::Node &n, const std::string &path) {
  OpOptions o;
  r.check_keys(n, path, keys_of("op_options"));
  if (n["weight"])
    o.weight = read_tensor_options(r, n["weight"], path + ".weight");
  if (n["activation"])
    o.activation = read_tensor_options(r, n["activation"], path + ".activation");
  return o;
}

std::map<std::string, OpOptions> read_op_map(const Reader &r, const YAML::Node &n,
                                             const std::string &path) {
  std::map<std::string, OpOptions> out;
  r.expect_map(n, path);
  for (const auto &kv : n) {
    std::string name = r.key(kv.first, path);
    out[name] = read_op_options(r, kv.second, path + "." + name);
  }
  return out;
}

// Dataset and transform names (LPOT 1.x's and ours) the data factory
// (src/data/dataloader_factory.h) builds.
const Keys kDatasets = names_under("dataset");
const Keys kTransforms = names_under("transform");

// {Name: params} with exactly one entry for datasets; any number for transforms.
void check_named_entries(const Reader &r, const YAML::Node &n, const std::string &path,
                         const Keys &names) {
  r.expect_map(n, path);
  for (const auto &kv : n) {
    std::string name = r.key(kv.first, path); // `? {a: b}` (fuzz_yaml_config)
    if (std::find(names.begin(), names.end(), name) != names.end())
      continue;
    std::string msg = "unknown " + path.substr(path.rfind('.') + 1) + " '" + name + "' at '" +
                      path + "." + name + "'";
    std::string near = closest_name(name, names);
    if (!near.empty())
      msg += "; did you mean '" + near + "'?";
    r.fail(kv.first, msg);
  }
}

// Output sizes of Resize / Letterbox / CenterCrop: each side in [1, 65536] and
// at most 100 megapixels, so `size: 2147483647` fails here instead of as a
// multi-GB allocation per image.
void check_transform_size(const Reader &r, const YAML::Node &size, const std::string &path) {
  constexpr int64_t kMaxSide = 65536, kMaxPixels = 100'000'000;
  std::vector<int64_t> sides;
  if (size.IsSequence())
    for (const auto &s : size)
      sides.push_back(r.integer(s, path));
  else
    sides.push_back(r.integer(size, path));
  int64_t pixels = 1;
  for (int64_t s : sides) {
    if (s < 1 || s > kMaxSide)
      r.fail(size, fmt::format("'{}' side {} is outside [1, {}]", path, s, kMaxSide));
    pixels *= s;
  }
  if (sides.size() == 1)
    pixels *= sides[0];
  if (pixels > kMaxPixels)
    r.fail(size, fmt::format("'{}' is {} pixels, more than {}", path, pixels, kMaxPixels));
}

void check_transform_sizes(const Reader &r, const YAML::Node &n, const std::string &path) {
  auto check_map = [&](const YAML::Node &m, const std::string &at) {
    for (const auto &kv : m)
      if (kv.second.IsMap() && kv.second["size"])
        check_transform_size(r, kv.second["size"], at + "." + kv.first.Scalar() + ".size");
  };
  if (n.IsMap())
    check_map(n, path);
  else if (n.IsSequence())
    for (size_t i = 0; i < n.size(); ++i)
      if (n[i].IsMap())
        check_map(n[i], path + "[" + std::to_string(i) + "]");
}

// The node a data-factory message is about. The factories (transforms, decoders)
// name the key path ("<base_path>.Letterbox.pad_value", "...transform[1].Resize")
// but not the line, since they may run on copies; walk that path from `base`.
// A missing key stops at the mapping that should hold it.
YAML::Node named_node(const YAML::Node &base, const std::string &base_path,
                      const std::string &message) {
  YAML::Node at = base;
  const size_t colon = message.find(": ");
  if (message.compare(0, base_path.size(), base_path) != 0 || colon == std::string::npos ||
      colon < base_path.size())
    return at;
  const std::string rest = message.substr(base_path.size(), colon - base_path.size());
  // yaml-cpp throws on lookups in odd trees (a mapping as a key: found by
  // fuzz_yaml_config); then the deepest node reached so far is the place.
  try {
    size_t i = 0;
    while (i < rest.size()) {
      YAML::Node next;
      if (rest[i] == '.') {
        size_t end = rest.find_first_of(".[", i + 1);
        std::string key = rest.substr(i + 1, end == std::string::npos ? end : end - i - 1);
        if (at.IsMap())
          next.reset(static_cast<const YAML::Node &>(at)[key]); // const: never inserts
        i = end == std::string::npos ? rest.size() : end;
      } else if (rest[i] == '[') {
        size_t end = rest.find(']', i);
        if (end == std::string::npos)
          break;
        unsigned long idx = std::strtoul(rest.c_str() + i + 1, nullptr, 10);
        if (at.IsSequence() && idx < at.size())
          next.reset(static_cast<const YAML::Node &>(at)[idx]);
        i = end + 1;
      } else {
        break;
      }
      if (!next.IsDefined() || next.Mark().is_null())
        break;
      at.reset(next); // reset, not operator=: assignment would overwrite the tree
    }
  } catch (const YAML::Exception &) {
  }
  return at;
}

DataloaderConfig read_dataloader(const Reader &r, const YAML::Node &n, const std::string &path) {
  DataloaderConfig d;
  r.check_keys(n, path, keys_of("dataloader"));
  d.node = n;
  if (n["batch_size"]) {
    d.batch_size = r.integer(n["batch_size"], path + ".batch_size");
    if (d.batch_size < 1)
      r.fail(n["batch_size"], "'" + path + ".batch_size' must be >= 1");
  }
  if (n["last_batch"])
    r.one_of(n["last_batch"], path + ".last_batch", {"rollover", "no_rollover"});
  if (n["shuffle"])
    r.boolean(n["shuffle"], path + ".shuffle");
  if (!n["dataset"])
    r.fail(n, "'" + path + "' needs a 'dataset'");
  check_named_entries(r, n["dataset"], path + ".dataset", kDatasets);
  if (n["dataset"].size() != 1)
    r.fail(n["dataset"], "'" + path + ".dataset' must name exactly one dataset");
  d.dataset_type = r.key(n["dataset"].begin()->first, path + ".dataset");
  if (n["transform"] && !n["transform"].IsNull()) {
    check_named_entries(r, n["transform"], path + ".transform", kTransforms);
    check_transform_sizes(r, n["transform"], path + ".transform");
    // Build the transforms now so a bad parameter (a wrong type, an unknown
    // interpolation) fails at load with its line, not at the first image.
    try {
      data::make_transforms(n["transform"], path + ".transform");
    } catch (const InputError &e) {
      r.fail(named_node(n["transform"], path + ".transform", e.what()), e.what());
    }
  }
  return d;
}

void read_model(const Reader &r, const YAML::Node &n, Config &c) {
  r.check_keys(n, "model", keys_of("model"));
  if (n["name"])
    c.model.name = r.str(n["name"], "model.name");
  if (!n["framework"])
    r.fail(n, "'model.framework' is required");
  c.model.framework = r.one_of(n["framework"], "model.framework",
                               {"onnxrt_integerops", "onnxrt_qlinearops", "onnxrt_qdq", "onnx",
                                "onnxruntime", "tensorflow", "pytorch", "mxnet"});
  if (n["path"])
    c.model.path = r.str(n["path"], "model.path");
  if (n["inputs"])
    c.model.inputs = r.names(n["inputs"], "model.inputs");
  if (n["outputs"])
    c.model.outputs = r.names(n["outputs"], "model.outputs");
}

void read_quantization(const Reader &r, const YAML::Node &n, Config &c) {
  auto &q = c.quantization;
  r.check_keys(n, "quantization", keys_of("quantization"));
  if (n["approach"])
    q.approach = r.one_of(n["approach"], "quantization.approach",
                          {"post_training_static_quant", "post_training_dynamic_quant"});
  if (const YAML::Node cal = n["calibration"]) {
    r.check_keys(cal, "quantization.calibration", keys_of("quantization.calibration"));
    if (const YAML::Node s = cal["sampling_size"]) {
      if (s.IsSequence()) {
        for (const auto &e : s)
          q.calibration.sampling_size.push_back(
              r.integer(e, "quantization.calibration.sampling_size"));
      } else if (s.IsScalar() && s.Scalar().find(',') != std::string::npos) {
        for (const auto &part : r.names(s, "quantization.calibration.sampling_size")) {
          try {
            q.calibration.sampling_size.push_back(std::stoll(part));
          } catch (const std::exception &) {
            r.fail(s, "'quantization.calibration.sampling_size' must be integers");
          }
        }
      } else {
        q.calibration.sampling_size.push_back(
            r.integer(s, "quantization.calibration.sampling_size"));
      }
      for (int64_t v : q.calibration.sampling_size)
        if (v < 1)
          r.fail(s, "'quantization.calibration.sampling_size' must be >= 1");
    }
    if (cal["dataloader"])
      q.calibration.dataloader =
          read_dataloader(r, cal["dataloader"], "quantization.calibration.dataloader");
  }
  if (n["model_wise"])
    q.model_wise = read_op_options(r, n["model_wise"], "quantization.model_wise");
  if (n["optype_wise"])
    q.optype_wise = read_op_map(r, n["optype_wise"], "quantization.optype_wise");
  if (n["op_wise"])
    q.op_wise = read_op_map(r, n["op_wise"], "quantization.op_wise");
  if (const YAML::Node rec = n["recipes"]) {
    r.check_keys(rec, "quantization.recipes", keys_of("quantization.recipes"));
    for (const auto &kv : rec) {
      std::string k = r.key(kv.first, "quantization.recipes");
      q.recipes[k] = r.boolean(kv.second, "quantization.recipes." + k);
      // LPOT's TensorFlow-only weight-statistics correction: qtune has no
      // such pass, so `true` is refused here instead of doing nothing.
      if (k == "weight_correction" && q.recipes[k])
        r.fail(kv.second, "'quantization.recipes.weight_correction: true' is not implemented by "
                          "qtune; use 'bias_correction: true' (per-channel, from calibration "
                          "data) or set it to false");
    }
  }
}

void read_evaluation(const Reader &r, const YAML::Node &n, Config &c) {
  r.check_keys(n, "evaluation", keys_of("evaluation"));
  if (const YAML::Node a = n["accuracy"]) {
    r.check_keys(a, "evaluation.accuracy", keys_of("evaluation.accuracy"));
    if (!a["metric"])
      r.fail(a, "'evaluation.accuracy' needs a 'metric'");
    const YAML::Node m = a["metric"];
    check_named_entries(r, m, "evaluation.accuracy.metric", metric_names());
    if (m.size() != 1)
      r.fail(m, "'evaluation.accuracy.metric' must name exactly one metric");
    c.accuracy.metric = m;
    c.accuracy.metric_name = r.key(m.begin()->first, "evaluation.accuracy.metric");
    if (c.accuracy.metric_name == "topk") {
      int64_t k = r.integer(m["topk"], "evaluation.accuracy.metric.topk");
      if (k < 1)
        r.fail(m["topk"], "'evaluation.accuracy.metric.topk' must be >= 1");
    } else if (c.accuracy.metric_name == "COCOmAP" && !m["COCOmAP"].IsNull()) {
      const YAML::Node cm = m["COCOmAP"];
      r.check_keys(cm, "evaluation.accuracy.metric.COCOmAP", keys_of("metric.COCOmAP"));
      if (const YAML::Node ids = cm["category_ids"]) {
        if (!ids.IsSequence() || ids.size() == 0)
          r.fail(ids, "'evaluation.accuracy.metric.COCOmAP.category_ids' must be a list of "
                      "COCO category ids");
        for (const auto &id : ids)
          if (r.integer(id, "evaluation.accuracy.metric.COCOmAP.category_ids") < 1)
            r.fail(id, "'evaluation.accuracy.metric.COCOmAP.category_ids' must be >= 1");
      }
    }
    if (a["dataloader"])
      c.accuracy.dataloader = read_dataloader(r, a["dataloader"], "evaluation.accuracy.dataloader");
    if (const YAML::Node p = a["postprocess"]) {
      // Decoder names and parameters are checked now (by building the decoder), so a
      // typo fails at load with the file and line, not after the FP32 baseline.
      r.expect_map(p, "evaluation.accuracy.postprocess");
      try {
        data::make_decoder(p);
      } catch (const InputError &e) {
        r.fail(named_node(p, "evaluation.accuracy.postprocess", e.what()), e.what());
      }
      c.accuracy.postprocess = p;
    }
  }
  if (const YAML::Node p = n["performance"]) {
    auto &perf = c.performance;
    r.check_keys(p, "evaluation.performance", keys_of("evaluation.performance"));
    if (p["warmup"])
      perf.warmup = r.integer(p["warmup"], "evaluation.performance.warmup");
    if (p["iteration"])
      perf.iteration = r.integer(p["iteration"], "evaluation.performance.iteration");
    if (perf.warmup < 0)
      r.fail(p["warmup"], "'evaluation.performance.warmup' must be >= 0");
    if (const YAML::Node cf = p["configs"]) {
      r.check_keys(cf, "evaluation.performance.configs", keys_of("evaluation.performance.configs"));
      if (cf["cores_per_instance"])
        perf.cores_per_instance = r.integer(cf["cores_per_instance"],
                                            "evaluation.performance.configs.cores_per_instance");
      if (cf["num_of_instance"])
        perf.num_of_instance =
            r.integer(cf["num_of_instance"], "evaluation.performance.configs.num_of_instance");
      for (const char *k : {"inter_num_of_threads", "intra_num_of_threads", "kmp_blocktime"})
        if (cf[k])
          r.integer(cf[k], std::string("evaluation.performance.configs.") + k);
    }
    if (p["dataloader"])
      perf.dataloader = read_dataloader(r, p["dataloader"], "evaluation.performance.dataloader");
  }
}

void read_tuning(const Reader &r, const YAML::Node &n, Config &c) {
  auto &t = c.tuning;
  r.check_keys(n, "tuning", keys_of("tuning"));
  if (const YAML::Node s = n["strategy"]) {
    r.check_keys(s, "tuning.strategy", keys_of("tuning.strategy"));
    if (s["name"])
      t.strategy = r.one_of(s["name"], "tuning.strategy.name", strategy_names());
  }
  if (const YAML::Node a = n["accuracy_criterion"]) {
    r.check_keys(a, "tuning.accuracy_criterion", keys_of("tuning.accuracy_criterion"));
    if (a["relative"] && a["absolute"])
      r.fail(a, "'tuning.accuracy_criterion' takes 'relative' or 'absolute', not both");
    if (a["relative"])
      t.criterion = r.num(a["relative"], "tuning.accuracy_criterion.relative");
    if (a["absolute"]) {
      t.relative = false;
      t.criterion = r.num(a["absolute"], "tuning.accuracy_criterion.absolute");
    }
    if (t.criterion < 0)
      r.fail(a["relative"] ? a["relative"] : a["absolute"], "accuracy criterion must be >= 0");
    if (a["higher_is_better"])
      t.higher_is_better =
          r.boolean(a["higher_is_better"], "tuning.accuracy_criterion.higher_is_better");
    if (a["confidence"]) {
      t.confidence = r.num(a["confidence"], "tuning.accuracy_criterion.confidence");
      if (!(t.confidence > 0 && t.confidence < 1))
        r.fail(a["confidence"], "'tuning.accuracy_criterion.confidence' must be between 0 and 1 "
                                "(e.g. 0.9)");
    }
  }
  if (n["objective"])
    t.objective =
        r.one_of(n["objective"], "tuning.objective", {"performance", "modelsize", "footprint"});
  if (const YAML::Node e = n["exit_policy"]) {
    r.check_keys(e, "tuning.exit_policy", keys_of("tuning.exit_policy"));
    if (e["timeout"])
      t.timeout = r.num(e["timeout"], "tuning.exit_policy.timeout");
    if (t.timeout < 0)
      r.fail(e["timeout"], "'tuning.exit_policy.timeout' must be >= 0");
    if (e["max_trials"])
      t.max_trials = r.integer(e["max_trials"], "tuning.exit_policy.max_trials");
    if (t.max_trials < 1)
      r.fail(e["max_trials"], "'tuning.exit_policy.max_trials' must be >= 1");
    if (e["performance_only"])
      t.performance_only = r.boolean(e["performance_only"], "tuning.exit_policy.performance_only");
  }
  if (n["random_seed"]) {
    int64_t s = r.integer(n["random_seed"], "tuning.random_seed");
    if (s < 0)
      r.fail(n["random_seed"], "'tuning.random_seed' must be >= 0");
    t.random_seed = static_cast<uint64_t>(s);
  }
  if (n["tensorboard"])
    r.boolean(n["tensorboard"], "tuning.tensorboard");
  if (n["diagnosis"])
    r.boolean(n["diagnosis"], "tuning.diagnosis");
  if (const YAML::Node w = n["workspace"]) {
    r.check_keys(w, "tuning.workspace", keys_of("tuning.workspace"));
    if (w["path"])
      t.workspace_path = r.str(w["path"], "tuning.workspace.path");
    if (w["resume"])
      t.resume = r.boolean(w["resume"], "tuning.workspace.resume");
  }
}

// yaml-cpp keeps the first of two equal keys and drops the other without a
// word, and reads `.nan` / `.inf` as numbers: both are refused for the whole
// file before any section is read.
bool non_finite_scalar(const YAML::Node &n) {
  if (!n.IsScalar() || n.Tag() != "?") // quoted scalars are strings
    return false;
  std::string s = n.Scalar();
  if (!s.empty() && (s[0] == '+' || s[0] == '-'))
    s.erase(0, 1);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s == ".nan" || s == ".inf";
}

// `visited`: source positions of the mappings and sequences already checked.
// An alias is the node it refers to (same position), so each is checked once:
// ten levels of ten aliases each would otherwise be 10^10 visits.
void check_yaml_tree(const Reader &r, const YAML::Node &n, const std::string &path,
                     std::unordered_set<int> &visited) {
  if ((n.IsMap() || n.IsSequence()) && n.Mark().pos >= 0 && !visited.insert(n.Mark().pos).second)
    return;
  if (n.IsMap()) {
    std::unordered_map<std::string, YAML::Mark> seen;
    for (const auto &kv : n) {
      std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
      std::string sub = path.empty() ? key : path + "." + key;
      auto [it, fresh] = seen.emplace(key, kv.first.Mark());
      if (!fresh)
        r.fail(kv.first, fmt::format("duplicate key '{}' (first at line {}, column {})", sub,
                                     it->second.line + 1, it->second.column + 1));
      check_yaml_tree(r, kv.second, sub, visited);
    }
  } else if (n.IsSequence()) {
    for (size_t i = 0; i < n.size(); ++i)
      check_yaml_tree(r, n[i], path + "[" + std::to_string(i) + "]", visited);
  } else if (non_finite_scalar(n)) {
    r.fail(n, fmt::format("'{}' is {}; numbers must be finite", path, n.Scalar()));
  }
}

} // namespace

std::string closest_name(const std::string &word, const std::vector<std::string> &candidates) {
  std::string best;
  size_t best_d = std::string::npos;
  for (const auto &cand : candidates) {
    size_t d = edit_distance_nocase(word, cand);
    if (d < best_d) {
      best_d = d;
      best = cand;
    }
  }
  // Close enough: at most a third of the word changed (and at least one edit allowed).
  size_t limit = std::max<size_t>(2, (word.size() + 2) / 3);
  return best_d <= limit ? best : "";
}

Config parse_config(const std::string &yaml_text, const std::string &file_name) {
  Reader r{file_name};
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::ParserException &e) {
    throw InputError(file_name + ":" + std::to_string(e.mark.line + 1) + ":" +
                     std::to_string(e.mark.column + 1) + ": YAML syntax error: " + e.msg);
  }
  if (!root.IsMap())
    throw InputError(file_name + ": the configuration must be a YAML mapping");
  std::unordered_set<int> visited;
  check_yaml_tree(r, root, "", visited);
  r.check_keys(root, "", keys_of(""));
  Config c;
  c.file = file_name;
  if (!root["model"])
    throw InputError(file_name + ": 'model' section is required");
  read_model(r, root["model"], c);
  if (root["device"])
    c.device = r.one_of(root["device"], "device", {"cpu"});
  if (root["quantization"])
    read_quantization(r, root["quantization"], c);
  if (root["evaluation"])
    read_evaluation(r, root["evaluation"], c);
  if (root["tuning"])
    read_tuning(r, root["tuning"], c);
  if (c.accuracy.present()) {
    const YAML::Node criterion =
        root["tuning"] ? root["tuning"]["accuracy_criterion"] : YAML::Node();
    apply_metric_to_tuning(c.accuracy.metric, criterion, c);
  }
  return c;
}

Config load_config(const std::string &path) {
  std::ifstream in = open_input_file(path, "configuration file");
  if (!in)
    throw InputError(path + ": cannot open configuration file");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), path);
}

} // namespace qtune::tune
