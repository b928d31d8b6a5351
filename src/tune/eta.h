#pragma once
// The tuning progress line's ETA: the trials the strategy still plans times the
// measured cost of a trial, or nothing when the strategy plans no count. With
// the default exit policy (timeout 0) the search stops at the first plan that
// meets the goal, so the estimate is an upper bound and shown as "<=".
#include <cstdint>
#include <string>
#include <vector>

namespace qtune::tune {

struct EtaInput {
  int64_t planned = 0;               // trials the strategy plans (0: unknown)
  int64_t done = 0;                  // trials finished in this run
  int64_t max_trials = 0;            // exit policy
  std::vector<double> trial_seconds; // measured (not resumed) trials, in order
  double elapsed = 0, timeout = 0;   // seconds; timeout 0 = stop at the first pass
};

struct Eta {
  bool known = false;
  bool upper_bound = false;
  double seconds = 0;
};

Eta estimate_eta(const EtaInput &in);
// "-" (unknown), "1m20s", "<=1m20s".
std::string format_eta(const Eta &eta);
// "12.3s", "4m05s", "2h50m".
std::string format_duration(double seconds);

} // namespace qtune::tune
