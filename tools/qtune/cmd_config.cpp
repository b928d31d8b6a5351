// `qtune config --reference`: the YAML reference page (docs/yaml_reference.md),
// printed from the schema the loaders check keys against. `qtune config FILE`:
// reads FILE as `tune` would and says whether it is valid.
#include <cstdio>
#include <string>

#include "commands.h"
#include "data/yaml_schema.h"
#include "qtune/error.h"
#include "tune/config.h"

namespace qtune::cli {

namespace {

struct ConfigArgs {
  std::string file;
  bool reference = false;
};

int run_config(const ConfigArgs &a) {
  if (a.reference) {
    std::fputs(data::yaml::reference_markdown().c_str(), stdout);
    return 0;
  }
  if (a.file.empty())
    throw InputError("config: give a YAML file to check, or --reference");
  tune::load_config(a.file);
  std::printf("%s: valid\n", a.file.c_str());
  return 0;
}

} // namespace

Command add_config_command(CLI::App &app) {
  auto *sub = app.add_subcommand(
      "config", "Check a YAML configuration, or print the reference of every accepted key");
  auto args = std::make_shared<ConfigArgs>();
  sub->add_option("file", args->file, "LPOT 1.x YAML configuration to check");
  sub->add_flag("--reference", args->reference,
                "print the YAML reference (Markdown, docs/yaml_reference.md) from the schema");
  return {sub, [args] { return run_config(*args); }};
}

} // namespace qtune::cli
