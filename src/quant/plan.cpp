#include "quant/plan.h"

#include <unordered_map>

#include "qtune/error.h"

namespace qtune::quant {

namespace {

// Every recipe by its YAML key: plan JSON, YAML and the defaults read this one list.
const std::pair<const char *, bool Recipes::*> kRecipeFields[] = {
    {"first_conv_or_matmul_quantization", &Recipes::first_conv_or_matmul_quantization},
    {"last_conv_or_matmul_quantization", &Recipes::last_conv_or_matmul_quantization},
    {"scale_propagation_max_pooling", &Recipes::scale_propagation_max_pooling},
    {"scale_propagation_concat", &Recipes::scale_propagation_concat},
    {"concat_fork_own_scale", &Recipes::concat_fork_own_scale},
    {"fast_bias_correction", &Recipes::fast_bias_correction},
    {"bias_correction", &Recipes::bias_correction},
    {"depthwise_range_check", &Recipes::depthwise_range_check},
    {"cross_layer_equalization", &Recipes::cross_layer_equalization},
    {"consumer_error_clipping", &Recipes::consumer_error_clipping},
    {"weight_refit", &Recipes::weight_refit},
    {"activation_equalization", &Recipes::activation_equalization},
    {"activation_table", &Recipes::activation_table}};

} // namespace

const char *precision_name(Precision p) {
  switch (p) {
  case Precision::int8:
    return "int8";
  case Precision::bf16:
    return "bf16";
  case Precision::fp32:
    return "fp32";
  }
  return "?";
}

Precision precision_from_name(const std::string &s) {
  if (s == "int8" || s == "uint8")
    return Precision::int8;
  if (s == "bf16")
    return Precision::bf16;
  if (s == "fp32")
    return Precision::fp32;
  throw InputError("unknown precision '" + s + "' (expected int8, bf16 or fp32)");
}

void DecisionOverride::apply(NodeDecision &d) const {
  if (precision)
    d.precision = *precision;
  if (weight_per_channel)
    d.weight.per_channel = *weight_per_channel;
  if (activation_asymmetric)
    d.activation.asymmetric = *activation_asymmetric;
  if (activation_algorithm)
    d.activation.algorithm = *activation_algorithm;
  if (activation_percentile)
    d.activation.percentile = *activation_percentile;
}

// JSON mirrors LPOT's YAML words: {"precision": "int8", "weight": {"granularity":
// "per_channel"}, "activation": {"scheme": "asym", "algorithm": "kl"}}.
nlohmann::json DecisionOverride::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  if (precision)
    j["precision"] = precision_name(*precision);
  if (weight_per_channel)
    j["weight"]["granularity"] = *weight_per_channel ? "per_channel" : "per_tensor";
  if (activation_asymmetric)
    j["activation"]["scheme"] = *activation_asymmetric ? "asym" : "sym";
  if (activation_algorithm)
    j["activation"]["algorithm"] = calib_algorithm_name(*activation_algorithm);
  if (activation_percentile)
    j["activation"]["percentile"] = *activation_percentile;
  return j;
}

static std::string json_string(const nlohmann::json &j, const char *key, const std::string &where) {
  if (!j.at(key).is_string())
    throw InputError(where + "." + key + ": expected a string");
  return j.at(key).get<std::string>();
}

static bool parse_granularity(const std::string &s, const std::string &where) {
  if (s == "per_channel")
    return true;
  if (s == "per_tensor")
    return false;
  throw InputError(where + ": unknown granularity '" + s + "' (per_channel or per_tensor)");
}

static bool parse_scheme(const std::string &s, const std::string &where) {
  if (s == "asym")
    return true;
  if (s == "sym")
    return false;
  throw InputError(where + ": unknown scheme '" + s + "' (asym or sym)");
}

