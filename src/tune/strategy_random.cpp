// "random": random model-wise choice and a random subset of ops falling back,
// drawn from the session's seeded generator, until the exit policy stops it.
#include <set>

#include "tune/strategy.h"

namespace qtune::tune {

namespace {

class RandomStrategy : public Strategy {
public:
  void run(TuneSession &s) override {
    auto &rng = s.rng();
    // Integer draws only: std:: distributions differ between standard libraries.
    int repeats = 0;
    while (!s.finished() && repeats < 1000) {
      const auto &space = s.quant_space();
      TunePlan p = preferred_plan(s.ops(), space[rng() % space.size()]);
      for (const auto &op : s.ops())
        if (op.can_fall_back())
          p.ops[op.name] = op.options[rng() % op.options.size()];
      bool seen = !seen_.insert(p.key()).second;
      if (!s.evaluate(p))
        return;
      repeats = seen ? repeats + 1 : 0; // stop when the space is used up
    }
  }

private:
  std::set<std::string> seen_;
};

} // namespace

std::unique_ptr<Strategy> make_random_strategy() {
  return std::make_unique<RandomStrategy>();
}

} // namespace qtune::tune
