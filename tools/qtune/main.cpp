// qtune command-line tool. Each subcommand lives in cmd_<name>.cpp and is listed
// in commands.h; errors from the library arrive here as exceptions and leave as
// one line on stderr with a non-zero exit.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "commands.h"
#include "dist/comm.h"
#include "instances.h"
#include "qtune/error.h"

int main(int argc, char **argv) {
  qtune::cli::tune_omp_environment(argc, argv); // may re-exec with a short OpenMP spin
  CLI::App app{"qtune: accuracy-driven INT8/BF16 quantization and fast CPU inference"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "qtune 0.1.0");
  std::vector<qtune::cli::Command> commands;
#define QTUNE_ADD_COMMAND(name) commands.push_back(qtune::cli::add_##name##_command(app));
  QTUNE_CLI_COMMANDS(QTUNE_ADD_COMMAND)
#undef QTUNE_ADD_COMMAND
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    return app.exit(e);
  }
  try {
    // Under mpirun: join the job (src/dist/). On an error the process leaves
    // without MPI_Finalize, so mpirun ends the other ranks and names this one.
    qtune::dist::init(&argc, &argv);
    for (auto &c : commands)
      if (c.sub->parsed()) {
        const std::string name = c.sub->get_name();
        if (qtune::dist::world().size() > 1 && name != "evaluate" && name != "tune")
          throw qtune::InputError("qtune " + name +
                                  " runs as one process; under mpirun use evaluate or tune");
        const int rc = c.run();
        qtune::dist::finalize();
        return rc;
      }
  } catch (const std::exception &e) {
    std::fprintf(stderr, "qtune: error: %s\n", e.what());
    return 1;
  }
  return 1;
}
