// LPOT 1.x "basic": model-wise trials over the cartesian product of options;
// then one-by-one fallback of each op (reverse topological order), recording the
// accuracy each fallback gives; then accumulated fallback in the order of that
// measured impact (largest accuracy gain first).
#include <algorithm>

#include "tune/strategy.h"

namespace qtune::tune {

namespace {

class BasicStrategy : public Strategy {
public:
  void run(TuneSession &s) override {
    std::vector<std::string> candidates = fallback_candidates_reversed(s.ops());
    s.set_planned_trials(static_cast<int64_t>(s.quant_space().size() + 2 * candidates.size()));
    const Trial *best = tune_model_wise(s, /*first_only=*/false);
    if (!best || s.finished())
      return;
    const TunePlan base = best->plan;

    // One-by-one fallback: how much does each op alone cost? (Independent
    // plans: under mpirun rank groups evaluate several at once.)
    std::vector<TunePlan> alone;
    for (const auto &name : candidates) {
      alone.push_back(base);
      alone.back().ops[name] = fallback_precision(*find_op(s.ops(), name));
    }
    std::vector<std::pair<std::string, double>> impact;
    if (!evaluate_in_order(s, alone, [&](const Trial &t) {
          impact.emplace_back(candidates[impact.size()], t.accuracy);
        }))
      return;
    std::stable_sort(impact.begin(), impact.end(),
                     [&](const auto &a, const auto &b) { return s.better(a.second, b.second); });

    // Accumulated fallback, most helpful first.
    std::vector<std::string> order;
    for (const auto &[name, accuracy] : impact)
      order.push_back(name);
    evaluate_in_order(s, cumulative_fallbacks(s, base, order));
  }
};

} // namespace

std::unique_ptr<Strategy> make_basic_strategy() {
  return std::make_unique<BasicStrategy>();
}

} // namespace qtune::tune
