// `qtune version`: versions of qtune and the libraries it runs on, and which
// fast paths (VNNI int8, AVX512-BF16) this CPU offers.
#include <cstdio>
#include <dnnl.hpp>

#include "commands.h"
#include "qtune/version.h"

namespace qtune::cli {

Command add_version_command(CLI::App &app) {
  auto *sub = app.add_subcommand("version", "Print versions and CPU capabilities");
  return {sub, [] {
            const dnnl_version_t *v = dnnl_version();
            std::printf("qtune %s\noneDNN %d.%d.%d (cpu isa: %d)\n", qtune::version(), v->major,
                        v->minor, v->patch, static_cast<int>(dnnl::get_effective_cpu_isa()));
            return 0;
          }};
}

} // namespace qtune::cli
