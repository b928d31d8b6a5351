#include "tune/eta.h"

#include <algorithm>
#include <cstdio>

namespace qtune::tune {

namespace {

// A trial's typical cost: the median of the measured ones, so a first trial
// that also calibrated (or a ranking pass charged to one trial) does not
// dominate once a few trials have run.
double typical(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

} // namespace

Eta estimate_eta(const EtaInput &in) {
  Eta eta;
  if (in.planned <= 0 || in.trial_seconds.empty())
    return eta;
  const int64_t total = std::min(in.planned, in.max_trials > 0 ? in.max_trials : in.planned);
  const int64_t left = std::max<int64_t>(0, total - in.done);
  eta.known = true;
  eta.seconds = typical(in.trial_seconds) * static_cast<double>(left);
  if (in.timeout > 0)
    eta.seconds = std::min(eta.seconds, std::max(0.0, in.timeout - in.elapsed));
  eta.upper_bound = in.timeout <= 0 && left > 0;
  return eta;
}

std::string format_duration(double s) {
  char buf[32];
  if (s < 60)
    std::snprintf(buf, sizeof(buf), "%.1fs", s);
  else if (s < 3600)
    std::snprintf(buf, sizeof(buf), "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  else
    std::snprintf(buf, sizeof(buf), "%dh%02dm", static_cast<int>(s) / 3600,
                  static_cast<int>(s) % 3600 / 60);
  return buf;
}

std::string format_eta(const Eta &eta) {
  if (!eta.known)
    return "-";
  return (eta.upper_bound ? "<=" : "") + format_duration(eta.seconds);
}

} // namespace qtune::tune