DecisionOverride DecisionOverride::from_json(const nlohmann::json &j, const std::string &where) {
  if (!j.is_object())
    throw InputError(where + ": expected an object");
  DecisionOverride o;
  try {
    if (j.contains("precision")) {
      o.precision = precision_from_name(json_string(j, "precision", where));
    }
    if (j.contains("weight")) {
      const auto &w = j.at("weight");
      if (w.contains("granularity"))
        o.weight_per_channel = parse_granularity(json_string(w, "granularity", where + ".weight"),
                                                 where + ".weight.granularity");
      if (w.contains("scheme") && json_string(w, "scheme", where + ".weight") != "sym")
        throw InputError(where + ".weight.scheme: only sym weights are supported");
    }
    if (j.contains("activation")) {
      const auto &a = j.at("activation");
      const std::string aw = where + ".activation";
      if (a.contains("scheme"))
        o.activation_asymmetric = parse_scheme(json_string(a, "scheme", aw), aw + ".scheme");
      if (a.contains("algorithm"))
        o.activation_algorithm = calib_algorithm_from_name(json_string(a, "algorithm", aw));
      if (a.contains("percentile"))
        o.activation_percentile = a.at("percentile").get<double>();
    }
  } catch (const InputError &e) {
    if (std::string(e.what()).rfind(where, 0) == 0)
      throw;
    throw InputError(where + ": " + e.what());
  } catch (const nlohmann::json::exception &e) {
    throw InputError(where + ": " + e.what());
  }
  return o;
}

NodeDecision Plan::decide(const Node &node) const {
  NodeDecision d = model_wise;
  if (auto it = optype_wise.find(node.op_type); it != optype_wise.end())
    it->second.apply(d);
  if (auto it = op_wise.find(node.name); it != op_wise.end())
    it->second.apply(d);
  return d;
}

static DecisionOverride full_override(const NodeDecision &d) {
  DecisionOverride o;
  o.precision = d.precision;
  o.weight_per_channel = d.weight.per_channel;
  o.activation_asymmetric = d.activation.asymmetric;
  o.activation_algorithm = d.activation.algorithm;
  o.activation_percentile = d.activation.percentile;
  return o;
}

nlohmann::json Plan::to_json() const {
  nlohmann::json j;
  j["model_wise"] = full_override(model_wise).to_json();
  j["optype_wise"] = nlohmann::json::object();
  for (const auto &[k, v] : optype_wise)
    j["optype_wise"][k] = v.to_json();
  j["op_wise"] = nlohmann::json::object();
  for (const auto &[k, v] : op_wise)
    j["op_wise"][k] = v.to_json();
  j["recipes"] = nlohmann::json::object();
  for (const auto &[key, field] : kRecipeFields)
    j["recipes"][key] = recipes.*field;
  return j;
}

Plan Plan::from_json(const nlohmann::json &j, const std::string &where) {
  if (!j.is_object())
    throw InputError(where + ": expected an object");
  Plan p;
  if (j.contains("model_wise"))
    DecisionOverride::from_json(j.at("model_wise"), where + ".model_wise").apply(p.model_wise);
  for (const char *level : {"optype_wise", "op_wise"}) {
    if (!j.contains(level))
      continue;
    auto &dst = std::string(level) == "optype_wise" ? p.optype_wise : p.op_wise;
    if (!j.at(level).is_object())
      throw InputError(where + "." + level + ": expected an object");
    for (const auto &[k, v] : j.at(level).items())
      dst[k] = DecisionOverride::from_json(v, where + "." + level + "." + k);
  }
  if (j.contains("recipes")) {
    const auto &r = j.at("recipes");
    auto flag = [&](const char *key, bool &out) {
      if (!r.contains(key))
        return;
      if (!r.at(key).is_boolean())
        throw InputError(where + ".recipes." + key + ": expected true or false");
      out = r.at(key).get<bool>();
    };
    for (const auto &[key, field] : kRecipeFields)
      flag(key, p.recipes.*field);
  }
  return p;
}

Recipes recipes_from(const std::map<std::string, bool> &yaml) {
  Recipes r;
  for (const auto &[key, field] : kRecipeFields)
    if (auto it = yaml.find(key); it != yaml.end())
      r.*field = it->second;
  return r;
}

