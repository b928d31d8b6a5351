#pragma once
// Every tuning strategy, by the name the YAML gives in tuning.strategy.name.
// Adding a strategy: write strategy_<name>.cpp with
// `std::unique_ptr<Strategy> make_<name>_strategy()` and add one line below;
// make_strategy and the YAML validation read this list.
#define QTUNE_STRATEGIES(X)                                                                        \
  X(basic)                                                                                         \
  X(sensitivity)                                                                                   \
  X(mse)                                                                                           \
  X(random)                                                                                        \
  X(exhaustive)
