#include "tune/strategy.h"

#include <algorithm>

#include "qtune/error.h"

namespace qtune::tune {

std::unique_ptr<Strategy> make_basic_strategy();
std::unique_ptr<Strategy> make_sensitivity_strategy();
std::unique_ptr<Strategy> make_mse_strategy();
std::unique_ptr<Strategy> make_random_strategy();
std::unique_ptr<Strategy> make_exhaustive_strategy();

std::unique_ptr<Strategy> make_strategy(const std::string &name) {
  if (name == "basic")
    return make_basic_strategy();
  if (name == "sensitivity")
    return make_sensitivity_strategy();
  if (name == "mse")
    return make_mse_strategy();
  if (name == "random")
    return make_random_strategy();
  if (name == "exhaustive")
    return make_exhaustive_strategy();
  throw InputError("unknown tuning strategy '" + name +
                   "' (expected basic, sensitivity, mse, random or exhaustive)");
}

std::vector<std::string> fallback_candidates_reversed(const std::vector<TuneOp> &ops) {
  std::vector<std::string> out;
  for (auto it = ops.rbegin(); it != ops.rend(); ++it)
    if (it->can_fall_back() && it->options.front() == Precision::int8)
      out.push_back(it->name);
  return out;
}

Precision fallback_precision(const TuneOp &op) {
  for (Precision p : op.options)
    if (p == Precision::bf16)
      return p;
  return Precision::fp32;
}

const TuneOp *find_op(const std::vector<TuneOp> &ops, const std::string &name) {
  for (const auto &op : ops)
    if (op.name == name)
      return &op;
  return nullptr;
}

const Trial *tune_model_wise(TuneSession &s, bool first_only) {
  const Trial *best = nullptr;
  for (const auto &choice : s.quant_space()) {
    const Trial *t = s.evaluate(preferred_plan(s.ops(), choice));
    if (!t)
      return best;
    if (!best || s.better(t->accuracy, best->accuracy))
      best = t;
    if (first_only)
      break;
  }
  return best;
}

std::vector<std::string> rank_by_damage(TuneSession &s, const TunePlan &plan) {
  std::map<std::string, double> damage = s.op_damage(plan);
  std::vector<std::string> names;
  for (const auto &op : s.ops())
    if (op.can_fall_back() && plan.ops.at(op.name) == Precision::int8)
      names.push_back(op.name);
  // Stable: equal damage keeps topological order, so ranking is deterministic.
  std::stable_sort(names.begin(), names.end(), [&](const std::string &a, const std::string &b) {
    return damage[a] > damage[b];
  });
  return names;
}

} // namespace qtune::tune
