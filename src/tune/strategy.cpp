#include "tune/strategy.h"

#include <algorithm>

#include "qtune/error.h"
#include "tune/strategy_list.h"

namespace qtune::tune {

#define QTUNE_DECLARE_STRATEGY(name) std::unique_ptr<Strategy> make_##name##_strategy();
QTUNE_STRATEGIES(QTUNE_DECLARE_STRATEGY)
#undef QTUNE_DECLARE_STRATEGY

const std::vector<std::string> &strategy_names() {
#define QTUNE_STRATEGY_NAME(name) #name,
  static const std::vector<std::string> names{QTUNE_STRATEGIES(QTUNE_STRATEGY_NAME)};
#undef QTUNE_STRATEGY_NAME
  return names;
}

std::unique_ptr<Strategy> make_strategy(const std::string &name) {
#define QTUNE_MAKE_STRATEGY(id)                                                                    \
  if (name == #id)                                                                                 \
    return make_##id##_strategy();
  QTUNE_STRATEGIES(QTUNE_MAKE_STRATEGY)
#undef QTUNE_MAKE_STRATEGY
  std::string expected;
  for (const std::string &n : strategy_names())
    expected += (expected.empty() ? "" : ", ") + n;
  throw InputError("unknown tuning strategy '" + name + "' (expected one of " + expected + ")");
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
  std::vector<TunePlan> plans;
  for (const auto &choice : s.quant_space()) {
    plans.push_back(preferred_plan(s.ops(), choice));
    if (first_only)
      break;
  }
  const Trial *best = nullptr;
  evaluate_in_order(s, plans, [&](const Trial &t) {
    if (!best || s.better(t.accuracy, best->accuracy))
      best = &t;
  });
  return best;
}

bool evaluate_in_order(TuneSession &s, const std::vector<TunePlan> &plans,
                       const std::function<void(const Trial &)> &each) {
  s.announce(plans);
  for (const TunePlan &p : plans) {
    const Trial *t = s.evaluate(p);
    if (!t)
      return false;
    if (each)
      each(*t);
  }
  return true;
}

std::vector<TunePlan> cumulative_fallbacks(const TuneSession &s, TunePlan base,
                                           const std::vector<std::string> &names) {
  std::vector<TunePlan> out;
  for (const std::string &name : names) {
    base.ops[name] = fallback_precision(*find_op(s.ops(), name));
    out.push_back(base);
  }
  return out;
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
