#pragma once
// Running the qtune binary from the source tree (relative example paths work)
// and collecting its exit status and combined output.
#include <cstdio>
#include <string>

#include "../test_util.h"

namespace qtune::test {

struct CliResult {
  int status = 0;
  std::string out; // stdout + stderr
};

inline CliResult run_qtune(const std::string &args, bool with_stderr = true) {
  std::string cmd = "cd " + source_dir() + " && " + qtune_binary() + " " + args +
                    (with_stderr ? " 2>&1" : " 2>/dev/null");
  CliResult r;
  FILE *p = popen(cmd.c_str(), "r");
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p))
    r.out.append(buf, n);
  r.status = pclose(p);
  return r;
}

} // namespace qtune::test
