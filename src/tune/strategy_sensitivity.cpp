// "sensitivity" (our default): one all-int8 trial, then rank the int8 ops by the
// damage each does (cheap per-op error against FP32 on a small subset) and fall
// back the most damaging op first. A fallback that improves accuracy is kept;
// one that does not is undone, and only then is the ranking measured again on
// the current plan (the kept fallbacks change how errors propagate). If every
// op has been tried alone without reaching the goal, the remaining ops are
// fallen back cumulatively in ranking order so the search still converges.
#include <set>

#include "tune/strategy.h"

namespace qtune::tune {

namespace {

class SensitivityStrategy : public Strategy {
public:
  void run(TuneSession &s) override {
    s.set_planned_trials(1 + static_cast<int64_t>(fallback_candidates_reversed(s.ops()).size()));
    const Trial *cur = tune_model_wise(s, /*first_only=*/true);
    if (!cur || s.finished())
      return;
    TunePlan plan = cur->plan;
    double accuracy = cur->accuracy;

    std::set<std::string> tried;
    std::vector<std::string> ranking = rank_by_damage(s, plan);
    bool changed_since_rank = false;
    while (!s.finished()) {
      const std::string *next = nullptr;
      for (const auto &name : ranking)
        if (!tried.count(name) && plan.ops.at(name) == Precision::int8) {
          next = &name;
          break;
        }
      if (!next)
        break;
      std::string name = *next;
      tried.insert(name);
      s.announce(next_candidates(s, plan, ranking, tried, name));
      TunePlan candidate = plan;
      candidate.ops[name] = fallback_precision(*find_op(s.ops(), name));
      const Trial *t = s.evaluate(candidate);
      if (!t)
        return;
      if (s.better(t->accuracy, accuracy)) {
        plan = candidate;
        accuracy = t->accuracy;
        changed_since_rank = true;
      } else if (changed_since_rank) {
        ranking = rank_by_damage(s, plan);
        changed_since_rank = false;
      }
    }
    if (s.finished())
      return;
    // Last resort: accumulate the remaining fallbacks in ranking order.
    evaluate_in_order(s, cumulative_fallbacks(s, plan, rank_by_damage(s, plan)));
  }

private:
  // `plan` with `first` fallen back alone, then with each later untried op of
  // the ranking alone: what the loop evaluates next while no fallback helps
  // (rank groups run them ahead; a result that changes the plan drops the rest).
  static std::vector<TunePlan> next_candidates(TuneSession &s, const TunePlan &plan,
                                               const std::vector<std::string> &ranking,
                                               const std::set<std::string> &tried,
                                               const std::string &first) {
    std::vector<TunePlan> out;
    for (const auto &name : ranking) {
      if (static_cast<int>(out.size()) >= s.lookahead())
        break;
      if (name != first && (tried.count(name) || plan.ops.at(name) != Precision::int8))
        continue; // (ops before `first` in the ranking are all tried or not int8)
      out.push_back(plan);
      out.back().ops[name] = fallback_precision(*find_op(s.ops(), name));
    }
    return out;
  }
};

} // namespace

std::unique_ptr<Strategy> make_sensitivity_strategy() {
  return std::make_unique<SensitivityStrategy>();
}

} // namespace qtune::tune
