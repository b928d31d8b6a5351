// "exhaustive": every model-wise choice times every subset of fallback ops,
// fewest fallbacks first, until the space or the exit policy runs out.
#include <algorithm>

#include "tune/strategy.h"

namespace qtune::tune {

namespace {

// Next k-combination of {0..n-1} in lexicographic order; false after the last.
bool next_combination(std::vector<size_t> &c, size_t n) {
  size_t k = c.size();
  for (size_t i = k; i-- > 0;) {
    if (c[i] < n - k + i) {
      ++c[i];
      for (size_t j = i + 1; j < k; ++j)
        c[j] = c[j - 1] + 1;
      return true;
    }
  }
  return false;
}

class ExhaustiveStrategy : public Strategy {
public:
  void run(TuneSession &s) override {
    std::vector<std::string> names = fallback_candidates_reversed(s.ops());
    size_t n = names.size();
    int64_t planned = static_cast<int64_t>(s.quant_space().size()) << std::min<size_t>(n, 40);
    s.set_planned_trials(planned);
    // Plans go out in runs of lookahead() (rank groups evaluate a run at once),
    // in the one-process order.
    std::vector<TunePlan> run;
    auto flush = [&] {
      const bool more = evaluate_in_order(s, run);
      run.clear();
      return more;
    };
    for (size_t k = 0; k <= n; ++k) {
      for (const auto &choice : s.quant_space()) {
        std::vector<size_t> comb(k);
        for (size_t i = 0; i < k; ++i)
          comb[i] = i;
        do {
          TunePlan p = preferred_plan(s.ops(), choice);
          for (size_t i : comb)
            p.ops[names[i]] = fallback_precision(*find_op(s.ops(), names[i]));
          run.push_back(std::move(p));
          if (static_cast<int>(run.size()) >= s.lookahead() && !flush())
            return;
        } while (k > 0 && next_combination(comb, n));
      }
    }
    flush();
  }
};

} // namespace

std::unique_ptr<Strategy> make_exhaustive_strategy() {
  return std::make_unique<ExhaustiveStrategy>();
}

} // namespace qtune::tune
