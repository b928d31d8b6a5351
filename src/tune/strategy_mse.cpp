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
    const TunePlan &base = best->plan;
    evaluate_in_order(s, cumulative_fallbacks(s, base, rank_by_damage(s, base)));
  }
};

} // namespace

std::unique_ptr<Strategy> make_mse_strategy() {
  return std::make_unique<MseStrategy>();
}

} // namespace qtune::tune