// Quantizing a gated activation's Mul would put per-tensor Q/DQ on the raw
// pre-activation and on the gate, which loses most of the precision of small
// activations (YOLOX-Nano: the stem's SiLU alone raises the output error to
// 0.19 NMSE), so it is never a quantizable node.
std::optional<std::string>
gated_activation_input(const Node &mul, const Graph &g,
                       const std::unordered_map<std::string, size_t> &producers) {
  if (mul.op_type != "Mul" || mul.inputs.size() != 2)
    return std::nullopt;
  for (int k = 0; k < 2; ++k) {
    auto it = producers.find(mul.inputs[k]);
    if (it == producers.end())
      continue;
    const Node &gate = g.nodes[it->second];
    if ((gate.op_type == "Sigmoid" || gate.op_type == "HardSigmoid") && gate.domain.empty() &&
        gate.inputs.at(0) == mul.inputs[1 - k])
      return mul.inputs[1 - k];
  }
  return std::nullopt;
}

namespace {

class QuantizableFilter {
public:
  explicit QuantizableFilter(const Graph &g) : g_(g), producers_(g.producers()) {}
  bool operator()(const Node &n) const {
    if (!quant_role(n) || n.attrs.count(kChannelScaleAttr))
      return false;
    return !gated_activation_input(n, g_, producers_);
  }

private:
  const Graph &g_;
  std::unordered_map<std::string, size_t> producers_;
};

} // namespace

std::vector<QuantizableNode> list_quantizable_nodes(const Graph &g) {
  QuantizableFilter quantizable(g);
  std::vector<QuantizableNode> out;
  for (const Node &n : g.nodes)
    if (quantizable(n))
      out.push_back({n.name, n.op_type, *quant_role(n)});
  return out;
}

namespace {

// The level of the plan that set a node's (non-int8) precision, in its words.
std::string plan_level_reason(const Plan &plan, const Node &n, Precision p) {
  const std::string prec = precision_name(p);
  if (auto it = plan.op_wise.find(n.name); it != plan.op_wise.end() && it->second.precision)
    return it->second.reason.empty() ? "yaml: op_wise sets " + prec : it->second.reason;
  if (auto it = plan.optype_wise.find(n.op_type);
      it != plan.optype_wise.end() && it->second.precision)
    return it->second.reason.empty() ? "yaml: optype_wise " + n.op_type + " sets " + prec
                                     : it->second.reason;
  return "yaml: model_wise sets " + prec;
}

} // namespace

std::map<std::string, NodeDecision> resolve_plan(const Graph &g, const Plan &plan,
                                                 std::map<std::string, std::string> *why) {
  std::map<std::string, NodeDecision> out;
  std::vector<const Node *> compute; // Conv / MatMul / Gemm in graph order
  QuantizableFilter quantizable(g);
  for (const Node &n : g.nodes) {
    if (!quantizable(n))
      continue;
    out[n.name] = plan.decide(n);
    if (why && out[n.name].precision != Precision::int8)
      (*why)[n.name] = plan_level_reason(plan, n, out[n.name].precision);
    if (*quant_role(n) == QuantRole::compute)
      compute.push_back(&n);
  }
  // The first / last compute node in topological order (LPOT's meaning); an
  // explicit op_wise entry wins over either recipe.
  auto keep_fp32 = [&](const Node *n, const char *recipe) {
    if (plan.op_wise.count(n->name))
      return;
    if (why && out[n->name].precision != Precision::fp32)
      (*why)[n->name] = std::string("recipe: ") + recipe + " is false";
    out[n->name].precision = Precision::fp32;
  };
  if (!compute.empty() && !plan.recipes.first_conv_or_matmul_quantization)
    keep_fp32(compute.front(), "first_conv_or_matmul_quantization");
  if (!compute.empty() && !plan.recipes.last_conv_or_matmul_quantization)
    keep_fp32(compute.back(), "last_conv_or_matmul_quantization");
  return out;
}

} // namespace qtune::quant
