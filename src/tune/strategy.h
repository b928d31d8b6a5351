#pragma once
// Strategies propose plans; the session evaluates them (or finds them in the
// resumed history), records every trial and applies the exit policy. A strategy
// is a plain loop: ask `session.evaluate(plan)` until it returns null.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tune/bootstrap.h"
#include "tune/plan.h"

namespace qtune::tune {

struct Trial {
  int index = 0; // 1-based order in this run
  TunePlan plan;
  double accuracy = 0;
  double objective = 0;
  double seconds = 0;
  LossInterval interval; // bootstrap interval of the loss (valid with per-sample results)
  bool meets = false;    // within the accuracy criterion
  bool resumed = false;  // taken from history, not evaluated again
};

class TuneSession {
public:
  virtual ~TuneSession() = default;
  virtual const std::vector<TuneOp> &ops() const = 0;
  virtual const std::vector<QuantChoice> &quant_space() const = 0;
  virtual double baseline() const = 0;
  virtual bool higher_is_better() const = 0;
  // Evaluates `plan` (once per run; repeats return the first result). Null
  // when the exit policy has ended the search.
  virtual const Trial *evaluate(const TunePlan &plan) = 0;
  virtual bool finished() const = 0;
  virtual std::map<std::string, double> op_damage(const TunePlan &plan) = 0;
  virtual std::mt19937_64 &rng() = 0;
  // How many trials the strategy expects to need (for "trial k of N" and ETA).
  virtual void set_planned_trials(int64_t n) = 0;
  // The plans the strategy will evaluate next, in this order, unless a result
  // changes its mind (replaces the last announcement). Under mpirun with rank
  // groups the session evaluates the next few together; it still hands out
  // results and decides in this order, and drops results a one-process run
  // would not have computed, so history and choice are a one-process run's.
  virtual void announce(std::vector<TunePlan>) {}
  // How many plans a strategy that draws them (random) should announce at once.
  virtual int lookahead() const { return 1; }

  // a is better accuracy than b.
  bool better(double a, double b) const { return higher_is_better() ? a > b : a < b; }
};

class Strategy {
public:
  virtual ~Strategy() = default;
  virtual void run(TuneSession &session) = 0;
};

// The strategies of tune/strategy_list.h, by name; throws InputError otherwise.
std::unique_ptr<Strategy> make_strategy(const std::string &name);
const std::vector<std::string> &strategy_names();

// Helpers shared by strategies.
// Ops that may leave int8, in reverse topological order.
std::vector<std::string> fallback_candidates_reversed(const std::vector<TuneOp> &ops);
// The precision an op falls back to (bf16 when allowed, else fp32).
Precision fallback_precision(const TuneOp &op);
const TuneOp *find_op(const std::vector<TuneOp> &ops, const std::string &name);
// Evaluates every model-wise choice with all ops at their preferred precision;
// returns the best trial (null if the search ended before any).
const Trial *tune_model_wise(TuneSession &s, bool first_only);
// Announces `plans`, then evaluates them in order, calling `each` with every
// trial; false when the search ended before the last.
bool evaluate_in_order(TuneSession &s, const std::vector<TunePlan> &plans,
                       const std::function<void(const Trial &)> &each = {});
// `base` with the ops of `names` fallen back cumulatively: plan k falls back names[0..k].
std::vector<TunePlan> cumulative_fallbacks(const TuneSession &s, TunePlan base,
                                           const std::vector<std::string> &names);
// Ops of `plan` at int8 that can fall back, sorted by damage (most harmful first).
std::vector<std::string> rank_by_damage(TuneSession &s, const TunePlan &plan);

} // namespace qtune::tune
