// `qtune report WORKSPACE [--samples N]`: (re)writes WORKSPACE/report.html
// from what `qtune tune` left there (tune/report_html.h).
#include <cstdio>

#include "commands.h"
#include "tune/report_html.h"

namespace qtune::cli {

Command add_report_command(CLI::App &app) {
  auto *sub = app.add_subcommand(
      "report", "Write the HTML tuning report (report.html) of a tuning workspace");
  struct Args {
    std::string workspace;
    size_t samples = 4;
    int threads = 0;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("WORKSPACE", a->workspace, "the tuning workspace folder")->required();
  sub->add_option("--samples", a->samples,
                  "calibration samples for the per-tensor error table (0: skip it)")
      ->capture_default_str();
  sub->add_option("--threads", a->threads, "inference threads (0: all cores)");
  return {sub, [a] {
            std::printf("%s\n",
                        tune::write_workspace_report(a->workspace, a->samples, a->threads).c_str());
            return 0;
          }};
}

} // namespace qtune::cli
