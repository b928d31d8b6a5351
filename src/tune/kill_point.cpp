#include "tune/kill_point.h"

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string>

namespace qtune::tune {

namespace {

struct KillAt {
  std::string point;
  long count = 0; // 0: disabled
};

KillAt parse_env() {
  const char *env = std::getenv("QTUNE_KILL_AT");
  if (!env || !*env)
    return {};
  const char *colon = std::strrchr(env, ':');
  long n = colon ? std::strtol(colon + 1, nullptr, 10) : 1;
  return {colon ? std::string(env, colon) : std::string(env), n > 0 ? n : 1};
}

} // namespace

void kill_point(const char *point) {
  static const KillAt at = parse_env();
  static std::atomic<long> passed{0};
  if (at.count == 0 || at.point != point)
    return;
  if (passed.fetch_add(1, std::memory_order_relaxed) + 1 == at.count)
    std::raise(SIGKILL);
}

} // namespace qtune::tune
