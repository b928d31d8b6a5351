#include "tune/plan.h"

#include "qtune/error.h"

namespace qtune::tune {

std::string QuantChoice::summary() const {
  std::string s = "w:" + weight_scheme + "/" + weight_granularity + "/" + weight_algorithm +
                  " a:" + activation_scheme + "/" + activation_granularity + "/" +
                  activation_algorithm;
  if (sampling_size > 0)
    s += " n:" + std::to_string(sampling_size);
  return s;
}

std::string TunePlan::key() const {
  std::string k = quant.summary() + "|";
  for (const auto &[name, p] : ops) {
    if (p == Precision::int8)
      continue; // int8 is the default; list the exceptions
    k += name;
    k += '=';
    k += precision_name(p);
    k += ';';
  }
  return k;
}

int TunePlan::count(Precision p) const {
  int n = 0;
  for (const auto &kv : ops)
    n += kv.second == p;
  return n;
}

std::string TunePlan::summary() const {
  return "int8 " + std::to_string(count(Precision::int8)) + " / bf16 " +
         std::to_string(count(Precision::bf16)) + " / fp32 " +
         std::to_string(count(Precision::fp32));
}

std::vector<std::string> TunePlan::ops_at(Precision p) const {
  std::vector<std::string> out;
  for (const auto &kv : ops)
    if (kv.second == p)
      out.push_back(kv.first);
  return out;
}

nlohmann::json TunePlan::to_json() const {
  nlohmann::json j;
  j["weight"] = {{"scheme", quant.weight_scheme},
                 {"granularity", quant.weight_granularity},
                 {"algorithm", quant.weight_algorithm}};
  j["activation"] = {{"scheme", quant.activation_scheme},
                     {"granularity", quant.activation_granularity},
                     {"algorithm", quant.activation_algorithm}};
  j["sampling_size"] = quant.sampling_size;
  nlohmann::json ops_j = nlohmann::json::object();
  for (const auto &[name, p] : ops)
    ops_j[name] = precision_name(p);
  j["ops"] = ops_j;
  return j;
}

TunePlan TunePlan::from_json(const nlohmann::json &j) {
  TunePlan p;
  p.quant.weight_scheme = j.at("weight").at("scheme");
  p.quant.weight_granularity = j.at("weight").at("granularity");
  p.quant.weight_algorithm = j.at("weight").at("algorithm");
  p.quant.activation_scheme = j.at("activation").at("scheme");
  p.quant.activation_granularity = j.at("activation").at("granularity");
  p.quant.activation_algorithm = j.at("activation").at("algorithm");
  p.quant.sampling_size = j.at("sampling_size");
  for (const auto &[name, v] : j.at("ops").items())
    p.ops[name] = precision_from_name(v.get<std::string>());
  return p;
}

TunePlan preferred_plan(const std::vector<TuneOp> &ops, const QuantChoice &choice) {
  TunePlan p;
  p.quant = choice;
  for (const auto &op : ops)
    p.ops[op.name] = op.options.front();
  return p;
}

} // namespace qtune::tune
