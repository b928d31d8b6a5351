// LPOT's "mse": model-wise trials like basic, then rank the int8 ops once by the
// error they leave in their outputs against FP32 (all ops quantized) and fall
// them back cumulatively, largest error first.
#include "tune/strategy.h"

namespace qtune::tune {

namespace {

class MseStrategy : public Strategy {
public:
  void run(TuneSession &s) override {
    std::vector<std::string> candidates = fallback_candidates_reversed(s.ops());
    s.set_planned_trials(static_cast<int64_t>(s.quant_space().size() + candidates.size()));
    const Trial *best = tune_model_wise(s, /*first_only=*/false);
    if (!best || s.finished())
      return;
    TunePlan acc = best->plan;
    for (const auto &name : rank_by_damage(s, acc)) {
      acc.ops[name] = fallback_precision(*find_op(s.ops(), name));
      if (!s.evaluate(acc))
        return;
    }
  }
};

} // namespace

std::unique_ptr<Strategy> make_mse_strategy() {
  return std::make_unique<MseStrategy>();
}

} // namespace qtune::tune
