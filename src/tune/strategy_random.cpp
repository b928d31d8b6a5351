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
    // Plans are drawn a few ahead (lookahead, for rank groups): the draws do not
    // depend on results, so the sequence is the same as drawing one at a time.
    int repeats = 0;
    for (;;) {
      std::vector<TunePlan> next;
      for (int i = 0; i < s.lookahead(); ++i)
        next.push_back(draw(s, rng));
      s.announce(next);
      for (const TunePlan &p : next) {
        if (s.finished() || repeats >= 1000)
          return;
        bool seen = !seen_.insert(p.key()).second;
        if (!s.evaluate(p))
          return;
        repeats = seen ? repeats + 1 : 0; // stop when the space is used up
      }
    }
  }

private:
  static TunePlan draw(TuneSession &s, std::mt19937_64 &rng) {
    const auto &space = s.quant_space();
    TunePlan p = preferred_plan(s.ops(), space[rng() % space.size()]);
    for (const auto &op : s.ops())
      if (op.can_fall_back())
        p.ops[op.name] = op.options[rng() % op.options.size()];
    return p;
  }

  std::set<std::string> seen_;
};

} // namespace

std::unique_ptr<Strategy> make_random_strategy() {
  return std::make_unique<RandomStrategy>();
}

} // namespace qtune::tune
