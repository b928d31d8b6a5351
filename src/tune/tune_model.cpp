#include "tune/tune_model.h"

#include <string>

#include "dist/comm.h"
#include "qtune/error.h"
#include "tune/model_backend.h"
#include "tune/quantize_model.h"

namespace qtune::tune {

TuneResult tune_model(const Config &c, const TuneOptions &o) {
  if (c.model.path.empty())
    throw InputError(c.file + ": no model file: give --model or 'model.path' in the YAML");
  const bool root = dist::world().is_root();
  if (o.progress && root)
    std::fprintf(o.progress, "[load] %s (inference threads: %s)\n", c.model.path.c_str(),
                 o.threads > 0 ? std::to_string(o.threads).c_str() : "all cores");
  ModelBackendSetup setup;
  setup.config = &c;
  std::vector<std::string> messages;
  setup.fp32 = apply_graph_recipes(load_model_file(c.model.path, load_options(c.model)),
                                   recipes_from_config(c.quantization), messages);
  for (const std::string &m : messages)
    if (o.progress && root)
      std::fprintf(o.progress, "[recipes] %s\n", m.c_str());
  setup.model_path = c.model.path;
  setup.progress = root ? o.progress : nullptr;
  setup.threads = o.threads;
  setup.trial_groups = o.trial_groups;
  if (o.trial_groups > 1) {
    dist::Comm &world = dist::world();
    if (o.trial_groups > world.size())
      throw InputError("--trial-groups " + std::to_string(o.trial_groups) + " needs at least " +
                       std::to_string(o.trial_groups) + " ranks (mpirun -np N); this run has " +
                       std::to_string(world.size()));
    setup.group =
        world.split(dist::group_of(world.rank(), world.size(), o.trial_groups), world.rank());
  }
  auto backend = make_model_backend(setup);
  if (!root) { // under mpirun: evaluate shards of rank 0's plans
    serve_evaluations(*backend);
    return TuneResult{};
  }
  TuneResult r = run_tuning(c, *backend, o);
  release_workers(*backend);
  return r;
}

} // namespace qtune::tune
