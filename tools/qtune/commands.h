#pragma once
// The subcommand list. Adding one: write cmd_<name>.cpp defining
// `Command add_<name>_command(CLI::App&)` and add X(<name>) below.
#include <CLI/CLI.hpp>
#include <functional>

#define QTUNE_CLI_COMMANDS(X) \
  X(version) \
  X(inspect) \
  X(dataset) \
  X(evaluate) \
  X(tune) \
  X(quantize) \
  X(run) \
  X(benchmark) \
  X(compare) \
  X(report) \
  X(config)

namespace qtune::cli {

struct Command {
  CLI::App* sub;
  std::function<int()> run; // returns the process exit code
};

#define QTUNE_DECLARE_COMMAND(name) Command add_##name##_command(CLI::App& app);
QTUNE_CLI_COMMANDS(QTUNE_DECLARE_COMMAND)
#undef QTUNE_DECLARE_COMMAND

} // namespace qtune::cli
